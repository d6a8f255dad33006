//! The oracle's answer for a run, and the replicas' state at quiescence it judges against.

use std::collections::BTreeMap;
use std::fmt;

use serde::{Deserialize, Serialize};

use crate::violation::{AllowedLoss, Violation};
use crate::PartitionRef;

/// What a run did, counted as the oracle saw it: the figures tests put floors on, so a run
/// that did nothing cannot pass.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
pub struct Counts {
    /// Sends invoked.
    pub sends: u64,
    /// Sends acknowledged.
    pub acked: u64,
    /// Sends that definitely failed.
    pub failed: u64,
    /// Sends whose outcome is unknown.
    pub indeterminate: u64,
    /// Records consumers polled.
    pub polled: u64,
    /// Records final reads returned.
    pub final_read: u64,
    /// Consumer position resets.
    pub resets: u64,
    /// Elections after a partition's first: failovers, not the boot election.
    pub failovers: u64,
    /// Elections by kind (`Isr`, `Elr`, `LastKnownLeader`, `Unclean`), the first included.
    pub elections_by_kind: BTreeMap<String, u64>,
    /// Replica truncations (by leader epoch or by log recovery).
    pub truncations: u64,
    /// Restarts whose log recovery cut a torn or corrupt tail.
    pub recovery_cuts: u64,
    /// Committed ISR shrinks.
    pub isr_shrinks: u64,
    /// Committed ISR expansions.
    pub isr_expansions: u64,
    /// Brokers fenced by session expiry.
    pub fenced: u64,
    /// Node crashes (process crashes and power losses).
    pub crashes: u64,
    /// Power losses.
    pub power_losses: u64,
    /// Clean shutdowns.
    pub stops: u64,
    /// Bytes disk faults reported changed or lost (power losses, failed syncs, bit flips).
    pub disk_bytes_lost: u64,
    /// Ranges of offsets compared for log matching.
    pub log_matching_checks: u64,
}

/// One replica after the settle phase.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct ReplicaAtRest {
    /// The partition.
    pub partition: PartitionRef,
    /// The broker hosting it.
    pub broker: i32,
    /// What it holds, or why it could not be read (a down broker, a read error).
    pub contents: Result<ReplicaContents, String>,
}

/// A replica's log, summarised.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
pub struct ReplicaContents {
    /// Its log end offset.
    pub log_end_offset: i64,
    /// Its high watermark.
    pub high_watermark: i64,
    /// A hash of every byte of its log.
    pub digest: u64,
}

/// The replicas' state after the settle phase: every assigned replica of every partition.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
pub struct Quiescence {
    /// Every replica.
    pub replicas: Vec<ReplicaAtRest>,
}

/// The oracle's judgement of a run.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
pub struct Verdict {
    /// Broken invariants, in the order found.
    pub violations: Vec<Violation>,
    /// Losses the durability rule allows, each with its chain.
    pub allowed_losses: Vec<AllowedLoss>,
    /// Anomalies that follow from an allowed loss in their partition (the new leader
    /// reusing the lost offsets), reported as its consequences.
    pub consequences: Vec<Violation>,
    /// Findings excused by the run's fault budget (a replica on a damaged disk), with why.
    pub excused: Vec<String>,
    /// What the run did.
    pub counts: Counts,
}

impl Verdict {
    /// Whether nothing broke.
    pub fn is_clean(&self) -> bool {
        self.violations.is_empty()
    }

    /// Files `violation`, found at `offset` of `partition`: a consequence if an allowed
    /// loss in that partition covers the offset.
    pub(crate) fn push(&mut self, partition: &PartitionRef, offset: i64, violation: Violation) {
        let follows = (self.allowed_losses.iter())
            .any(|loss| loss.partition == *partition && loss.offset <= offset);
        if follows {
            self.consequences.push(violation);
        } else {
            self.violations.push(violation);
        }
    }
}

impl fmt::Display for Verdict {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        for violation in &self.violations {
            writeln!(f, "violation: {violation}")?;
        }
        for loss in &self.allowed_losses {
            writeln!(f, "{loss}")?;
        }
        for consequence in &self.consequences {
            writeln!(f, "consequence of an allowed loss: {consequence}")?;
        }
        for excused in &self.excused {
            writeln!(f, "excused: {excused}")?;
        }
        Ok(())
    }
}
