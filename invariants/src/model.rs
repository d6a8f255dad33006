//! What the oracle knows of each partition, rebuilt from observations alone: every
//! replica's log as the leader epoch of the batch at each offset, its high watermark, the
//! controller's committed state, and the ISR and ELR re-derived by KIP-966's rule.
//!
//! Log contents are tracked by (offset, leader epoch), as Raft's log matching does: two
//! batches at one offset with one epoch come from the one leader of that epoch (which
//! `two-leaders` checks), so they are the same batch.

use std::collections::{BTreeMap, BTreeSet};

use crate::observation::ElectionKind;

/// The epoch of a batch the oracle knows is there but never saw appended: log recovery
/// found it after the append's observation was lost with a halt (a full disk, say).
/// Comparisons skip it.
pub(crate) const UNKNOWN_EPOCH: i32 = i32::MIN;

/// One replica of a partition.
#[derive(Debug, Clone, Default)]
pub(crate) struct Replica {
    /// The leader epoch of the batch at each offset, from offset 0.
    pub(crate) epochs: Vec<i32>,
    /// The high watermark it last reported.
    pub(crate) high_watermark: i64,
    /// Disk faults that may have lost this replica's data, reported since its log was last
    /// opened: the evidence for link (b) of an allowed loss.
    pub(crate) disk_faults: Vec<String>,
    /// It lost data on its disk since it last joined the committed ISR: a loss window in
    /// which `strong-isr` does not judge it.
    pub(crate) lossy_since_joined: bool,
}

impl Replica {
    /// Its log end offset.
    pub(crate) fn log_end_offset(&self) -> i64 {
        self.epochs.len() as i64
    }

    /// The epoch of its batch at `offset`, if it holds one.
    pub(crate) fn epoch_at(&self, offset: i64) -> Option<i32> {
        usize::try_from(offset)
            .ok()
            .and_then(|o| self.epochs.get(o).copied())
    }

    /// Recovery opened the log at `offset`: cut to it, or extended with batches whose
    /// append was never observed.
    pub(crate) fn recover(&mut self, offset: i64) {
        let end = usize::try_from(offset.max(0)).unwrap_or(0);
        if self.epochs.len() < end {
            self.epochs.resize(end, UNKNOWN_EPOCH);
        }
        self.truncate(offset);
    }

    /// Cuts the log to `offset`; the high watermark follows (Kafka clamps it on truncation).
    pub(crate) fn truncate(&mut self, offset: i64) {
        let end = usize::try_from(offset.max(0)).unwrap_or(0);
        self.epochs.truncate(end);
        self.high_watermark = self.high_watermark.min(offset);
    }

    /// Records `first..=last` appended in `epoch`, overwriting anything from `first` on.
    pub(crate) fn append(&mut self, first: i64, last: i64, epoch: i32) {
        let first = usize::try_from(first.max(0)).unwrap_or(0);
        let last = usize::try_from(last.max(0)).unwrap_or(0);
        if self.epochs.len() < first {
            // A gap the observations did not cover.
            self.epochs.resize(first, UNKNOWN_EPOCH);
        }
        self.epochs.truncate(first);
        self.epochs.resize(last + 1, epoch);
    }
}

/// The controller's last committed state of a partition.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub(crate) struct Committed {
    pub(crate) leader: Option<i32>,
    pub(crate) leader_epoch: i32,
    pub(crate) partition_epoch: i32,
    pub(crate) isr: Vec<i32>,
    pub(crate) elr: Vec<i32>,
}

/// An election the controller reported, with the sets the oracle derived before it.
#[derive(Debug, Clone)]
pub(crate) struct Election {
    pub(crate) time_us: u64,
    pub(crate) leader: i32,
    pub(crate) leader_epoch: i32,
    pub(crate) kind: ElectionKind,
    pub(crate) isr_before: Vec<i32>,
    pub(crate) elr_before: Vec<i32>,
    /// Brokers fenced or shut down at the election.
    pub(crate) out_of_service: Vec<i32>,
}

/// Everything the oracle tracks of one partition.
#[derive(Debug, Clone, Default)]
pub(crate) struct PartitionModel {
    pub(crate) replicas: BTreeMap<i32, Replica>,
    /// Who led each epoch (from `BecameLeader`).
    pub(crate) leaders: BTreeMap<i32, i32>,
    /// The controller's last committed state, once it published one.
    pub(crate) committed: Option<Committed>,
    /// The ISR and ELR as the oracle re-derives them.
    pub(crate) isr: Vec<i32>,
    pub(crate) elr: Vec<i32>,
    pub(crate) elections: Vec<Election>,
    /// The highest high watermark any leader reported.
    pub(crate) leader_hw_max: i64,
    /// Each leader's last high watermark, by (node, epoch).
    pub(crate) leader_hw: BTreeMap<(i32, i32), i64>,
    /// Lowest log end offset any replica was cut to, by time: what explains a consumer's
    /// out-of-range position.
    pub(crate) cuts: Vec<(u64, i64)>,
    /// An election that records a possible loss (the last-known-leader fallback or an
    /// unclean election) happened: log matching findings wait for the end, where an
    /// allowed loss may explain them.
    pub(crate) possible_loss: bool,
}

impl PartitionModel {
    /// The replica on `node`, created empty if new.
    pub(crate) fn replica(&mut self, node: i32) -> &mut Replica {
        self.replicas.entry(node).or_default()
    }

    /// Applies KIP-966's rule to the derived sets for an ISR that becomes `new_isr`:
    /// members that leave join the ELR while the ISR has fewer than `min_insync` members;
    /// the ELR holds no ISR member and empties once the ISR is large enough.
    pub(crate) fn derive_isr_change(&mut self, new_isr: &[i32], min_insync: usize) {
        let removed: Vec<i32> = (self.isr.iter().copied())
            .filter(|b| !new_isr.contains(b))
            .collect();
        if new_isr.len() < min_insync {
            self.elr.extend(removed);
        }
        self.isr = new_isr.to_vec();
        self.normalize(min_insync);
    }

    /// A broker left every ISR: fenced (it stays eligible by the rule above) or restarted
    /// unclean (it also leaves the ELR).
    pub(crate) fn derive_removal(&mut self, broker: i32, eligible: bool, min_insync: usize) {
        if eligible {
            let isr: Vec<i32> = self.isr.iter().copied().filter(|&b| b != broker).collect();
            self.derive_isr_change(&isr, min_insync);
        } else {
            self.isr.retain(|&b| b != broker);
            self.elr.retain(|&b| b != broker);
            self.normalize(min_insync);
        }
    }

    fn normalize(&mut self, min_insync: usize) {
        let isr: BTreeSet<i32> = self.isr.iter().copied().collect();
        self.elr.retain(|b| !isr.contains(b));
        if self.isr.len() >= min_insync {
            self.elr.clear();
        }
        self.elr.sort_unstable();
        self.elr.dedup();
    }
}
