//! A segment: a `.log` file of whole batches, as Kafka's, and its sparse offset index. The
//! log appends to the last segment only and rolls a new one when it is full.
//!
//! The in-memory `Segment` is what the log believes the files hold; it changes only after
//! the disk accepted a write, so after a failed write the next one goes to the same place.

use odradek_sim::{Disk, DiskError};

use super::error::Corruption;
use super::files::LogFiles;
use super::offset_index::{IndexEntry, OffsetIndex};
use crate::record::{BatchHeader, RecordError, BATCH_HEADER_BYTES};

/// What a segment holds.
#[derive(Debug, Clone, PartialEq, Eq, Hash)]
pub(super) struct Segment {
    /// Offset of the first batch; also the files' names.
    pub(super) base_offset: i64,
    /// Offset after the last batch; `base_offset` when empty.
    pub(super) next_offset: i64,
    /// Bytes of whole batches in the `.log` file.
    pub(super) size: u32,
    pub(super) index: OffsetIndex,
    /// Bytes since the start of the batch that got the last index entry (or since the
    /// segment's start): Kafka's `bytesSinceLastIndexEntry`.
    bytes_since_index_entry: u32,
}

impl Segment {
    pub(super) fn empty(base_offset: i64) -> Segment {
        Segment {
            base_offset,
            next_offset: base_offset,
            size: 0,
            index: OffsetIndex::default(),
            bytes_since_index_entry: 0,
        }
    }

    /// A segment of `size` bytes ending at `next_offset`, with a loaded index.
    pub(super) fn loaded(
        base_offset: i64,
        next_offset: i64,
        size: u32,
        index: OffsetIndex,
    ) -> Segment {
        let indexed_at = index.last().map_or(0, |entry| entry.position);
        debug_assert!(indexed_at <= size);
        Segment {
            base_offset,
            next_offset,
            size,
            index,
            bytes_since_index_entry: size - indexed_at,
        }
    }

    pub(super) fn is_empty(&self) -> bool {
        self.size == 0
    }

    /// Whether a batch of `len` bytes starting at `base_offset` may go at this segment's
    /// end: a non-empty segment takes it if it stays within `segment_bytes` and its offset
    /// fits the index's 32-bit relative offsets.
    pub(super) fn has_room(&self, base_offset: i64, len: usize, segment_bytes: u32) -> bool {
        debug_assert_eq!(base_offset, self.next_offset);
        let within_size = u64::from(self.size) + len as u64 <= u64::from(segment_bytes);
        self.is_empty() || (within_size && self.relative(base_offset).is_some())
    }

    fn relative(&self, offset: i64) -> Option<u32> {
        u32::try_from(offset.checked_sub(self.base_offset)?).ok()
    }

    /// The index entry a batch starting at `base_offset` gets when appended now.
    pub(super) fn index_entry_for(
        &self,
        base_offset: i64,
        index_interval_bytes: u32,
    ) -> Option<IndexEntry> {
        if self.bytes_since_index_entry <= index_interval_bytes {
            return None;
        }
        Some(IndexEntry {
            relative_offset: self.relative(base_offset)?,
            position: self.size,
        })
    }

    /// Accounts for a batch of `len` bytes now at the segment's end.
    pub(super) fn push_batch(&mut self, header: &BatchHeader, len: u32, entry: Option<IndexEntry>) {
        assert_eq!(
            header.base_offset, self.next_offset,
            "batches are contiguous"
        );
        if let Some(entry) = entry {
            debug_assert_eq!(entry.position, self.size);
            self.index.push(entry);
            self.bytes_since_index_entry = 0;
        }
        self.size = self.size.checked_add(len).expect("segment size fits u32");
        self.bytes_since_index_entry = self.bytes_since_index_entry.saturating_add(len);
        self.next_offset = header.next_offset();
    }

    /// Where a read for `offset` starts: the position and base offset of the batch the
    /// index names, or the segment's start.
    pub(super) fn hint(&self, offset: i64) -> (u32, i64) {
        let relative = offset
            .saturating_sub(self.base_offset)
            .max(0)
            .unsigned_abs();
        match self.index.lookup(relative) {
            Some(entry) => (
                entry.position,
                self.base_offset
                    .saturating_add(i64::from(entry.relative_offset)),
            ),
            None => (0, self.base_offset),
        }
    }

    /// Creates the segment's two files, empty; a stray file of the same name (from a roll
    /// that failed half-way) is emptied. The caller syncs the directory.
    pub(super) fn create_files(
        &self,
        disk: &mut dyn Disk,
        files: &LogFiles,
    ) -> Result<(), DiskError> {
        debug_assert!(self.is_empty());
        for name in [files.log(self.base_offset), files.index(self.base_offset)] {
            if disk.exists(&name) {
                disk.set_len(&name, 0)?;
            } else {
                disk.create(&name)?;
            }
        }
        Ok(())
    }

    /// Writes a batch at the segment's end, and its index entry if it gets one, then
    /// accounts for it.
    pub(super) fn append(
        &mut self,
        disk: &mut dyn Disk,
        files: &LogFiles,
        batch: &[u8],
        header: &BatchHeader,
        index_interval_bytes: u32,
    ) -> Result<(), DiskError> {
        let len = u32::try_from(batch.len()).expect("batches fit a segment");
        let entry = self.index_entry_for(header.base_offset, index_interval_bytes);
        disk.write_at(&files.log(self.base_offset), self.size.into(), batch)?;
        if let Some(entry) = entry {
            let name = files.index(self.base_offset);
            disk.write_at(&name, self.index.len_bytes(), &entry.to_bytes())?;
        }
        self.push_batch(header, len, entry);
        Ok(())
    }

    /// Cuts the segment at `position`, where the batch starting at `next_offset` begins,
    /// in memory and on disk (not synced).
    pub(super) fn truncate(
        &mut self,
        disk: &mut dyn Disk,
        files: &LogFiles,
        position: u32,
        next_offset: i64,
    ) -> Result<(), DiskError> {
        debug_assert!(position <= self.size && next_offset <= self.next_offset);
        let relative = next_offset.saturating_sub(self.base_offset).unsigned_abs();
        self.index.truncate(position, relative);
        disk.set_len(&files.log(self.base_offset), position.into())?;
        disk.set_len(&files.index(self.base_offset), self.index.len_bytes())?;
        let indexed_at = self.index.last().map_or(0, |entry| entry.position);
        self.size = position;
        self.next_offset = next_offset;
        self.bytes_since_index_entry = position - indexed_at;
        Ok(())
    }

    /// Rewrites the index file whole from memory (after recovery rebuilt it).
    pub(super) fn write_index(
        &self,
        disk: &mut dyn Disk,
        files: &LogFiles,
    ) -> Result<(), DiskError> {
        let name = files.index(self.base_offset);
        if !disk.exists(&name) {
            disk.create(&name)?;
        }
        disk.write_at(&name, 0, &self.index.encode())?;
        disk.set_len(&name, self.index.len_bytes())
    }

    /// Makes both files' data durable.
    pub(super) fn sync(&self, disk: &mut dyn Disk, files: &LogFiles) -> Result<(), DiskError> {
        disk.sync(&files.log(self.base_offset))?;
        disk.sync(&files.index(self.base_offset))
    }

    /// Removes both files (the caller syncs the directory).
    pub(super) fn remove_files(
        &self,
        disk: &mut dyn Disk,
        files: &LogFiles,
    ) -> Result<(), DiskError> {
        remove_if_exists(disk, &files.log(self.base_offset))?;
        remove_if_exists(disk, &files.index(self.base_offset))
    }
}

pub(super) fn remove_if_exists(disk: &mut dyn Disk, name: &str) -> Result<(), DiskError> {
    match disk.remove(name) {
        Err(DiskError::NotFound { .. }) => Ok(()),
        other => other,
    }
}

/// Why a stored batch could not be read.
#[derive(Debug, Clone, PartialEq, Eq, Hash)]
pub(super) enum ReadFailure {
    /// The disk failed to read.
    Disk(DiskError),
    /// The bytes are not a valid batch.
    Corrupt(Corruption),
}

impl From<DiskError> for ReadFailure {
    fn from(error: DiskError) -> ReadFailure {
        ReadFailure::Disk(error)
    }
}

impl From<RecordError> for ReadFailure {
    fn from(error: RecordError) -> ReadFailure {
        ReadFailure::Corrupt(Corruption::Batch(error))
    }
}

impl From<Corruption> for ReadFailure {
    fn from(corruption: Corruption) -> ReadFailure {
        ReadFailure::Corrupt(corruption)
    }
}

/// Reads the header of the batch at `position` of the file `name`, which holds `end`
/// bytes of batches, and checks that the whole batch lies within them.
pub(super) fn read_header(
    disk: &dyn Disk,
    name: &str,
    position: u64,
    end: u64,
) -> Result<BatchHeader, ReadFailure> {
    read_frame(disk, name, position, end).map(|(header, _)| header)
}

fn read_frame(
    disk: &dyn Disk,
    name: &str,
    position: u64,
    end: u64,
) -> Result<(BatchHeader, [u8; BATCH_HEADER_BYTES]), ReadFailure> {
    let available = end.saturating_sub(position);
    let mut bytes = [0; BATCH_HEADER_BYTES];
    if available < BATCH_HEADER_BYTES as u64 {
        return Err(truncated("batch_header", BATCH_HEADER_BYTES as u64, available).into());
    }
    disk.read_at(name, position, &mut bytes)?;
    let header = BatchHeader::parse(&bytes)?;
    if header.total_len() as u64 > available {
        return Err(truncated("batch", header.total_len() as u64, available).into());
    }
    Ok((header, bytes))
}

/// Reads the batch at `position` onto the end of `out` and checks what the batch alone
/// shows: its header, that it lies within `end`, and its CRC. On failure `out` is as it
/// was.
pub(super) fn read_batch(
    disk: &dyn Disk,
    name: &str,
    position: u64,
    end: u64,
    out: &mut Vec<u8>,
) -> Result<BatchHeader, ReadFailure> {
    let (header, header_bytes) = read_frame(disk, name, position, end)?;
    let start = out.len();
    out.extend_from_slice(&header_bytes);
    out.resize(start + header.total_len(), 0);
    let body_at = position + BATCH_HEADER_BYTES as u64;
    let checked = disk
        .read_at(name, body_at, &mut out[start + BATCH_HEADER_BYTES..])
        .map_err(ReadFailure::from)
        .and_then(|()| Ok(header.verify_crc(&out[start..])?));
    if let Err(failure) = checked {
        out.truncate(start);
        return Err(failure);
    }
    Ok(header)
}

fn truncated(field: &'static str, needed: u64, available: u64) -> RecordError {
    RecordError::Truncated {
        field,
        needed: usize::try_from(needed).unwrap_or(usize::MAX),
        available: usize::try_from(available).unwrap_or(usize::MAX),
    }
}
