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
//! - [`Oracle`]: the checkers. Fed [`Entry`]s as a run writes them, it judges the step
//!   invariants at once ([`Oracle::observe`]); after the settle phase and the final read
//!   it judges the history invariants against the replicas at rest ([`Oracle::finish`])
//!   and returns a [`Verdict`]: violations named by [`Invariant`], allowed losses with
//!   their causal chains, and the counts a test puts floors on.
//!
//! One module per group of invariants: `durability`, `consistency`, `order`, `reads`,
//! `epochs`, `liveness`. The types are serde values so a history can be saved beside a
//! failing seed.
//!
//! ```
//! use odradek_invariants::*;
//!
//! let config = OracleConfig {
//!     min_insync_replicas: 2,
//!     unclean_leader_election_enable: false,
//!     idempotent: true,
//!     ordered_sends: true,
//! };
//! let mut oracle = Oracle::new(config);
//! let p = PartitionRef { topic: "t".into(), partition: 0 };
//! let leader = |epoch| Observation::BecameLeader {
//!     partition: p.clone(),
//!     leader_epoch: epoch,
//!     start_offset: 0,
//!     isr: vec![1, 2],
//! };
//! let entry = |node, obs| Entry { time_us: 5_000, node, event: Event::Node(obs) };
//! oracle.observe(&entry(1, leader(1))).unwrap();
//! let violation = oracle.observe(&entry(2, leader(1))).unwrap_err();
//! assert_eq!(violation.invariant, Invariant::TwoLeaders);
//! assert_eq!(
//!     violation.to_string(),
//!     "two-leaders: two brokers led one epoch. partition=t-0 epoch=1 first=n1 second=n2 time_ms=5"
//! );
//! ```

#![warn(missing_docs, unreachable_pub)]

mod consistency;
mod durability;
mod entry;
mod epochs;
pub mod history;
mod invariant;
mod liveness;
mod model;
pub mod observation;
mod oracle;
mod order;
mod reads;
mod verdict;
mod violation;

pub use entry::{DiskFaultKind, Entry, Event};
pub use history::{Completion, HistoryEvent, Operation, ReadRecord, SendOutcome};
pub use invariant::{Group, Invariant};
pub use observation::{ElectionKind, Observation, RecoveryCut, TruncationCause};
pub use oracle::{Oracle, OracleConfig};
pub use verdict::{Counts, Quiescence, ReplicaAtRest, ReplicaContents, Verdict};
pub use violation::{partition_name, AllowedLoss, Violation};

use serde::{Deserialize, Serialize};

/// A partition of a topic, as the history and observations name it.
#[derive(Debug, Clone, PartialEq, Eq, Hash, PartialOrd, Ord, Serialize, Deserialize)]
pub struct PartitionRef {
    /// The topic, shared (see the broker's `TopicPartition`).
    pub topic: std::sync::Arc<str>,
    /// The partition index.
    pub partition: i32,
}
