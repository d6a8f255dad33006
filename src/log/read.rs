//! Reads: whole batches from an offset, as a fetch serves them, and a per-batch iterator of
//! headers, from which a broker rebuilds producer state. Both validate every batch they
//! return (CRC-32C, magic, length, contiguous offsets, the epoch against the epoch cache):
//! a batch that fails is a [`LogError::Corrupt`], never bytes.

use std::collections::VecDeque;
use std::hash::{Hash, Hasher};
use std::ops::Bound::{Excluded, Unbounded};

use bytes::Bytes;
use odradek_sim::Disk;

use super::error::{Corruption, LogError};
use super::segment::{read_batch, read_header, ReadFailure};
use super::Log;
use crate::record::BatchHeader;

/// How much a read may return.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub struct ReadLimits {
    /// Bytes to return at most. The first batch comes whole even when it is larger, so a
    /// reader always makes progress (Kafka's KIP-74).
    pub bytes_max: usize,
    /// Only batches that end at or before this offset: the high watermark for a consumer.
    /// `None` reads to the log end.
    pub end_offset: Option<i64>,
}

impl ReadLimits {
    /// Up to `bytes_max` bytes, to the log end: a follower's fetch.
    pub fn to_log_end(bytes_max: usize) -> ReadLimits {
        ReadLimits {
            bytes_max,
            end_offset: None,
        }
    }

    /// Up to `bytes_max` bytes of batches that end at or before `end_offset`: a consumer's
    /// fetch, bounded by the high watermark.
    pub fn to_offset(bytes_max: usize, end_offset: i64) -> ReadLimits {
        ReadLimits {
            bytes_max,
            end_offset: Some(end_offset),
        }
    }
}

/// What a read returned.
#[derive(Debug, Clone, PartialEq, Eq, Hash)]
pub struct LogRead {
    /// Whole batches, byte for byte as stored and validated: the records of a fetch
    /// response. The first batch holds the offset asked for and may start before it.
    pub bytes: Bytes,
    /// Batches in `bytes`.
    pub batch_count: usize,
    /// The offset after the last batch returned, where the next read starts; the offset
    /// asked for when nothing was returned.
    pub next_offset: i64,
}

/// A position between two batches: the segment, the byte position in it, and the offset
/// the batch there must start at.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub(super) struct Cursor {
    pub(super) segment: i64,
    pub(super) position: u32,
    pub(super) next_offset: i64,
}

/// Batches remembered as read hints.
const READ_HINTS_MAX: usize = 16;

/// Where the last few appended batches start, so a read near the log end (a caught-up
/// follower's or consumer's fetch) starts there instead of scanning headers from the last
/// index entry. A cache of what the files say, checked before use, so it takes no part in
/// equality or hashing: two logs with the same contents are the same state.
#[derive(Debug, Clone, Default)]
pub(super) struct ReadHints(VecDeque<Cursor>);

impl PartialEq for ReadHints {
    fn eq(&self, _: &Self) -> bool {
        true
    }
}

impl Eq for ReadHints {}

impl Hash for ReadHints {
    fn hash<H: Hasher>(&self, _: &mut H) {}
}

impl ReadHints {
    /// A batch was appended at `cursor`.
    pub(super) fn remember(&mut self, cursor: Cursor) {
        if self.0.len() == READ_HINTS_MAX {
            self.0.pop_front();
        }
        self.0.push_back(cursor);
    }

    /// The log was cut or lost segments: positions may have moved.
    pub(super) fn clear(&mut self) {
        self.0.clear();
    }

    /// The latest remembered batch in `segment` that starts at or below `offset`.
    fn best(&self, segment: i64, offset: i64) -> Option<Cursor> {
        (self.0.iter().rev())
            .find(|c| c.segment == segment && c.next_offset <= offset)
            .copied()
    }
}

impl Log {
    /// Reads whole batches from the one holding `from_offset` on, within `limits`.
    /// `from_offset` must lie in `[log_start_offset, log_end_offset]`, else
    /// [`LogError::OffsetOutOfRange`]; at the end (or the limit) the read is empty. A read
    /// stops before a batch that fails validation and returns the valid ones before it; if
    /// the first batch fails, the read fails with [`LogError::Corrupt`] (or
    /// [`LogError::Disk`]).
    pub fn read(
        &self,
        disk: &dyn Disk,
        from_offset: i64,
        limits: ReadLimits,
    ) -> Result<LogRead, LogError> {
        self.check_offset(from_offset)?;
        let log_end_offset = self.log_end_offset();
        let end_offset = limits
            .end_offset
            .map_or(log_end_offset, |end| end.min(log_end_offset));
        let mut out = Vec::new();
        let mut batch_count = 0;
        let mut next_offset = from_offset;
        if from_offset >= end_offset {
            return Ok(LogRead {
                bytes: Bytes::new(),
                batch_count,
                next_offset,
            });
        }
        let mut cursor = self.cursor_at(disk, from_offset)?;
        self.skip_before(disk, &mut cursor, from_offset)?;
        while cursor.next_offset < end_offset && (batch_count == 0 || out.len() < limits.bytes_max)
        {
            let start = out.len();
            let header = match self.next_batch(disk, &mut cursor, &mut out) {
                Ok(Some(header)) => header,
                Ok(None) => break,
                // Serve the valid batches before it; the next read starts at the bad one.
                Err(_) if batch_count > 0 => break,
                Err(error) => return Err(error),
            };
            if header.last_offset() < from_offset {
                out.truncate(start);
                continue;
            }
            let over_bytes = batch_count > 0 && out.len() > limits.bytes_max;
            if header.next_offset() > end_offset || over_bytes {
                out.truncate(start);
                break;
            }
            batch_count += 1;
            next_offset = header.next_offset();
        }
        Ok(LogRead {
            bytes: Bytes::from(out),
            batch_count,
            next_offset,
        })
    }

    /// Iterates over the headers of the batches from the one holding `from_offset` to the
    /// log end, each validated as a read validates it. The iterator ends after its first
    /// error.
    pub fn batch_headers<'a>(
        &'a self,
        disk: &'a dyn Disk,
        from_offset: i64,
    ) -> Result<BatchHeaders<'a>, LogError> {
        self.check_offset(from_offset)?;
        let cursor = self.cursor_at(disk, from_offset)?;
        Ok(BatchHeaders {
            log: self,
            disk,
            cursor,
            from_offset,
            buffer: Vec::new(),
            done: false,
        })
    }

    fn check_offset(&self, offset: i64) -> Result<(), LogError> {
        let (log_start_offset, log_end_offset) = (self.log_start_offset, self.log_end_offset());
        if !(log_start_offset..=log_end_offset).contains(&offset) {
            return Err(LogError::OffsetOutOfRange {
                offset,
                log_start_offset,
                log_end_offset,
            });
        }
        Ok(())
    }

    /// Where to start reading for `offset`: the index hint of its segment if the batch
    /// there starts where the index says, else the segment's start.
    pub(super) fn cursor_at(&self, disk: &dyn Disk, offset: i64) -> Result<Cursor, LogError> {
        let (_, segment) = self
            .segments
            .range(..=offset)
            .next_back()
            .expect("offsets in range lie in a segment");
        let start = Cursor {
            segment: segment.base_offset,
            position: 0,
            next_offset: segment.base_offset,
        };
        let (mut position, mut next_offset) = segment.hint(offset);
        if let Some(hint) = self.read_hints.best(segment.base_offset, offset) {
            if hint.next_offset > next_offset && hint.position < segment.size {
                (position, next_offset) = (hint.position, hint.next_offset);
            }
        }
        if position == 0 {
            return Ok(start);
        }
        let name = self.files.log(segment.base_offset);
        match read_header(disk, &name, position.into(), segment.size.into()) {
            Ok(header) if header.base_offset == next_offset => Ok(Cursor {
                position,
                next_offset,
                ..start
            }),
            Ok(_) | Err(ReadFailure::Corrupt(_)) => Ok(start),
            Err(ReadFailure::Disk(error)) => Err(error.into()),
        }
    }

    /// Moves `cursor` past the batches that end before `offset`, reading only their
    /// headers (checked for continuity, not by CRC: they are not returned), as Kafka finds
    /// a fetch's start position from batch headers between index entries.
    fn skip_before(
        &self,
        disk: &dyn Disk,
        cursor: &mut Cursor,
        offset: i64,
    ) -> Result<(), LogError> {
        while let Some(segment) = self.segment_at(cursor) {
            let name = self.files.log(segment.base_offset);
            let position = cursor.position.into();
            let header = match read_header(disk, &name, position, segment.size.into()) {
                Ok(header) => header,
                Err(ReadFailure::Disk(error)) => return Err(error.into()),
                // The full read of this batch reports it.
                Err(ReadFailure::Corrupt(_)) => return Ok(()),
            };
            let continues = self.check_stored(&header, cursor.next_offset, segment.next_offset);
            if header.last_offset() >= offset || continues.is_err() {
                return Ok(());
            }
            cursor.position += u32::try_from(header.total_len()).expect("within the segment");
            cursor.next_offset = header.next_offset();
        }
        Ok(())
    }

    /// The segment holding the batch at `cursor`, moving it to the next segment's start
    /// when it stands at its segment's end; `None` at the log end.
    fn segment_at(&self, cursor: &mut Cursor) -> Option<&super::segment::Segment> {
        let mut segment = &self.segments[&cursor.segment];
        while cursor.position >= segment.size {
            let (_, next) = self
                .segments
                .range((Excluded(cursor.segment), Unbounded))
                .next()?;
            debug_assert_eq!(next.base_offset, segment.next_offset);
            segment = next;
            *cursor = Cursor {
                segment: next.base_offset,
                position: 0,
                next_offset: next.base_offset,
            };
        }
        Some(segment)
    }

    /// Reads and validates the batch at `cursor` onto `out` and moves past it; `None` at
    /// the log end.
    pub(super) fn next_batch(
        &self,
        disk: &dyn Disk,
        cursor: &mut Cursor,
        out: &mut Vec<u8>,
    ) -> Result<Option<BatchHeader>, LogError> {
        let Some(segment) = self.segment_at(cursor) else {
            return Ok(None);
        };
        let name = self.files.log(segment.base_offset);
        let corrupt = |corruption| LogError::Corrupt {
            segment: name.clone(),
            position: cursor.position.into(),
            offset: cursor.next_offset,
            corruption,
        };
        let position = cursor.position.into();
        let header = match read_batch(disk, &name, position, segment.size.into(), out) {
            Ok(header) => header,
            Err(ReadFailure::Disk(error)) => return Err(error.into()),
            Err(ReadFailure::Corrupt(corruption)) => return Err(corrupt(corruption)),
        };
        let len = header.total_len();
        if let Err(corruption) = self.check_stored(&header, cursor.next_offset, segment.next_offset)
        {
            out.truncate(out.len() - len);
            return Err(corrupt(corruption));
        }
        cursor.position += u32::try_from(len).expect("batches lie within their segment");
        cursor.next_offset = header.next_offset();
        Ok(Some(header))
    }

    /// Checks what the CRC does not cover against what the log knows: the batch continues
    /// the previous one, ends within its segment, and carries the epoch the epoch cache
    /// gives its offsets (batches wholly below the log start are not described by the
    /// cache any more).
    fn check_stored(
        &self,
        header: &BatchHeader,
        expected_offset: i64,
        segment_end: i64,
    ) -> Result<(), Corruption> {
        if header.base_offset != expected_offset {
            return Err(Corruption::OffsetGap {
                expected: expected_offset,
                found: header.base_offset,
            });
        }
        if header.next_offset() > segment_end {
            return Err(Corruption::PastSegmentEnd {
                segment_end,
                batch_end: header.next_offset(),
            });
        }
        if header.next_offset() <= self.log_start_offset {
            return Ok(());
        }
        let found = header.partition_leader_epoch;
        let expected = self
            .epochs
            .epoch_at(header.base_offset.max(self.log_start_offset));
        if expected != Some(found) {
            return Err(Corruption::EpochMismatch {
                expected: expected.unwrap_or(-1),
                found,
            });
        }
        Ok(())
    }
}

/// The headers of a log's batches in offset order; see [`Log::batch_headers`].
pub struct BatchHeaders<'a> {
    log: &'a Log,
    disk: &'a dyn Disk,
    cursor: Cursor,
    from_offset: i64,
    buffer: Vec<u8>,
    done: bool,
}

impl Iterator for BatchHeaders<'_> {
    type Item = Result<BatchHeader, LogError>;

    fn next(&mut self) -> Option<Self::Item> {
        while !self.done {
            self.buffer.clear();
            match self
                .log
                .next_batch(self.disk, &mut self.cursor, &mut self.buffer)
            {
                Ok(Some(header)) if header.last_offset() < self.from_offset => continue,
                Ok(Some(header)) => return Some(Ok(header)),
                Ok(None) => self.done = true,
                Err(error) => {
                    self.done = true;
                    return Some(Err(error));
                }
            }
        }
        None
    }
}
