//! One entry of a run's observation log, as the oracle reads it: what a node reported, or
//! what the world did to a node (a disk fault, a crash, a restart), stamped with virtual
//! time. A driver converts its own log into these; the oracle needs nothing else.

use serde::{Deserialize, Serialize};

use crate::observation::Observation;

/// One logged fact.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Entry {
    /// Virtual time, in microseconds.
    pub time_us: u64,
    /// The node concerned. Brokers' node ids are their broker ids.
    pub node: i32,
    /// What happened.
    pub event: Event,
}

/// What an entry records.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub enum Event {
    /// The node reported this.
    Node(Observation),
    /// A fault touched bytes `start..end` of `file` on the node's disk.
    DiskFault {
        /// The file's name then (a partition's files live under `topic-partition/`).
        file: String,
        /// First byte touched.
        start: u64,
        /// One past the last byte touched.
        end: u64,
        /// What happened to them.
        kind: DiskFaultKind,
    },
    /// The node went down.
    Crashed {
        /// A power loss (the page cache was lost), not a process crash.
        power_loss: bool,
        /// The node asked for it (after a disk error).
        halted: bool,
    },
    /// The node started afresh.
    Restarted,
    /// The node finished a clean shutdown (a controlled shutdown, for a broker) and went
    /// down.
    Stopped,
}

/// What a disk fault did to the bytes it reports.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize)]
pub enum DiskFaultKind {
    /// A power loss changed or removed them.
    PowerLoss,
    /// Reads of them fail.
    ReadError,
    /// A bit in them flipped.
    BitFlip,
    /// A failed sync dropped them from writeback.
    SyncFailed,
}

impl DiskFaultKind {
    /// Whether the bytes may be gone or wrong after a restart.
    pub fn loses_data(self) -> bool {
        self != DiskFaultKind::ReadError
    }
}
