//! Effects: what applying one event did, in order, for the driver to schedule and log.
//!
//! The world holds only what the protocol sees; when things happen is the driver's
//! business. The simulation driver turns `Sent` into an arrival time and `TimerSet` into a
//! deadline, and logs observations and disk faults; the explorer needs none of it.

use crate::address::{ConnId, NodeId, StreamId};
use crate::fault::CrashMode;
use crate::node::Node;
use crate::sim_disk::FaultReport;

/// One consequence of an event.
#[derive(Debug, Clone)]
pub enum Effect<N: Node> {
    /// A message was appended to the stream.
    Sent(StreamId),
    /// The connection was reset; both its streams were emptied.
    Closed(ConnId),
    /// The node armed (or re-armed) a timer.
    TimerSet {
        /// The node.
        node: NodeId,
        /// The timer.
        timer: N::Timer,
        /// After how long, on the node's clock.
        delay_ms: u64,
        /// Up to how much later, drawn by the driver.
        jitter_ms: u64,
    },
    /// The node disarmed a timer that was armed.
    TimerCancelled {
        /// The node.
        node: NodeId,
        /// The timer.
        timer: N::Timer,
    },
    /// The node reported an observation.
    Observed {
        /// The node.
        node: NodeId,
        /// What it reported.
        obs: N::Obs,
    },
    /// A fault touched the node's disk.
    DiskFault {
        /// The node.
        node: NodeId,
        /// Which bytes of which file, and how.
        report: FaultReport,
    },
    /// The node went down; its timers are gone.
    Crashed {
        /// The node.
        node: NodeId,
        /// How.
        mode: CrashMode,
        /// Whether the node asked for it with `ctx.halt()`.
        halted: bool,
    },
    /// The node started afresh.
    Restarted {
        /// The node.
        node: NodeId,
    },
    /// The node finished a clean shutdown and went down; its timers are gone.
    Stopped {
        /// The node.
        node: NodeId,
    },
}
