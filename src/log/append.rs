//! Appends: the leader's, which assigns offsets and stamps its epoch, and the follower's,
//! which stores the leader's batches as they are. Both validate every batch before writing
//! any (header, CRC-32C, size, offsets, epochs), so a refused append leaves the log as it
//! was.

use std::ops::Range;

use odradek_sim::Disk;

use super::error::LogError;
use super::Log;
use crate::record::{set_base_offset, set_partition_leader_epoch, BatchHeader, RecordError};

/// What an append stored.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub struct AppendInfo {
    /// Offset of the first record appended.
    pub first_offset: i64,
    /// Offset of the last record appended.
    pub last_offset: i64,
    /// Batches appended.
    pub batch_count: usize,
}

/// One batch of the appended bytes: where it lies and its header.
struct Incoming {
    range: Range<usize>,
    header: BatchHeader,
}

/// Splits `bytes` into whole batches, each with a valid header and CRC-32C. The record
/// sections are not decoded: like Kafka's broker for uncompressed-to-uncompressed appends,
/// the log trusts the CRC, and consumers decode.
fn split_batches(bytes: &[u8]) -> Result<Vec<Incoming>, LogError> {
    let mut batches = Vec::new();
    let mut position = 0;
    while position < bytes.len() {
        let invalid = |source| LogError::InvalidBatch {
            batch: batches.len(),
            position,
            source,
        };
        let rest = &bytes[position..];
        let header = BatchHeader::parse(rest).map_err(invalid)?;
        let total_len = header.total_len();
        let batch = rest
            .get(..total_len)
            .ok_or(invalid(RecordError::Truncated {
                field: "batch",
                needed: total_len,
                available: rest.len(),
            }))?;
        header.verify_crc(batch).map_err(invalid)?;
        batches.push(Incoming {
            range: position..position + total_len,
            header,
        });
        position += total_len;
    }
    if batches.is_empty() {
        return Err(LogError::EmptyAppend);
    }
    Ok(batches)
}

/// The offset after `header`'s batch placed at `base_offset`, if offsets do not overflow.
fn next_offset_after(base_offset: i64, header: &BatchHeader) -> Result<i64, LogError> {
    base_offset
        .checked_add(header.last_offset_delta.into())
        .and_then(|last| last.checked_add(1))
        .ok_or(LogError::OffsetOverflow {
            base_offset,
            last_offset_delta: header.last_offset_delta,
        })
}

impl Log {
    /// Appends `batches` (one or more encoded batches, as a producer sends them) as the
    /// leader in `leader_epoch`: assigns offsets from the log end and stamps
    /// `partitionLeaderEpoch`, both outside the CRC, without re-encoding. A new epoch is
    /// checkpointed durably before its first batch is written. Not durable until
    /// [`Log::flush`].
    pub fn append_as_leader(
        &mut self,
        disk: &mut dyn Disk,
        batches: &[u8],
        leader_epoch: i32,
    ) -> Result<AppendInfo, LogError> {
        let latest = self.latest_epoch().unwrap_or(0).max(0);
        if leader_epoch < latest {
            return Err(LogError::StaleEpoch {
                epoch: leader_epoch,
                latest,
            });
        }
        let mut incoming = split_batches(batches)?;
        let mut bytes = batches.to_vec();
        let mut next_offset = self.log_end_offset();
        for (index, batch) in incoming.iter_mut().enumerate() {
            self.check_batch_size(&batch.header)?;
            let base_offset = next_offset;
            next_offset = next_offset_after(base_offset, &batch.header)?;
            let stored = &mut bytes[batch.range.clone()];
            set_base_offset(stored, base_offset)
                .and_then(|()| set_partition_leader_epoch(stored, leader_epoch))
                .map_err(|source| LogError::InvalidBatch {
                    batch: index,
                    position: batch.range.start,
                    source,
                })?;
            batch.header.base_offset = base_offset;
            batch.header.partition_leader_epoch = leader_epoch;
        }
        self.begin_epoch(disk, leader_epoch)?;
        self.write_batches(disk, &bytes, &incoming)
    }

    /// Appends `batches` fetched from the leader, which carry their offsets and epochs: the
    /// first must start at the log end, each must continue the previous one, and epochs
    /// must not go below the epoch of the log's last batch (a follower truncates by leader
    /// epoch before it fetches). Not durable until [`Log::flush`].
    pub fn append_as_follower(
        &mut self,
        disk: &mut dyn Disk,
        batches: &[u8],
    ) -> Result<AppendInfo, LogError> {
        let incoming = split_batches(batches)?;
        let log_end_offset = self.log_end_offset();
        let mut expected = log_end_offset;
        let mut epoch_floor = self.epochs.epoch_at(log_end_offset - 1).unwrap_or(0);
        for (index, batch) in incoming.iter().enumerate() {
            let header = &batch.header;
            self.check_batch_size(header)?;
            if header.base_offset != expected {
                return Err(LogError::UnexpectedOffset {
                    batch: index,
                    expected,
                    found: header.base_offset,
                });
            }
            let epoch = header.partition_leader_epoch;
            if epoch < 0 {
                return Err(LogError::MissingEpoch {
                    batch: index,
                    epoch,
                });
            }
            if epoch < epoch_floor {
                return Err(LogError::StaleEpoch {
                    epoch,
                    latest: epoch_floor,
                });
            }
            expected = next_offset_after(header.base_offset, header)?;
            epoch_floor = epoch;
        }
        self.write_batches(disk, batches, &incoming)
    }

    /// Records that this replica leads from `epoch` on, at the log end offset, before any
    /// append: Kafka's leader does this on election, so OffsetsForLeaderEpoch answers for
    /// its epoch at once. Durable when it returns.
    pub fn start_leader_epoch(&mut self, disk: &mut dyn Disk, epoch: i32) -> Result<(), LogError> {
        let latest = self.latest_epoch().unwrap_or(0).max(0);
        if epoch < latest {
            return Err(LogError::StaleEpoch { epoch, latest });
        }
        self.begin_epoch(disk, epoch)
    }

    /// Makes `epoch` the epoch of the batches appended next, checkpointing it if new.
    fn begin_epoch(&mut self, disk: &mut dyn Disk, epoch: i32) -> Result<(), LogError> {
        if self.epochs.assign(epoch, self.log_end_offset()) {
            self.write_epochs(disk)?;
        }
        Ok(())
    }

    fn check_batch_size(&self, header: &BatchHeader) -> Result<(), LogError> {
        let segment_bytes = self.config.segment_bytes;
        if header.total_len() as u64 > u64::from(segment_bytes) {
            return Err(LogError::BatchTooLarge {
                size: header.total_len(),
                segment_bytes,
            });
        }
        Ok(())
    }

    /// Writes validated batches, rolling segments as they fill.
    fn write_batches(
        &mut self,
        disk: &mut dyn Disk,
        bytes: &[u8],
        incoming: &[Incoming],
    ) -> Result<AppendInfo, LogError> {
        for batch in incoming {
            let header = &batch.header;
            self.begin_epoch(disk, header.partition_leader_epoch)?;
            let len = batch.range.len();
            if !self
                .active()
                .has_room(header.base_offset, len, self.config.segment_bytes)
            {
                self.roll(disk)?;
            }
            let interval = self.config.index_interval_bytes;
            let active = self
                .segments
                .values_mut()
                .next_back()
                .expect("a log has a segment");
            self.read_hints.remember(super::read::Cursor {
                segment: active.base_offset,
                position: active.size,
                next_offset: header.base_offset,
            });
            active.append(
                disk,
                &self.files,
                &bytes[batch.range.clone()],
                header,
                interval,
            )?;
        }
        self.check();
        let first = &incoming.first().expect("appends are not empty").header;
        let last = &incoming.last().expect("appends are not empty").header;
        debug_assert_eq!(self.log_end_offset(), last.next_offset());
        Ok(AppendInfo {
            first_offset: first.base_offset,
            last_offset: last.last_offset(),
            batch_count: incoming.len(),
        })
    }
}
