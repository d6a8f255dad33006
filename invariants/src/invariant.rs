//! The invariants the oracle judges, by name. Jepsen's names where Jepsen's Kafka checker
//! has the anomaly (`jepsen/src/jepsen/tests/kafka.clj`); names in the same style for the
//! replication invariants of DESIGN's "History and invariants".

use std::fmt;

use serde::{Deserialize, Serialize};

/// One invariant. Its doc says where the name comes from and what breaks it.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord, Serialize, Deserialize)]
pub enum Invariant {
    /// Jepsen's `lost-write`, defined as DESIGN does (no later read is needed): an acked
    /// acks=all record is missing from its offset in the final read, without a causal
    /// chain that allows the loss.
    LostWrite,
    /// Jepsen's `unseen`: an acked record the final read holds, which the consumer never
    /// polled although its position passed the record's offset.
    Unseen,
    /// Jepsen's `duplicate`: one value read at two offsets (with idempotence on).
    Duplicate,
    /// Jepsen's `inconsistent-offsets`: reads returned two values at one offset.
    InconsistentOffsets,
    /// Jepsen's `poll-skip`: a consumer's polls of a partition skipped offsets, or a reset
    /// moved its position forward without an allowed loss or an out-of-range position to
    /// explain it.
    PollSkip,
    /// Jepsen's `nonmonotonic-poll`: a consumer's polls of a partition went back without a
    /// reset, or a reset moved back without an explanation.
    NonmonotonicPoll,
    /// Jepsen's `nonmonotonic-send`: one producer's acked sends to a partition landed out of
    /// send order, with idempotence on or one request in flight.
    NonmonotonicSend,
    /// Adya's `G1a` (aborted read), as Jepsen names it: a definitely failed send was read.
    G1a,
    /// Log matching: two replicas hold different batches (by leader epoch) at an offset
    /// below both their high watermarks.
    LogDivergence,
    /// Replicas of a partition are not byte-identical at quiescence (or one could not be
    /// read).
    ReplicasDiffer,
    /// StrongIsr, as the Kafka TLA+ specifications name it: a leader's high watermark
    /// passed an offset that a member of the committed ISR does not hold, outside a loss
    /// window of that member.
    StrongIsr,
    /// Two brokers led one partition in one leader epoch.
    TwoLeaders,
    /// A leader epoch went back: the controller's for a partition, or a running replica's.
    EpochRegression,
    /// A leader's high watermark went back within its epoch.
    HwRegression,
    /// A consumer read at or above the highest high watermark any leader had reached.
    ReadAboveHw,
    /// A consumer read a record at an offset the final read no longer reaches.
    ReadOfTruncated,
    /// A leader was elected outside the committed ISR and ELR (as the oracle re-derives
    /// them by KIP-966's rule), without the recorded last-known-leader fallback with both
    /// empty, or by an unclean election that is not enabled.
    UncleanLeader,
    /// Liveness: a send invoked before the end never completed.
    SendNeverCompleted,
    /// Liveness: after the settle phase a partition's ISR lacks a replica.
    IsrNotReformed,
    /// Liveness: after the settle phase a replica's log end offset or high watermark
    /// differs from its leader's.
    ReplicasNotConverged,
}

/// What a group of invariants is about.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord, Serialize, Deserialize)]
pub enum Group {
    /// Acked records survive.
    Durability,
    /// Offsets, records and replicas agree.
    Consistency,
    /// Sends and polls keep their order.
    Order,
    /// Reads see only committed, surviving, successful writes.
    Reads,
    /// Leaders, epochs and high watermarks.
    Epochs,
    /// Things finish after the faults heal.
    Liveness,
}

impl Invariant {
    /// Every invariant, in the order reports list them.
    pub const ALL: [Invariant; 20] = [
        Invariant::LostWrite,
        Invariant::Unseen,
        Invariant::Duplicate,
        Invariant::InconsistentOffsets,
        Invariant::PollSkip,
        Invariant::NonmonotonicPoll,
        Invariant::NonmonotonicSend,
        Invariant::G1a,
        Invariant::LogDivergence,
        Invariant::ReplicasDiffer,
        Invariant::StrongIsr,
        Invariant::TwoLeaders,
        Invariant::EpochRegression,
        Invariant::HwRegression,
        Invariant::ReadAboveHw,
        Invariant::ReadOfTruncated,
        Invariant::UncleanLeader,
        Invariant::SendNeverCompleted,
        Invariant::IsrNotReformed,
        Invariant::ReplicasNotConverged,
    ];

    /// The name reports print.
    pub fn name(self) -> &'static str {
        match self {
            Invariant::LostWrite => "lost-write",
            Invariant::Unseen => "unseen",
            Invariant::Duplicate => "duplicate",
            Invariant::InconsistentOffsets => "inconsistent-offsets",
            Invariant::PollSkip => "poll-skip",
            Invariant::NonmonotonicPoll => "nonmonotonic-poll",
            Invariant::NonmonotonicSend => "nonmonotonic-send",
            Invariant::G1a => "G1a",
            Invariant::LogDivergence => "log-divergence",
            Invariant::ReplicasDiffer => "replicas-differ",
            Invariant::StrongIsr => "strong-isr",
            Invariant::TwoLeaders => "two-leaders",
            Invariant::EpochRegression => "epoch-regression",
            Invariant::HwRegression => "hw-regression",
            Invariant::ReadAboveHw => "read-above-hw",
            Invariant::ReadOfTruncated => "read-of-truncated",
            Invariant::UncleanLeader => "unclean-leader",
            Invariant::SendNeverCompleted => "send-never-completed",
            Invariant::IsrNotReformed => "isr-not-reformed",
            Invariant::ReplicasNotConverged => "replicas-not-converged",
        }
    }

    /// The invariant of a name, as [`Invariant::name`] spells it.
    pub fn from_name(name: &str) -> Option<Invariant> {
        Invariant::ALL.into_iter().find(|i| i.name() == name)
    }

    /// Its group.
    pub fn group(self) -> Group {
        match self {
            Invariant::LostWrite | Invariant::Unseen => Group::Durability,
            Invariant::Duplicate
            | Invariant::InconsistentOffsets
            | Invariant::LogDivergence
            | Invariant::ReplicasDiffer
            | Invariant::StrongIsr => Group::Consistency,
            Invariant::PollSkip | Invariant::NonmonotonicPoll | Invariant::NonmonotonicSend => {
                Group::Order
            }
            Invariant::G1a | Invariant::ReadAboveHw | Invariant::ReadOfTruncated => Group::Reads,
            Invariant::TwoLeaders
            | Invariant::EpochRegression
            | Invariant::HwRegression
            | Invariant::UncleanLeader => Group::Epochs,
            Invariant::SendNeverCompleted
            | Invariant::IsrNotReformed
            | Invariant::ReplicasNotConverged => Group::Liveness,
        }
    }
}

impl fmt::Display for Invariant {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.name())
    }
}
