//! The leader-epoch cache and its checkpoint (`leader-epoch-checkpoint`): for each leader
//! epoch the log holds, the offset its first batch starts at. Followers truncate by it
//! (KIP-101) using the lookup "largest epoch <= e and its end offset" (KIP-279), and reads
//! check each batch's epoch field, which the CRC does not cover, against it.
//!
//! The cache is written durably before the first batch of a new epoch is, so the
//! checkpoint on disk describes every durable batch and at most runs ahead of them; recovery
//! drops the entries past the log end.

use odradek_sim::{Disk, DiskError};

use super::checkpoint::{self, CheckpointError, Loaded};

/// One leader epoch and where it starts.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub struct EpochEntry {
    /// The leader epoch.
    pub epoch: i32,
    /// Offset of the epoch's first batch (or, for the newest epoch of a leader that has
    /// appended nothing yet, the log end offset when it became leader).
    pub start_offset: i64,
}

/// The answer to OffsetsForLeaderEpoch (KIP-279): the largest epoch the log holds that is
/// not above the requested one, and the offset where that epoch ends.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub struct EpochEndOffset {
    /// The epoch the answer is about.
    pub leader_epoch: i32,
    /// The first offset after that epoch's batches: the next epoch's start offset, or the
    /// log end offset for the latest epoch.
    pub end_offset: i64,
}

/// Epoch entries, epochs and start offsets both strictly increasing.
#[derive(Debug, Clone, Default, PartialEq, Eq, Hash)]
pub(super) struct LeaderEpochCache {
    entries: Vec<EpochEntry>,
}

impl LeaderEpochCache {
    /// A cache from checkpoint entries, refusing any that break the ordering.
    pub(super) fn from_checkpoint(entries: &[[i64; 2]]) -> Result<Self, CheckpointError> {
        let mut cache = LeaderEpochCache::default();
        for (index, &[epoch, start_offset]) in entries.iter().enumerate() {
            let bad = |reason| CheckpointError::Malformed {
                line: index + 3,
                reason,
            };
            let epoch = i32::try_from(epoch).map_err(|_| bad("epoch out of range"))?;
            let entry = EpochEntry {
                epoch,
                start_offset,
            };
            if epoch < 0 || start_offset < 0 {
                return Err(bad("negative epoch or offset"));
            }
            if cache
                .entries
                .last()
                .is_some_and(|last| last.epoch >= epoch || last.start_offset >= start_offset)
            {
                return Err(bad("epochs and start offsets must increase"));
            }
            cache.entries.push(entry);
        }
        Ok(cache)
    }

    /// A cache from the epochs batches carry, in log order.
    pub(super) fn from_entries(entries: Vec<EpochEntry>) -> Self {
        let cache = LeaderEpochCache { entries };
        cache.check();
        cache
    }

    pub(super) fn entries(&self) -> &[EpochEntry] {
        &self.entries
    }

    pub(super) fn latest(&self) -> Option<EpochEntry> {
        self.entries.last().copied()
    }

    /// The epoch of the batches at `offset`: the entry with the largest start offset not
    /// above it.
    pub(super) fn epoch_at(&self, offset: i64) -> Option<i32> {
        let after = self
            .entries
            .partition_point(|entry| entry.start_offset <= offset);
        after.checked_sub(1).map(|at| self.entries[at].epoch)
    }

    /// Records that the batches from `start_offset` on carry `epoch`: entries at or past
    /// `start_offset` describe no batch yet and go, and a new entry follows unless the last
    /// one already has `epoch`. Returns whether the cache changed.
    ///
    /// The caller guarantees that `epoch` is not below the epoch of any batch before
    /// `start_offset`.
    pub(super) fn assign(&mut self, epoch: i32, start_offset: i64) -> bool {
        assert!(
            epoch >= 0 && start_offset >= 0,
            "assign({epoch}, {start_offset})"
        );
        if self
            .latest()
            .is_some_and(|latest| latest.epoch == epoch && latest.start_offset <= start_offset)
        {
            return false;
        }
        let before = self.entries.len();
        self.entries
            .retain(|entry| entry.start_offset < start_offset);
        let mut changed = self.entries.len() != before;
        match self.entries.last() {
            Some(last) if last.epoch == epoch => {}
            last => {
                assert!(
                    last.is_none_or(|last| last.epoch < epoch),
                    "epoch {epoch} below the log's last batch epoch"
                );
                self.entries.push(EpochEntry {
                    epoch,
                    start_offset,
                });
                changed = true;
            }
        }
        self.check();
        changed
    }

    /// Drops the entries that start at or past `end_offset` (Kafka's `truncateFromEnd`).
    pub(super) fn truncate_from_end(&mut self, end_offset: i64) -> bool {
        let before = self.entries.len();
        self.entries.retain(|entry| entry.start_offset < end_offset);
        self.entries.len() != before
    }

    /// Drops the entries wholly below `start_offset` and moves the one holding it up to it
    /// (Kafka's `truncateFromStart`).
    pub(super) fn truncate_from_start(&mut self, start_offset: i64) -> bool {
        let holding = self
            .entries
            .partition_point(|entry| entry.start_offset <= start_offset);
        let Some(floor) = holding.checked_sub(1) else {
            return false;
        };
        let changed = floor > 0 || self.entries[floor].start_offset != start_offset;
        self.entries.drain(..floor);
        self.entries[0].start_offset = start_offset;
        self.check();
        changed
    }

    /// Forgets every epoch.
    pub(super) fn clear(&mut self) -> bool {
        let changed = !self.entries.is_empty();
        self.entries.clear();
        changed
    }

    /// KIP-279's lookup, as Kafka's `LeaderEpochFileCache.endOffsetFor`: for the latest
    /// epoch, the log end offset; for an older one, the largest epoch not above it and the
    /// start offset of the epoch after; for one below every epoch, the requested epoch and
    /// the first epoch's start offset; `None` for one above every epoch or an empty cache.
    pub(super) fn end_offset_for(
        &self,
        requested: i32,
        log_end_offset: i64,
    ) -> Option<EpochEndOffset> {
        let latest = self.latest()?;
        if requested == latest.epoch {
            return Some(EpochEndOffset {
                leader_epoch: requested,
                end_offset: log_end_offset,
            });
        }
        let higher = self
            .entries
            .partition_point(|entry| entry.epoch <= requested);
        let next = self.entries.get(higher)?;
        let leader_epoch = higher
            .checked_sub(1)
            .map_or(requested, |floor| self.entries[floor].epoch);
        Some(EpochEndOffset {
            leader_epoch,
            end_offset: next.start_offset,
        })
    }

    /// Loads the checkpoint `name`: the cache, or why it cannot be trusted.
    pub(super) fn load(disk: &dyn Disk, name: &str) -> Result<Loaded<Self>, DiskError> {
        let loaded = checkpoint::load::<2>(disk, name)?;
        Ok(loaded.and_then(|entries| Self::from_checkpoint(&entries)))
    }

    /// Writes the cache to the checkpoint `name`, durably.
    pub(super) fn write(&self, disk: &mut dyn Disk, name: &str) -> Result<(), DiskError> {
        let entries: Vec<[i64; 2]> = self
            .entries
            .iter()
            .map(|entry| [entry.epoch.into(), entry.start_offset])
            .collect();
        checkpoint::write(disk, name, &entries)
    }

    fn check(&self) {
        debug_assert!(
            self.entries.windows(2).all(|pair| {
                pair[0].epoch < pair[1].epoch && pair[0].start_offset < pair[1].start_offset
            }),
            "epoch entries out of order: {:?}",
            self.entries
        );
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn cache(entries: &[(i32, i64)]) -> LeaderEpochCache {
        LeaderEpochCache::from_entries(
            entries
                .iter()
                .map(|&(epoch, start_offset)| EpochEntry {
                    epoch,
                    start_offset,
                })
                .collect(),
        )
    }

    #[test]
    fn assign_replaces_entries_that_hold_no_batch_yet() {
        let mut epochs = cache(&[(1, 0), (5, 10)]);
        assert!(epochs.assign(4, 10));
        assert_eq!(epochs, cache(&[(1, 0), (4, 10)]));
        assert!(!epochs.assign(4, 12), "same epoch continues");
        assert!(epochs.assign(6, 12));
        assert_eq!(epochs, cache(&[(1, 0), (4, 10), (6, 12)]));
    }

    #[test]
    fn truncate_from_start_moves_the_holding_entry_up() {
        let mut epochs = cache(&[(1, 0), (2, 10), (3, 20)]);
        assert!(epochs.truncate_from_start(15));
        assert_eq!(epochs, cache(&[(2, 15), (3, 20)]));
        assert!(!epochs.truncate_from_start(15));
        assert!(epochs.truncate_from_start(20));
        assert_eq!(epochs, cache(&[(3, 20)]));
    }

    #[test]
    fn checkpoint_entries_must_increase() {
        assert!(LeaderEpochCache::from_checkpoint(&[[1, 0], [2, 5]]).is_ok());
        assert!(LeaderEpochCache::from_checkpoint(&[[2, 0], [2, 5]]).is_err());
        assert!(LeaderEpochCache::from_checkpoint(&[[1, 5], [2, 5]]).is_err());
        assert!(LeaderEpochCache::from_checkpoint(&[[-1, 0]]).is_err());
        assert!(LeaderEpochCache::from_checkpoint(&[[i64::from(i32::MAX) + 1, 0]]).is_err());
    }
}
