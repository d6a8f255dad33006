//! The partition log: what a replica stores and replicates. Kafka's layout over the
//! [`Disk`] of `odradek-sim`: segments of RecordBatch v2 bytes with sparse offset indexes,
//! rolled by size; a leader-epoch checkpoint, a high-watermark checkpoint and a log start
//! offset checkpoint, each with a checksum; a clean-shutdown marker.
//!
//! The log is plain data (`Clone + Eq + Hash`), owns no disk and reads no clock: every
//! operation borrows the node's disk, so the engine can hold the disk across crashes and the
//! explorer can hash the log with the node's state.
//!
//! # Durability
//!
//! Kafka never fsyncs appends by default and relies on replication; neither does this log.
//! Its durability points are explicit:
//! - [`Log::flush`] makes every batch below the log end durable ([`Log::recovery_point`]);
//! - a roll syncs the segment it closes, so only the active segment can hold unsynced bytes;
//! - truncation, deletion, every checkpoint and [`Log::close`] are durable when they
//!   return, so a crash never resurrects a truncated tail beside newer batches;
//! - a new leader epoch reaches the epoch checkpoint durably before its first batch is
//!   written, so the checkpoint describes every batch a crash can leave behind.
//!
//! # Fault model and recovery
//!
//! A power loss may lose, tear, zero or partly keep whatever was not synced; bit flips may
//! hit any file at any time; reads may fail. [`Log::open`] validates every batch from the
//! last clean point (CRC-32C, magic, contiguous offsets, non-decreasing leader epochs that
//! agree with the epoch checkpoint), truncates at the first invalid one and reports what it
//! dropped ([`RecoveryReport`]). A damaged checkpoint fails its checksum and is rebuilt: the
//! epochs from the batches, the high watermark from the log start offset. Below the last
//! clean point a damaged batch stays in the log, and every read of it returns
//! [`LogError::Corrupt`]: reads check the CRC and the header fields it does not cover
//! (offset contiguity, the epoch against the epoch cache) on every batch they return. No
//! file content makes the log panic.
//!
//! After a [`LogError::Disk`] from a mutating operation the disk may hold more than the
//! log believes: the node must halt and reopen.

mod append;
mod checkpoint;
mod config;
mod error;
mod files;
mod leader_epoch;
mod offset_checkpoint;
mod offset_index;
mod read;
mod recovery;
mod segment;
mod truncation;

use std::collections::BTreeMap;

use odradek_sim::Disk;

pub use append::AppendInfo;
pub use checkpoint::CheckpointError;
pub use config::{
    LogConfig, CHECKPOINT_BYTES_MAX, INDEX_ENTRY_BYTES, INDEX_INTERVAL_BYTES_DEFAULT,
    SEGMENT_BYTES_DEFAULT, SEGMENT_BYTES_MAX, SEGMENT_BYTES_MIN,
};
pub use error::{Corruption, LogError};
pub use leader_epoch::{EpochEndOffset, EpochEntry};
pub use read::{BatchHeaders, LogRead, ReadLimits};
pub use recovery::{CheckpointStatus, RecoveryReport, Truncation};

use files::LogFiles;
use leader_epoch::LeaderEpochCache;
use segment::Segment;

/// One partition replica's log. See the module documentation for the durability contract.
///
/// Offsets below [`Log::log_start_offset`] are gone; [`Log::log_end_offset`] is the offset
/// the next record gets; [`Log::high_watermark`] lies between them and is kept here so it
/// can be checkpointed and clamped with the log, but the broker decides its value.
#[derive(Debug, Clone, PartialEq, Eq, Hash)]
pub struct Log {
    files: LogFiles,
    config: LogConfig,
    /// By base offset; never empty; each segment starts where the previous one ends. The
    /// last is the active segment, the only one appended to.
    segments: BTreeMap<i64, Segment>,
    log_start_offset: i64,
    high_watermark: i64,
    /// Every offset below is durable.
    recovery_point: i64,
    epochs: LeaderEpochCache,
    read_hints: read::ReadHints,
}

impl Log {
    /// The partition directory, the prefix of every file name.
    pub fn dir(&self) -> &str {
        self.files.dir()
    }

    /// The settings the log was opened with.
    pub fn config(&self) -> LogConfig {
        self.config
    }

    /// The first offset a read may ask for.
    pub fn log_start_offset(&self) -> i64 {
        self.log_start_offset
    }

    /// The offset the next appended record gets.
    pub fn log_end_offset(&self) -> i64 {
        self.active().next_offset
    }

    /// Every offset below this one is durable: it survives any power loss.
    pub fn recovery_point(&self) -> i64 {
        self.recovery_point
    }

    /// The high watermark as last set, loaded or clamped by a truncation.
    pub fn high_watermark(&self) -> i64 {
        self.high_watermark
    }

    /// How many segments the log has (at least one, possibly empty).
    pub fn segment_count(&self) -> usize {
        self.segments.len()
    }

    /// The leader-epoch cache: each epoch the log holds and its start offset, ascending.
    pub fn leader_epochs(&self) -> &[EpochEntry] {
        self.epochs.entries()
    }

    /// The newest leader epoch the log knows, whether or not a batch carries it yet.
    pub fn latest_epoch(&self) -> Option<i32> {
        self.epochs.latest().map(|entry| entry.epoch)
    }

    /// KIP-279's answer to OffsetsForLeaderEpoch for `epoch`: the largest epoch not above
    /// it that the log holds, and where that epoch ends (the log end offset for the latest
    /// epoch). `None` when `epoch` is above every epoch the log holds, or it holds none:
    /// Kafka's UNDEFINED_EPOCH_OFFSET. An `epoch` below every held epoch gets itself and the
    /// first epoch's start offset, as in Kafka.
    pub fn end_offset_for_epoch(&self, epoch: i32) -> Option<EpochEndOffset> {
        self.epochs.end_offset_for(epoch, self.log_end_offset())
    }

    /// Sets the high watermark, clamped to `[log_start_offset, log_end_offset]` as Kafka's
    /// `updateHighWatermark` does (a follower learns its leader's, which may be ahead of
    /// its own log end). Returns the value set. Not durable until
    /// [`Log::checkpoint_high_watermark`].
    pub fn set_high_watermark(&mut self, high_watermark: i64) -> i64 {
        self.high_watermark = high_watermark.clamp(self.log_start_offset, self.log_end_offset());
        self.check();
        self.high_watermark
    }

    /// Writes the high watermark to its checkpoint, durably. Kafka does this every
    /// `replica.high.watermark.checkpoint.interval.ms`; the broker decides when.
    pub fn checkpoint_high_watermark(&self, disk: &mut dyn Disk) -> Result<(), LogError> {
        let name = self.files.high_watermark_checkpoint();
        Ok(offset_checkpoint::write(disk, &name, self.high_watermark)?)
    }

    /// Makes every batch below the log end durable, and returns the log end offset, the
    /// new [`Log::recovery_point`]. Older segments were synced when they rolled.
    pub fn flush(&mut self, disk: &mut dyn Disk) -> Result<i64, LogError> {
        self.active().sync(disk, &self.files)?;
        self.recovery_point = self.log_end_offset();
        Ok(self.recovery_point)
    }

    /// Shuts the log down cleanly: flushes it, checkpoints the high watermark, then writes
    /// the clean-shutdown marker, durably, so the next [`Log::open`] knows nothing needs
    /// recovery.
    pub fn close(self, disk: &mut dyn Disk) -> Result<(), LogError> {
        let files = self.files.clone();
        self.close_without_marker(disk)?;
        let marker = files.clean_shutdown_marker();
        if !disk.exists(&marker) {
            disk.create(&marker)?;
        }
        disk.sync(&marker)?;
        disk.sync_dir()?;
        Ok(())
    }

    /// Flushes and checkpoints the high watermark but leaves no clean-shutdown marker:
    /// for a process whose own start lost data no one was told of, so its next start
    /// must still count as unclean.
    pub fn close_without_marker(mut self, disk: &mut dyn Disk) -> Result<(), LogError> {
        self.flush(disk)?;
        self.checkpoint_high_watermark(disk)
    }

    fn active(&self) -> &Segment {
        self.segments
            .values()
            .next_back()
            .expect("a log has a segment")
    }

    fn first(&self) -> &Segment {
        self.segments.values().next().expect("a log has a segment")
    }

    /// Closes the active segment, synced, and starts an empty one at the log end.
    fn roll(&mut self, disk: &mut dyn Disk) -> Result<(), LogError> {
        let log_end_offset = self.log_end_offset();
        debug_assert!(!self.active().is_empty(), "rolling an empty segment");
        self.active().sync(disk, &self.files)?;
        self.recovery_point = log_end_offset;
        let segment = Segment::empty(log_end_offset);
        segment.create_files(disk, &self.files)?;
        disk.sync_dir()?;
        self.segments.insert(log_end_offset, segment);
        self.check();
        Ok(())
    }

    fn write_epochs(&self, disk: &mut dyn Disk) -> Result<(), LogError> {
        let name = self.files.leader_epoch_checkpoint();
        Ok(self.epochs.write(disk, &name)?)
    }

    fn write_log_start_offset(&self, disk: &mut dyn Disk) -> Result<(), LogError> {
        let name = self.files.log_start_offset_checkpoint();
        Ok(offset_checkpoint::write(
            disk,
            &name,
            self.log_start_offset,
        )?)
    }

    /// The invariants every operation keeps.
    fn check(&self) {
        let log_end_offset = self.log_end_offset();
        assert!(
            self.first().base_offset <= self.log_start_offset
                && self.log_start_offset <= self.high_watermark
                && self.high_watermark <= log_end_offset,
            "offsets out of order. first_segment={} log_start_offset={} high_watermark={} \
             log_end_offset={}",
            self.first().base_offset,
            self.log_start_offset,
            self.high_watermark,
            log_end_offset
        );
        debug_assert!(self.recovery_point <= log_end_offset);
        debug_assert!(self
            .segments
            .iter()
            .all(|(base, segment)| *base == segment.base_offset));
        debug_assert!(self
            .segments
            .values()
            .zip(self.segments.values().skip(1))
            .all(|(before, after)| before.next_offset == after.base_offset));
        debug_assert!(self.epochs.entries().iter().all(|entry| {
            self.log_start_offset <= entry.start_offset && entry.start_offset <= log_end_offset
        }));
    }
}
