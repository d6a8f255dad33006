//! What nodes observe about themselves as a run goes: the replica and controller events the
//! durability, consistency and epoch invariants are judged on. Crashes and exactly what
//! each disk lost are logged by the engine beside these.

use serde::{Deserialize, Serialize};

use crate::history::HistoryEvent;
use crate::PartitionRef;

/// One observation a node reports.
#[derive(Debug, Clone, PartialEq, Eq, Hash, Serialize, Deserialize)]
pub enum Observation {
    /// A client's history entry.
    History(HistoryEvent),
    /// A replica appended records.
    Appended {
        /// The partition.
        partition: PartitionRef,
        /// First offset appended.
        first_offset: i64,
        /// Last offset appended.
        last_offset: i64,
        /// The leader epoch of the batches (the leader's, as a leader).
        leader_epoch: i32,
        /// Whether it appended as the leader.
        as_leader: bool,
    },
    /// A replica removed records from the end of its log.
    Truncated {
        /// The partition.
        partition: PartitionRef,
        /// Log end offset before.
        from_offset: i64,
        /// Log end offset after.
        to_offset: i64,
        /// Why.
        cause: TruncationCause,
    },
    /// A replica's high watermark moved.
    HighWatermark {
        /// The partition.
        partition: PartitionRef,
        /// The new value.
        high_watermark: i64,
        /// The replica's leader epoch.
        leader_epoch: i32,
        /// Whether the replica leads that epoch.
        as_leader: bool,
    },
    /// A broker started leading a partition.
    BecameLeader {
        /// The partition.
        partition: PartitionRef,
        /// The epoch it leads.
        leader_epoch: i32,
        /// Its log end offset then: the epoch's start offset.
        start_offset: i64,
        /// The ISR it was given.
        isr: Vec<i32>,
    },
    /// A broker started following a leader (or lost its leader).
    BecameFollower {
        /// The partition.
        partition: PartitionRef,
        /// The leader, if any.
        leader: Option<i32>,
        /// The epoch.
        leader_epoch: i32,
    },
    /// A replica's log was opened at startup.
    Recovered {
        /// The partition.
        partition: PartitionRef,
        /// Log end offset after recovery.
        log_end_offset: i64,
        /// High watermark loaded.
        high_watermark: i64,
        /// Whether the previous shutdown was clean.
        clean_shutdown: bool,
        /// Where the log's own recovery cut a torn or corrupt tail, and how many bytes it
        /// dropped: what this replica lost at its last crash, as far as its files show.
        recovery_cut: Option<RecoveryCut>,
    },
    /// The controller elected a leader.
    LeaderElected {
        /// The partition.
        partition: PartitionRef,
        /// The new leader.
        leader: i32,
        /// The new leader epoch.
        leader_epoch: i32,
        /// From which set it was drawn.
        kind: ElectionKind,
    },
    /// The controller committed a partition change (ISR, ELR or leader).
    PartitionChanged {
        /// The partition.
        partition: PartitionRef,
        /// Leader, if any.
        leader: Option<i32>,
        /// Leader epoch.
        leader_epoch: i32,
        /// Partition epoch.
        partition_epoch: i32,
        /// In-sync replicas.
        isr: Vec<i32>,
        /// Eligible leader replicas (KIP-966).
        elr: Vec<i32>,
    },
    /// The controller registered a broker with a new broker epoch.
    BrokerRegistered {
        /// The broker.
        broker: i32,
        /// Its new epoch.
        broker_epoch: i64,
        /// Whether it said its shutdown was clean.
        clean: bool,
    },
    /// The controller fenced a broker whose session expired.
    BrokerFenced {
        /// The broker.
        broker: i32,
    },
    /// A node stopped itself after a disk error.
    Halted {
        /// The error.
        reason: String,
    },
    /// The controller took a broker out of service at its request (a controlled
    /// shutdown): it left every ISR by KIP-966's rule, staying eligible, and leads nothing.
    ControlledShutdown {
        /// The broker.
        broker: i32,
    },
}

/// Why a replica truncated.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize)]
pub enum TruncationCause {
    /// Divergence found by OffsetsForLeaderEpoch (KIP-101/279).
    LeaderEpoch,
    /// A corrupt batch found while scanning the log at startup.
    Corruption,
}

/// A torn or corrupt tail that log recovery cut at startup. The offsets past the cut are
/// unknown (their bytes were damaged), so it reports bytes, not a former log end offset.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize)]
pub struct RecoveryCut {
    /// The log end offset after the cut.
    pub offset: i64,
    /// Bytes dropped.
    pub bytes: u64,
}

/// Where the controller found a new leader.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord, Serialize, Deserialize)]
pub enum ElectionKind {
    /// From the ISR.
    Isr,
    /// From the eligible leader replicas (KIP-966).
    Elr,
    /// The last known leader after an unclean restart, with possible loss (KIP-966's
    /// balanced recovery).
    LastKnownLeader,
    /// From outside the ISR, because unclean election is enabled.
    Unclean,
}
