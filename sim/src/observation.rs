//! The observation log: what nodes reported and what happened to them, beside the world.
//!
//! Checkers read this log, never the hashed world state: it holds each node's
//! observations, every disk fault report (so a checker knows exactly which bytes each disk
//! lost), and every crash and restart, each stamped with virtual time.

use serde::Serialize;

use crate::address::NodeId;
use crate::fault::CrashMode;
use crate::sim_disk::FaultReport;

/// One logged fact.
#[derive(Debug, Clone, PartialEq, Eq, Hash, Serialize)]
pub struct Observation<O> {
    /// Virtual time, in microseconds.
    pub time_us: u64,
    /// The node concerned.
    pub node: NodeId,
    /// What happened.
    pub what: Observed<O>,
}

/// What a log entry records.
#[derive(Debug, Clone, PartialEq, Eq, Hash, Serialize)]
#[serde(rename_all = "snake_case")]
pub enum Observed<O> {
    /// The node reported this through `ctx.observe`.
    Node(O),
    /// A fault touched these bytes of the node's disk.
    DiskFault(FaultReport),
    /// The node went down.
    Crashed {
        /// Process crash or power loss.
        mode: CrashMode,
        /// Whether the node asked for it with `ctx.halt()`.
        halted: bool,
    },
    /// The node started afresh.
    Restarted,
    /// The node finished a clean shutdown and went down.
    Stopped,
}
