//! Odradek's oracle: history types and checkers for Kafka-style replicated logs.
//!
//! Pure functions over client histories and replica observations. This crate depends on
//! neither the system under test (`odradek`) nor the engine (`odradek-sim`), so a checker
//! can never read a bug-zoo switch or engine state: it judges only what was observed.
//!
//! - [`history`]: what clients did, Jepsen style: each operation's invoke and completion,
//!   each consumer poll and reset, and the final read of every partition.
//! - [`observation`]: what nodes report as it happens: appends, truncations, high
//!   watermarks, leadership, ISR and epoch changes, recoveries.
//!
//! The general checkers arrive in a later step; the types are serde values so a history
//! can be saved beside a failing seed.

#![warn(missing_docs, unreachable_pub)]

pub mod history;
pub mod observation;

pub use history::{Completion, HistoryEvent, Operation, ReadRecord, SendOutcome};
pub use observation::{ElectionKind, Observation, RecoveryCut, TruncationCause};

use serde::{Deserialize, Serialize};

/// A partition of a topic, as the history and observations name it.
#[derive(Debug, Clone, PartialEq, Eq, Hash, PartialOrd, Ord, Serialize, Deserialize)]
pub struct PartitionRef {
    /// The topic.
    pub topic: String,
    /// The partition index.
    pub partition: i32,
}
