//! Removing records: truncation from the end (a follower diverging from its leader),
//! deletion of whole segments below a new log start offset (retention, DeleteRecords), and
//! starting over at an offset (a follower behind its leader's log start).
//!
//! Each is durable when it returns. Kafka does not sync a truncation; this log does, so a
//! power loss cannot bring a truncated tail back beside the batches appended after it and
//! break the epoch checkpoint's agreement with the batches.

use std::ops::Bound::{Excluded, Unbounded};

use odradek_sim::{Disk, DiskError};

use super::error::LogError;
use super::read::Cursor;
use super::segment::Segment;
use super::Log;

impl Log {
    /// Drops every batch that holds an offset at or past `offset`, across segments, and
    /// the epochs that start there; clamps the high watermark. Returns the new log end
    /// offset: `offset`, or lower when `offset` fell inside a batch or a batch before it
    /// fails validation (the cut then goes there). Below the log start offset the log starts over empty at `offset`,
    /// as Kafka's `truncateTo` does.
    pub fn truncate_to(&mut self, disk: &mut dyn Disk, offset: i64) -> Result<i64, LogError> {
        let log_end_offset = self.log_end_offset();
        if offset >= log_end_offset {
            return Ok(log_end_offset);
        }
        self.read_hints.clear();
        if offset < self.log_start_offset {
            self.truncate_fully_and_start_at(disk, offset)?;
            return Ok(offset);
        }
        let Cursor {
            segment: base_offset,
            position,
            next_offset: new_end,
        } = self.batch_boundary(disk, offset)?;
        let later: Vec<i64> = self
            .segments
            .range((Excluded(base_offset), Unbounded))
            .map(|(base, _)| *base)
            .collect();
        for base in later {
            self.segments[&base].remove_files(disk, &self.files)?;
            self.segments.remove(&base);
        }
        let segment = self
            .segments
            .get_mut(&base_offset)
            .expect("boundary segment exists");
        segment.truncate(disk, &self.files, position, new_end)?;
        segment.sync(disk, &self.files)?;
        disk.sync_dir()?;
        self.recovery_point = self.recovery_point.min(new_end);
        self.high_watermark = self.high_watermark.min(new_end);
        if new_end < self.log_start_offset {
            self.log_start_offset = new_end;
            self.write_log_start_offset(disk)?;
        }
        if self.epochs.truncate_from_end(new_end) {
            self.write_epochs(disk)?;
        }
        self.check();
        debug_assert!(new_end <= offset);
        Ok(new_end)
    }

    /// Where the batch holding `offset` starts, or the first batch before it that fails
    /// validation: a damaged length must not move the cut into another batch.
    fn batch_boundary(&self, disk: &dyn Disk, offset: i64) -> Result<Cursor, LogError> {
        let mut cursor = self.cursor_at(disk, offset)?;
        let mut buffer = Vec::new();
        loop {
            let before = cursor;
            buffer.clear();
            match self.next_batch(disk, &mut cursor, &mut buffer) {
                Ok(Some(header)) if header.next_offset() <= offset => {}
                Ok(_) | Err(LogError::Corrupt { .. }) => return Ok(before),
                Err(error) => return Err(error),
            }
        }
    }

    /// Empties the log and starts it at `offset`: Kafka's `truncateFullyAndStartAt`, for a
    /// follower whose log end lies below its leader's log start. Every segment goes, the
    /// epochs go, and the log start offset, log end offset and high watermark become
    /// `offset`. Durable when it returns.
    pub fn truncate_fully_and_start_at(
        &mut self,
        disk: &mut dyn Disk,
        offset: i64,
    ) -> Result<(), LogError> {
        self.read_hints.clear();
        if offset < 0 {
            return Err(LogError::OffsetOutOfRange {
                offset,
                log_start_offset: self.log_start_offset,
                log_end_offset: self.log_end_offset(),
            });
        }
        for segment in self.segments.values() {
            segment.remove_files(disk, &self.files)?;
        }
        disk.sync_dir()?;
        let segment = Segment::empty(offset);
        segment.create_files(disk, &self.files)?;
        segment.sync(disk, &self.files)?;
        disk.sync_dir()?;
        self.segments = [(offset, segment)].into();
        self.log_start_offset = offset;
        self.high_watermark = offset;
        self.recovery_point = offset;
        self.epochs.clear();
        self.write_epochs(disk)?;
        self.write_log_start_offset(disk)?;
        self.check();
        Ok(())
    }

    /// Moves the log start offset up to `new_log_start_offset` and deletes the segments
    /// wholly below it (Kafka's `maybeIncrementLogStartOffset` and `deleteOldSegments`);
    /// offsets below it become unreadable even where their segment stays. Refused above the
    /// high watermark, which would delete records not known to be committed. Returns how
    /// many segments were deleted. Durable when it returns.
    pub fn delete_below(
        &mut self,
        disk: &mut dyn Disk,
        new_log_start_offset: i64,
    ) -> Result<usize, LogError> {
        if new_log_start_offset <= self.log_start_offset {
            return Ok(0);
        }
        if new_log_start_offset > self.high_watermark {
            return Err(LogError::LogStartAboveHighWatermark {
                requested: new_log_start_offset,
                high_watermark: self.high_watermark,
            });
        }
        self.log_start_offset = new_log_start_offset;
        self.write_log_start_offset(disk)?;
        if self.epochs.truncate_from_start(new_log_start_offset) {
            self.write_epochs(disk)?;
        }
        if !self.active().is_empty() && self.active().next_offset <= new_log_start_offset {
            self.roll(disk)?;
        }
        let deleted = self.delete_segments_below_log_start(disk)?;
        self.check();
        Ok(deleted)
    }

    /// Deletes every segment but the active one that ends at or below the log start offset.
    pub(super) fn delete_segments_below_log_start(
        &mut self,
        disk: &mut dyn Disk,
    ) -> Result<usize, DiskError> {
        let active = self.active().base_offset;
        let doomed: Vec<i64> = self
            .segments
            .values()
            .filter(|segment| {
                segment.base_offset != active && segment.next_offset <= self.log_start_offset
            })
            .map(|segment| segment.base_offset)
            .collect();
        if !doomed.is_empty() {
            self.read_hints.clear();
        }
        for base in &doomed {
            self.segments[base].remove_files(disk, &self.files)?;
            self.segments.remove(base);
        }
        if !doomed.is_empty() {
            disk.sync_dir()?;
        }
        Ok(doomed.len())
    }
}
