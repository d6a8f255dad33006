//! The client history: each operation's invoke and completion, as Jepsen records them.
//!
//! A send is ok (with its offset), definitely failed (the records were not appended), or
//! indeterminate (they may or may not have been). Workload values are unique, so a checker
//! can find every record in the final read by value alone.

use serde::{Deserialize, Serialize};

use crate::PartitionRef;

/// One entry of a client's history.
#[derive(Debug, Clone, PartialEq, Eq, Hash, Serialize, Deserialize)]
pub enum HistoryEvent {
    /// The client began an operation.
    Invoke(Operation),
    /// An operation the client began has ended.
    Complete(Completion),
    /// The final read of a partition after the settle phase: what it holds, in offset
    /// order, up to its high watermark.
    FinalRead {
        /// The partition read.
        partition: PartitionRef,
        /// Every record read, in offset order.
        records: Vec<ReadRecord>,
        /// The high watermark the read stopped at.
        high_watermark: i64,
    },
    /// A consumer's poll handed out records of one partition, in offset order. Polls of a
    /// partition continue one another: the next poll starts where this one ended, unless a
    /// [`HistoryEvent::Reset`] of the partition comes between (poll-skip and
    /// nonmonotonic-poll are judged on this stream).
    Poll {
        /// The partition read.
        partition: PartitionRef,
        /// The records, in offset order.
        records: Vec<ReadRecord>,
    },
    /// A consumer's position was out of range and `auto.offset.reset` moved it: the
    /// records between `from` and `to` were skipped (or will be read again) on purpose,
    /// for example after an allowed loss truncated the log below the position.
    Reset {
        /// The partition.
        partition: PartitionRef,
        /// The position the broker refused.
        from: i64,
        /// The position after the reset.
        to: i64,
    },
}

/// An operation a client invokes.
#[derive(Debug, Clone, PartialEq, Eq, Hash, Serialize, Deserialize)]
pub enum Operation {
    /// Produce one record holding `value`.
    Send {
        /// The workload's unique value.
        value: u64,
        /// Where it goes.
        partition: PartitionRef,
        /// The acks setting: -1 (all), 0 or 1.
        acks: i16,
    },
}

/// How an operation ended.
#[derive(Debug, Clone, PartialEq, Eq, Hash, Serialize, Deserialize)]
pub struct Completion {
    /// The value of the send that completed.
    pub value: u64,
    /// What the client learned.
    pub outcome: SendOutcome,
}

/// The outcome of a send.
#[derive(Debug, Clone, PartialEq, Eq, Hash, Serialize, Deserialize)]
pub enum SendOutcome {
    /// Acknowledged at `offset` (-1 for acks=0).
    Ok {
        /// The record's offset.
        offset: i64,
    },
    /// Definitely not appended: NOT_ENOUGH_REPLICAS, NOT_LEADER_OR_FOLLOWER,
    /// OUT_OF_ORDER_SEQUENCE_NUMBER, and no earlier attempt's outcome was unknown.
    Failed {
        /// Kafka's error name.
        error: String,
    },
    /// May or may not have been appended: a timeout after sending, a reset connection,
    /// NOT_ENOUGH_REPLICAS_AFTER_APPEND, or the run ended first.
    Indeterminate {
        /// Why the outcome is unknown.
        reason: String,
    },
}

/// One record of a read.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize)]
pub struct ReadRecord {
    /// Its offset.
    pub offset: i64,
    /// The workload value it holds.
    pub value: u64,
}
