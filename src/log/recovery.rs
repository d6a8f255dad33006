//! Opening a log: loading what a clean shutdown left, and recovering what a crash left.
//!
//! The last clean point is the end of the log after a clean shutdown, else the start of the
//! active segment, since a roll syncs the segment it closes. Recovery validates every batch
//! from there (header, CRC-32C, contiguous offsets, non-decreasing leader epochs that agree
//! with the epoch checkpoint) and cuts the log at the first invalid one, deleting any later
//! segment. Segments below the clean point are loaded from their index, and the batches
//! past their last index entry are validated to find where they end; a segment whose index
//! is missing or not well formed, or whose tail does not validate, is recovered as if it
//! were past the clean point, and so is every segment after it.
//!
//! A damaged epoch checkpoint moves the clean point to the first segment: every batch is
//! validated and the epochs are rebuilt from the batches. A damaged log start checkpoint is
//! rebuilt from the first epoch's start offset (the epochs are cut to the log start), or is
//! the log end when the intact epoch checkpoint holds no epoch, else the first segment's
//! base offset. A damaged high-watermark checkpoint resets the high watermark to
//! the log start offset; a follower learns the real one from its leader.
//!
//! Everything recovery changed is durable before `open` returns, and the clean-shutdown
//! marker is gone, so a crash from then on is seen as unclean.

use std::collections::{BTreeMap, BTreeSet};

use odradek_sim::{Disk, DiskError};

use super::checkpoint::{CheckpointError, Loaded};
use super::config::{LogConfig, INDEX_ENTRY_BYTES, SEGMENT_BYTES_MAX};
use super::error::{Corruption, LogError};
use super::files::{LogFiles, SegmentFile};
use super::leader_epoch::{EpochEntry, LeaderEpochCache};
use super::offset_checkpoint;
use super::offset_index::OffsetIndex;
use super::segment::{read_batch, remove_if_exists, ReadFailure, Segment};
use super::Log;
use crate::record::{BatchHeader, RecordError, BATCH_HEADER_BYTES};

/// What [`Log::open`] found and did.
#[derive(Debug, Clone, PartialEq, Eq, Hash)]
pub struct RecoveryReport {
    /// The clean-shutdown marker was present: the previous [`Log::close`] completed.
    pub clean_shutdown: bool,
    /// The first offset from which every batch was validated (the last clean point, or an
    /// earlier segment whose index or tail was damaged); the log end offset when nothing
    /// needed recovery.
    pub recovered_from: i64,
    /// Segments validated batch by batch, their offset index rebuilt.
    pub segments_recovered: u32,
    /// Batches validated, in recovered segments and in the tails of loaded ones.
    pub batches_validated: u64,
    /// What recovery cut off, if anything.
    pub truncation: Option<Truncation>,
    /// The leader-epoch checkpoint as found; a damaged one was rebuilt from the batches.
    pub leader_epoch_checkpoint: CheckpointStatus,
    /// The high-watermark checkpoint as found; a damaged one was reset to the log start.
    pub high_watermark_checkpoint: CheckpointStatus,
    /// The log start offset checkpoint as found; a damaged one was rebuilt from the epoch
    /// checkpoint, or reset to the first segment's base offset.
    pub log_start_offset_checkpoint: CheckpointStatus,
}

/// A torn or corrupt tail that recovery dropped.
#[derive(Debug, Clone, PartialEq, Eq, Hash)]
pub struct Truncation {
    /// The log end offset after the cut: the offset the first dropped batch should have had.
    pub offset: i64,
    /// The segment file where the invalid bytes start.
    pub segment: String,
    /// Their byte position in it.
    pub position: u64,
    /// Bytes dropped, over every segment.
    pub bytes: u64,
    /// Segments after the cut, deleted whole.
    pub segments_deleted: u32,
    /// What was wrong at the cut.
    pub cause: Corruption,
}

/// How a checkpoint file was found.
#[derive(Debug, Clone, PartialEq, Eq, Hash)]
pub enum CheckpointStatus {
    /// Present, checksum and content valid.
    Intact,
    /// Absent (a new log, or nothing written yet).
    Missing,
    /// Present but not trusted; what it held was rebuilt.
    Damaged(CheckpointError),
}

impl CheckpointStatus {
    fn of<T>(loaded: &Loaded<T>) -> CheckpointStatus {
        match loaded {
            Loaded::Intact(_) => CheckpointStatus::Intact,
            Loaded::Missing => CheckpointStatus::Missing,
            Loaded::Damaged(error) => CheckpointStatus::Damaged(error.clone()),
        }
    }
}

/// The epochs recovery meets, checked batch by batch.
#[derive(Debug, Clone)]
struct EpochTracker {
    /// The intact epoch checkpoint, which every durable batch agrees with.
    checkpoint: Option<LeaderEpochCache>,
    /// Batches wholly below it are not described by the checkpoint (`i64::MAX`: none is).
    log_start_offset: i64,
    previous: Option<i32>,
    /// An entry per epoch change, to rebuild the cache from.
    seen: Vec<EpochEntry>,
}

impl EpochTracker {
    /// Checks a batch that should start at `expected_offset`, and records its epoch.
    fn check(&mut self, header: &BatchHeader, expected_offset: i64) -> Result<(), Corruption> {
        if header.base_offset != expected_offset {
            return Err(Corruption::OffsetGap {
                expected: expected_offset,
                found: header.base_offset,
            });
        }
        if header.last_offset() == i64::MAX {
            return Err(Corruption::Batch(RecordError::InvalidField {
                field: "last_offset_delta",
                offset: 23,
                value: header.last_offset_delta.into(),
                reason: "last offset leaves no next offset",
            }));
        }
        let found = header.partition_leader_epoch;
        if found < 0 {
            return Err(Corruption::EpochMissing { found });
        }
        if let Some(previous) = self.previous.filter(|previous| found < *previous) {
            return Err(Corruption::EpochDecrease { previous, found });
        }
        if let Some(checkpoint) = &self.checkpoint {
            let expected = checkpoint.epoch_at(header.base_offset.max(self.log_start_offset));
            if header.next_offset() > self.log_start_offset && expected != Some(found) {
                return Err(Corruption::EpochMismatch {
                    expected: expected.unwrap_or(-1),
                    found,
                });
            }
        }
        if self.previous != Some(found) {
            self.seen.push(EpochEntry {
                epoch: found,
                start_offset: header.base_offset,
            });
        }
        self.previous = Some(found);
        Ok(())
    }
}

/// Recovery in progress.
struct Recovery<'a> {
    disk: &'a mut dyn Disk,
    files: LogFiles,
    config: LogConfig,
    tracker: EpochTracker,
    report: RecoveryReport,
    /// Where validation started, once it has.
    recovered_from: Option<i64>,
    segments: BTreeMap<i64, Segment>,
    /// Segments rebuilt or cut, whose index must be written and files synced.
    recovered: Vec<i64>,
}

/// What the directory held before recovery.
struct Found {
    clean_shutdown: bool,
    /// Base offsets of the segments, ascending.
    bases: Vec<i64>,
    log_start_offset: Loaded<i64>,
    epochs: Loaded<LeaderEpochCache>,
    high_watermark: Loaded<i64>,
}

impl Found {
    fn read(disk: &mut dyn Disk, files: &LogFiles) -> Result<Found, DiskError> {
        Ok(Found {
            clean_shutdown: disk.exists(&files.clean_shutdown_marker()),
            bases: segment_bases(disk, files)?,
            log_start_offset: offset_checkpoint::load(disk, &files.log_start_offset_checkpoint())?,
            epochs: LeaderEpochCache::load(disk, &files.leader_epoch_checkpoint())?,
            high_watermark: offset_checkpoint::load(disk, &files.high_watermark_checkpoint())?,
        })
    }

    fn first_base(&self) -> i64 {
        self.bases.first().copied().unwrap_or(0)
    }

    /// The intact epoch checkpoint, which every durable batch agrees with.
    fn checkpoint(&self) -> Option<LeaderEpochCache> {
        match &self.epochs {
            Loaded::Intact(cache) => Some(cache.clone()),
            _ => None,
        }
    }

    /// The log start offset, from its checkpoint or rebuilt; `None` for the log end, known
    /// once recovered.
    fn log_start_hint(&self) -> Option<i64> {
        let first_base = self.first_base();
        let hint = match (&self.log_start_offset, &self.epochs) {
            (Loaded::Intact(offset), _) => Some(*offset),
            // The epochs are cut to the log start, so the first starts there; with no
            // epoch, no batch lies at or past the log start: it is the log end.
            (_, Loaded::Intact(cache)) => cache.entries().first().map(|entry| entry.start_offset),
            _ => Some(first_base),
        };
        hint.map(|offset| offset.max(first_base))
    }

    /// The index of the first segment to validate batch by batch: the last clean point.
    fn scan_from(&self) -> usize {
        match (&self.epochs, self.clean_shutdown) {
            (Loaded::Intact(_), true) => self.bases.len(),
            (Loaded::Intact(_), false) => self.bases.len().saturating_sub(1),
            _ => 0,
        }
    }

    fn report(&self) -> RecoveryReport {
        RecoveryReport {
            clean_shutdown: self.clean_shutdown,
            recovered_from: 0,
            segments_recovered: 0,
            batches_validated: 0,
            truncation: None,
            leader_epoch_checkpoint: CheckpointStatus::of(&self.epochs),
            high_watermark_checkpoint: CheckpointStatus::of(&self.high_watermark),
            log_start_offset_checkpoint: CheckpointStatus::of(&self.log_start_offset),
        }
    }
}

impl Log {
    /// Opens the log in `dir`, creating it if empty, and recovers it if the previous run
    /// did not close it cleanly (see the module documentation). The report says whether
    /// the shutdown was clean and what recovery validated, dropped and rebuilt. Fails only
    /// on a disk error (a read error included: a media error is not proof of corruption,
    /// so recovery does not cut there) or an invalid `config`.
    pub fn open(
        disk: &mut dyn Disk,
        dir: &str,
        config: LogConfig,
    ) -> Result<(Log, RecoveryReport), LogError> {
        config.validate()?;
        let files = LogFiles::new(dir);
        let found = Found::read(disk, &files)?;
        let log_start_hint = found.log_start_hint();
        let mut recovery = Recovery {
            disk: &mut *disk,
            files,
            config,
            tracker: EpochTracker {
                checkpoint: found.checkpoint(),
                log_start_offset: log_start_hint.unwrap_or(i64::MAX),
                previous: None,
                seen: Vec::new(),
            },
            report: found.report(),
            recovered_from: None,
            segments: BTreeMap::new(),
            recovered: Vec::new(),
        };
        if found.bases.is_empty() {
            recovery.create_first_segment(log_start_hint.unwrap_or(found.first_base()))?;
        } else {
            recovery.recover_segments(&found.bases, found.scan_from())?;
        }
        let (mut log, report, recovered) = recovery.finish(&found, log_start_hint);
        log.persist_recovery(disk, &found, &recovered)?;
        Ok((log, report))
    }

    /// Makes what recovery changed durable and removes the clean-shutdown marker.
    fn persist_recovery(
        &mut self,
        disk: &mut dyn Disk,
        found: &Found,
        recovered: &[i64],
    ) -> Result<(), LogError> {
        self.delete_segments_below_log_start(disk)?;
        for base in recovered {
            if let Some(segment) = self.segments.get(base) {
                segment.write_index(disk, &self.files)?;
                segment.sync(disk, &self.files)?;
            }
        }
        if found.epochs != Loaded::Intact(self.epochs.clone()) {
            self.write_epochs(disk)?;
        }
        if found.log_start_offset != Loaded::Intact(self.log_start_offset) {
            self.write_log_start_offset(disk)?;
        }
        if found.high_watermark != Loaded::Intact(self.high_watermark) {
            self.checkpoint_high_watermark(disk)?;
        }
        if found.clean_shutdown {
            disk.remove(&self.files.clean_shutdown_marker())?;
        }
        disk.sync_dir()?;
        self.check();
        Ok(())
    }
}

/// The base offsets of the directory's `.log` files, ascending. Index files without a log
/// file are removed (the caller syncs the directory).
fn segment_bases(disk: &mut dyn Disk, files: &LogFiles) -> Result<Vec<i64>, DiskError> {
    let mut logs = BTreeSet::new();
    let mut indexes = BTreeSet::new();
    for name in disk.list() {
        match files.parse_segment(&name) {
            Some((base, SegmentFile::Log)) => logs.insert(base),
            Some((base, SegmentFile::Index)) => indexes.insert(base),
            None => false,
        };
    }
    for orphan in indexes.difference(&logs) {
        remove_if_exists(disk, &files.index(*orphan))?;
    }
    Ok(logs.into_iter().collect())
}

impl Recovery<'_> {
    /// The recovered log: the log start clamped into it, the epochs (from the checkpoint
    /// or the batches) cut to it, the high watermark clamped; the report, and the segments
    /// recovery rebuilt or cut.
    fn finish(self, found: &Found, log_start_hint: Option<i64>) -> (Log, RecoveryReport, Vec<i64>) {
        let log_end_offset = self
            .segments
            .values()
            .next_back()
            .expect("recovery leaves a segment")
            .next_offset;
        let first_base = *self
            .segments
            .keys()
            .next()
            .expect("recovery leaves a segment");
        let log_start_offset = log_start_hint
            .unwrap_or(log_end_offset)
            .clamp(first_base, log_end_offset);
        let tracker = self.tracker;
        let mut epochs = tracker
            .checkpoint
            .unwrap_or_else(|| LeaderEpochCache::from_entries(tracker.seen));
        epochs.truncate_from_start(log_start_offset);
        epochs.truncate_from_end(log_end_offset);
        let high_watermark = match found.high_watermark {
            Loaded::Intact(offset) => offset.clamp(log_start_offset, log_end_offset),
            _ => log_start_offset,
        };
        let log = Log {
            files: self.files,
            config: self.config,
            segments: self.segments,
            log_start_offset,
            high_watermark,
            recovery_point: log_end_offset,
            epochs,
            read_hints: Default::default(),
        };
        let report = RecoveryReport {
            recovered_from: self.recovered_from.unwrap_or(log_end_offset),
            ..self.report
        };
        (log, report, self.recovered)
    }

    fn create_first_segment(&mut self, base_offset: i64) -> Result<(), DiskError> {
        let segment = Segment::empty(base_offset);
        segment.create_files(self.disk, &self.files)?;
        self.segments.insert(base_offset, segment);
        self.recovered.push(base_offset);
        Ok(())
    }

    /// Loads the segments before `scan_from` and validates the rest, cutting at the first
    /// invalid batch or missing segment.
    fn recover_segments(&mut self, bases: &[i64], mut scan_from: usize) -> Result<(), DiskError> {
        let mut previous_end = None;
        for (index, &base) in bases.iter().enumerate() {
            if let Some(expected) = previous_end.filter(|expected| *expected != base) {
                let cause = Corruption::SegmentGap {
                    expected,
                    found: base,
                };
                let at = self.files.log(base);
                self.drop_from(expected, (at, 0), cause, &bases[index..], 0)?;
                return Ok(());
            }
            let loaded = match index < scan_from {
                true => self.load_segment(base)?,
                false => None,
            };
            let segment = match loaded {
                Some(segment) => segment,
                None => {
                    scan_from = scan_from.min(index);
                    let (segment, failure) = self.scan_segment(base)?;
                    if let Some((position, cause)) = failure {
                        return self.cut(segment, position, cause, &bases[index + 1..]);
                    }
                    segment
                }
            };
            previous_end = Some(segment.next_offset);
            self.segments.insert(base, segment);
        }
        Ok(())
    }

    /// A segment below the clean point, from its index and a validated tail; `None` when
    /// the index is missing or not well formed or the tail does not validate.
    fn load_segment(&mut self, base: i64) -> Result<Option<Segment>, DiskError> {
        let name = self.files.log(base);
        let index_name = self.files.index(base);
        let size = self.disk.len(&name)?;
        let Some(size_u32) = u32::try_from(size)
            .ok()
            .filter(|size| *size <= SEGMENT_BYTES_MAX)
        else {
            return Ok(None);
        };
        let index_len = match self.disk.len(&index_name) {
            Ok(len) => len,
            Err(DiskError::NotFound { .. }) => return Ok(None),
            Err(error) => return Err(error),
        };
        let entries_max = size / BATCH_HEADER_BYTES as u64 + 1;
        if index_len > entries_max * INDEX_ENTRY_BYTES as u64 {
            return Ok(None);
        }
        let Some(index) = OffsetIndex::decode(&self.disk.read_all(&index_name)?, size) else {
            return Ok(None);
        };
        let (mut position, mut next_offset) = match index.last() {
            None => (0, base),
            Some(entry) => match base.checked_add(entry.relative_offset.into()) {
                Some(offset) => (entry.position, offset),
                None => return Ok(None),
            },
        };
        let before = self.tracker.clone();
        let mut buffer = Vec::new();
        let mut validated = 0;
        while position < size_u32 {
            buffer.clear();
            let checked = read_batch(self.disk, &name, position.into(), size, &mut buffer)
                .and_then(|header| {
                    Ok(self.tracker.check(&header, next_offset).map(|()| header)?)
                });
            let header = match checked {
                Ok(header) => header,
                Err(ReadFailure::Disk(error)) => return Err(error),
                Err(ReadFailure::Corrupt(_)) => {
                    self.tracker = before;
                    return Ok(None);
                }
            };
            position += u32::try_from(header.total_len()).expect("batch lies within the segment");
            next_offset = header.next_offset();
            validated += 1;
        }
        self.report.batches_validated += validated;
        Ok(Some(Segment::loaded(base, next_offset, size_u32, index)))
    }

    /// Validates every batch of a segment and rebuilds its index; the segment up to the
    /// first invalid batch, and where and why it is invalid.
    fn scan_segment(
        &mut self,
        base: i64,
    ) -> Result<(Segment, Option<(u32, Corruption)>), DiskError> {
        self.recovered_from.get_or_insert(base);
        self.report.segments_recovered += 1;
        self.recovered.push(base);
        let name = self.files.log(base);
        let size = self.disk.len(&name)?;
        let mut segment = Segment::empty(base);
        let mut buffer = Vec::new();
        while u64::from(segment.size) < size {
            let position = segment.size;
            buffer.clear();
            let checked = read_batch(self.disk, &name, position.into(), size, &mut buffer)
                .and_then(|header| {
                    Ok(self
                        .check_scanned(&segment, &header)
                        .map(|len| (header, len))?)
                });
            let (header, len) = match checked {
                Ok(checked) => checked,
                Err(ReadFailure::Disk(error)) => return Err(error),
                Err(ReadFailure::Corrupt(cause)) => return Ok((segment, Some((position, cause)))),
            };
            let entry =
                segment.index_entry_for(header.base_offset, self.config.index_interval_bytes);
            segment.push_batch(&header, len, entry);
            self.report.batches_validated += 1;
        }
        Ok((segment, None))
    }

    /// Checks a scanned batch against the segment so far; its length when valid.
    fn check_scanned(
        &mut self,
        segment: &Segment,
        header: &BatchHeader,
    ) -> Result<u32, Corruption> {
        let too_large = Corruption::SegmentTooLarge {
            position: segment.size.into(),
            batch_len: header.total_len(),
        };
        let len = u32::try_from(header.total_len()).map_err(|_| too_large.clone())?;
        if segment
            .size
            .checked_add(len)
            .is_none_or(|end| end > SEGMENT_BYTES_MAX)
        {
            return Err(too_large);
        }
        self.tracker.check(header, segment.next_offset)?;
        Ok(len)
    }

    /// Cuts `segment` at `position` and deletes the segments `later`.
    fn cut(
        &mut self,
        segment: Segment,
        position: u32,
        cause: Corruption,
        later: &[i64],
    ) -> Result<(), DiskError> {
        debug_assert_eq!(segment.size, position);
        let name = self.files.log(segment.base_offset);
        let cut_bytes = self.disk.len(&name)? - u64::from(position);
        self.disk.set_len(&name, position.into())?;
        let offset = segment.next_offset;
        self.segments.insert(segment.base_offset, segment);
        self.drop_from(offset, (name, position.into()), cause, later, cut_bytes)
    }

    /// Deletes the segments `doomed` and reports the truncation at `offset`.
    fn drop_from(
        &mut self,
        offset: i64,
        (segment, position): (String, u64),
        cause: Corruption,
        doomed: &[i64],
        cut_bytes: u64,
    ) -> Result<(), DiskError> {
        let mut bytes = cut_bytes;
        for &base in doomed {
            let name = self.files.log(base);
            bytes += self.disk.len(&name)?;
            remove_if_exists(self.disk, &name)?;
            remove_if_exists(self.disk, &self.files.index(base))?;
        }
        self.report.truncation = Some(Truncation {
            offset,
            segment,
            position,
            bytes,
            segments_deleted: u32::try_from(doomed.len()).unwrap_or(u32::MAX),
            cause,
        });
        Ok(())
    }
}
