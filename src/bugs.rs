//! The bug zoo: historical Kafka bugs (and plausible ones) as switches, each changing the
//! one decision the historical code got wrong. They are the oracle's proof that it can
//! fail: a run with a switch on must be caught by the invariant [`Bug::expected`] names,
//! judged from the history and observations alone (the oracle never reads a switch), and a
//! run with faults off must stay clean whatever the switches.
//!
//! [`Bugs`] is the serde value a run carries; [`Bug::ALL`] with [`Bug::description`],
//! [`Bug::expected`] and [`Bug::source`] is the catalogue the command line lists.

use std::collections::BTreeSet;
use std::fmt;

use odradek_invariants::Invariant;
use serde::{Deserialize, Serialize};

/// One switch.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum Bug {
    /// A follower truncates to its high watermark when it starts following (pre-KIP-101).
    TruncateToHw,
    /// Truncation by leader epoch without KIP-279: a follower whose latest epoch the leader
    /// lacks falls back to its high watermark instead of using the leader's answer for an
    /// earlier epoch.
    Kip101WithoutKip279,
    /// No leader-epoch fencing on followers' fetches and truncation requests (KIP-279
    /// without KIP-320): a follower on a stale epoch is served and counted.
    NoEpochFencing,
    /// A follower that sees the same leader with a higher epoch does not truncate again
    /// (KAFKA-7164).
    SameLeaderSkipsTruncation,
    /// The leader computes its high watermark over a proposed (shrunk) ISR rather than the
    /// maximal one.
    HwOverProposedIsr,
    /// acks=all neither requires `min.insync.replicas` at append nor gates the high
    /// watermark on it (pre-KIP-966 both ways).
    NoMinIsrCheck,
    /// No ELR: the ISR shrinks to its last member, which stays eligible through a lossy
    /// restart and is re-elected (before KIP-966).
    LastReplicaStanding,
    /// With unclean election disabled, the controller still elects outside the ISR and ELR
    /// and records the election as a clean one.
    UncleanElection,
    /// The broker skips the idempotent producer's sequence check and dedup window.
    NoIdempotentDedup,
    /// The producer gives a retried batch a new sequence.
    ReassignSequenceOnRetry,
    /// The producer completes acks=all sends at the leader's append.
    AcksAllAtLeaderAppend,
}

impl Bug {
    /// Every switch: the nine of the server, then the two of the producer.
    pub const ALL: [Bug; 11] = [
        Bug::TruncateToHw,
        Bug::Kip101WithoutKip279,
        Bug::NoEpochFencing,
        Bug::SameLeaderSkipsTruncation,
        Bug::HwOverProposedIsr,
        Bug::NoMinIsrCheck,
        Bug::LastReplicaStanding,
        Bug::UncleanElection,
        Bug::NoIdempotentDedup,
        Bug::ReassignSequenceOnRetry,
        Bug::AcksAllAtLeaderAppend,
    ];

    /// The name seeds, scenarios and the command line use.
    pub fn name(self) -> &'static str {
        match self {
            Bug::TruncateToHw => "truncate_to_hw",
            Bug::Kip101WithoutKip279 => "kip101_without_kip279",
            Bug::NoEpochFencing => "no_epoch_fencing",
            Bug::SameLeaderSkipsTruncation => "same_leader_skips_truncation",
            Bug::HwOverProposedIsr => "hw_over_proposed_isr",
            Bug::NoMinIsrCheck => "no_min_isr_check",
            Bug::LastReplicaStanding => "last_replica_standing",
            Bug::UncleanElection => "unclean_election",
            Bug::NoIdempotentDedup => "no_idempotent_dedup",
            Bug::ReassignSequenceOnRetry => "reassign_sequence_on_retry",
            Bug::AcksAllAtLeaderAppend => "acks_all_at_leader_append",
        }
    }

    /// The switch of a name, as [`Bug::name`] spells it.
    pub fn from_name(name: &str) -> Option<Bug> {
        Bug::ALL.into_iter().find(|bug| bug.name() == name)
    }

    /// What the switch does, in one line.
    pub fn description(self) -> &'static str {
        match self {
            Bug::TruncateToHw => {
                "a follower truncates to its high watermark when it starts following"
            }
            Bug::Kip101WithoutKip279 => {
                "an epoch the leader lacks makes the follower fall back to its high watermark"
            }
            Bug::NoEpochFencing => {
                "fetches unfenced by leader epoch; stale followers count for the high watermark"
            }
            Bug::SameLeaderSkipsTruncation => {
                "a follower skips truncation when the same leader returns with a higher epoch"
            }
            Bug::HwOverProposedIsr => "the high watermark runs over a proposed ISR shrink",
            Bug::NoMinIsrCheck => {
                "acks=all ignores min.insync.replicas at append and at the high watermark"
            }
            Bug::LastReplicaStanding => {
                "no ELR: the last ISR member stays eligible through a lossy restart"
            }
            Bug::UncleanElection => {
                "the controller elects outside the ISR and ELR and calls it clean"
            }
            Bug::NoIdempotentDedup => "the broker skips the idempotent producer's sequence check",
            Bug::ReassignSequenceOnRetry => "the producer gives a retried batch a new sequence",
            Bug::AcksAllAtLeaderAppend => "the producer completes acks=all sends at leader append",
        }
    }

    /// The invariant expected to catch it first: a step invariant that stops the run before
    /// the loss it leads to is judged, where there is one.
    pub fn expected(self) -> Invariant {
        match self {
            Bug::UncleanElection | Bug::LastReplicaStanding => Invariant::UncleanLeader,
            Bug::NoMinIsrCheck
            | Bug::TruncateToHw
            | Bug::Kip101WithoutKip279
            | Bug::NoEpochFencing
            | Bug::SameLeaderSkipsTruncation => Invariant::LogDivergence,
            Bug::HwOverProposedIsr => Invariant::StrongIsr,
            Bug::NoIdempotentDedup | Bug::ReassignSequenceOnRetry => Invariant::Duplicate,
            Bug::AcksAllAtLeaderAppend => Invariant::LostWrite,
        }
    }

    /// Where it comes from.
    pub fn source(self) -> &'static str {
        match self {
            Bug::TruncateToHw => {
                "KIP-101; hachikuji/kafka-specification KafkaTruncateToHighWatermark.tla"
            }
            Bug::Kip101WithoutKip279 => "KIP-279; kafka-specification Kip101.tla",
            Bug::NoEpochFencing => "KIP-320; kafka-specification Kip279.tla",
            Bug::SameLeaderSkipsTruncation => "KAFKA-7164",
            Bug::HwOverProposedIsr => "plausible: KIP-966's maximal ISR rule",
            Bug::NoMinIsrCheck => "plausible: min.insync.replicas unenforced; KIP-966",
            Bug::LastReplicaStanding => "KIP-966 (last replica standing)",
            Bug::UncleanElection => "Jepsen 2013 (Kafka); unclean.leader.election.enable",
            Bug::NoIdempotentDedup => "plausible: KIP-98's sequence check",
            Bug::ReassignSequenceOnRetry => "plausible: KIP-98; the client never re-sequences",
            Bug::AcksAllAtLeaderAppend => "plausible: acks=all semantics",
        }
    }
}

impl fmt::Display for Bug {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.name())
    }
}

/// The switches a run has on: none by default.
#[derive(Debug, Clone, Default, PartialEq, Eq, Hash, Serialize, Deserialize)]
pub struct Bugs(BTreeSet<Bug>);

impl Bugs {
    /// Only `bug` on.
    pub fn only(bug: Bug) -> Bugs {
        Bugs([bug].into())
    }

    /// Whether `bug` is on.
    pub fn on(&self, bug: Bug) -> bool {
        self.0.contains(&bug)
    }

    /// Every switch on, in catalogue order.
    pub fn iter(&self) -> impl Iterator<Item = Bug> + '_ {
        self.0.iter().copied()
    }
}

impl FromIterator<Bug> for Bugs {
    fn from_iter<I: IntoIterator<Item = Bug>>(bugs: I) -> Bugs {
        Bugs(bugs.into_iter().collect())
    }
}
