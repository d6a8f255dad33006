//! The fault vocabulary: every way the world can be attacked or healed, as plain data.
//!
//! Faults come in paired verbs (partition/heal, hold/release, crash/restart,
//! pause/resume). A fault is an event like any other (see [`crate::Event`]): the nemesis
//! schedules them, the explorer may enumerate some, and the trace records each one.

use serde::{Deserialize, Serialize};

use crate::address::{Channel, NodeId};
use crate::sim_disk::PowerLoss;

/// How a node goes down.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord, Serialize, Deserialize)]
pub enum CrashMode {
    /// The process dies; the OS lives on. The disk's page cache survives and the node's
    /// connections are reset at once, so peers get `on_disconnect`.
    Process,
    /// The machine loses power. The disk applies the mode to what is pending, and the
    /// node's connections stay half-open: peers notice only by their own timeouts, or
    /// when the node restarts.
    PowerLoss(PowerLoss),
}

/// One fault or its healing.
#[derive(Debug, Clone, PartialEq, Eq, Hash, Serialize, Deserialize)]
pub enum Fault {
    /// Crashes a running or paused node.
    Crash {
        /// The victim.
        node: NodeId,
        /// Process crash or power loss.
        mode: CrashMode,
    },
    /// Starts a down node afresh from its configuration (also how every node boots).
    /// Connections a power loss left half-open are reset; connections peers dialed while
    /// it was down survive, as a retried SYN would.
    Restart {
        /// The node.
        node: NodeId,
    },
    /// Stops a node's handlers (SIGSTOP): its messages and timers wait.
    Pause {
        /// The node.
        node: NodeId,
    },
    /// Resumes a paused node; overdue timers fire and owed disconnects arrive.
    Resume {
        /// The node.
        node: NodeId,
    },
    /// Cuts every link between `side` and the other nodes, both ways.
    Partition {
        /// One side of the cut.
        side: Vec<NodeId>,
    },
    /// Cuts links from every node of `from` to every node of `to`, one way only.
    PartitionOneWay {
        /// Senders whose messages stop.
        from: Vec<NodeId>,
        /// Receivers that stop hearing them.
        to: Vec<NodeId>,
    },
    /// Cuts `node` off from every other node.
    Isolate {
        /// The node.
        node: NodeId,
    },
    /// Cuts `left` from `right` both ways, while `bridge` still talks to both.
    Bridge {
        /// One half.
        left: Vec<NodeId>,
        /// The node in the middle.
        bridge: NodeId,
        /// The other half.
        right: Vec<NodeId>,
    },
    /// Restores every cut link.
    HealPartitions,
    /// Holds the streams from `from` to `to` (on `channel`, or on every channel): messages
    /// queue behind the head until released, as on a stalled TCP connection.
    Hold {
        /// Sender.
        from: NodeId,
        /// Receiver.
        to: NodeId,
        /// One channel, or all.
        channel: Option<Channel>,
    },
    /// Undoes the matching `Hold`.
    Release {
        /// Sender.
        from: NodeId,
        /// Receiver.
        to: NodeId,
        /// One channel, or all.
        channel: Option<Channel>,
    },
    /// Holds every matching stream from its first message of `kind` on (delayed acks).
    HoldKind {
        /// The `Message::kind` to stop at.
        kind: String,
        /// Only streams from this node, or from any.
        from: Option<NodeId>,
        /// Only streams to this node, or to any.
        to: Option<NodeId>,
    },
    /// Undoes the matching `HoldKind`.
    ReleaseKind {
        /// The kind.
        kind: String,
        /// As given to `HoldKind`.
        from: Option<NodeId>,
        /// As given to `HoldKind`.
        to: Option<NodeId>,
    },
    /// Resets every connection between `a` and `b`: in-flight messages are lost and both
    /// ends get `on_disconnect`.
    Reset {
        /// One node.
        a: NodeId,
        /// The other.
        b: NodeId,
    },
    /// Adds `extra_ms` to the latency of every message from `from` to `to` (0 restores).
    SlowLink {
        /// Sender.
        from: NodeId,
        /// Receiver.
        to: NodeId,
        /// Added latency.
        extra_ms: u64,
    },
    /// Heals every network fault: cuts, holds, kind holds and slow links.
    HealNetwork,
    /// Flips one chosen bit of one chosen file of the node's disk.
    FlipBit {
        /// The node.
        node: NodeId,
    },
    /// Makes reads of a chosen range of a chosen file fail until healed.
    ReadError {
        /// The node.
        node: NodeId,
    },
    /// Makes the node's next `sync` fail, with Linux's semantics.
    FailSync {
        /// The node.
        node: NodeId,
    },
    /// Fills the node's disk: writes that would take it past `headroom_bytes` more than
    /// it holds now fail.
    FillDisk {
        /// The node.
        node: NodeId,
        /// Bytes that may still be written.
        headroom_bytes: u64,
    },
    /// Removes the node's read errors, armed sync failures and capacity limit.
    HealDisk {
        /// The node.
        node: NodeId,
    },
    /// Sets how fast the node's clock runs: its timers take `1 / (1 + drift_ppm / 10^6)`
    /// of their nominal time.
    Drift {
        /// The node.
        node: NodeId,
        /// Parts per million; positive runs fast.
        drift_ppm: i32,
    },
    /// Moves the node's wall clock (timestamps only; timers are unaffected).
    Jump {
        /// The node.
        node: NodeId,
        /// How far, either way.
        delta_ms: i64,
    },
    /// Sets the node's drift back to zero (a jumped wall clock stays where it is).
    HealClock {
        /// The node.
        node: NodeId,
    },
    /// Asks a node to shut down cleanly (its `on_stop`); it goes down when it says it is
    /// done (`ctx.exit()`), and stays down until a `Restart`. Paired with `Restart`.
    Stop {
        /// The node.
        node: NodeId,
    },
}

impl Fault {
    /// The names of the faults that inject something, as [`Fault::name`] spells them: every
    /// kind but the restarts, resumes, releases and heals that undo one.
    pub const INJECTORS: [&'static str; 18] = [
        "crash",
        "power_loss",
        "stop",
        "pause",
        "partition",
        "partition_one_way",
        "isolate",
        "bridge",
        "hold",
        "hold_kind",
        "reset",
        "slow_link",
        "flip_bit",
        "read_error",
        "fail_sync",
        "fill_disk",
        "drift",
        "jump",
    ];

    /// A short static name for counting faults by kind (`"power_loss"`, `"partition"`).
    pub fn name(&self) -> &'static str {
        match self {
            Fault::Crash {
                mode: CrashMode::Process,
                ..
            } => "crash",
            Fault::Crash {
                mode: CrashMode::PowerLoss(_),
                ..
            } => "power_loss",
            Fault::Restart { .. } => "restart",
            Fault::Pause { .. } => "pause",
            Fault::Resume { .. } => "resume",
            Fault::Partition { .. } => "partition",
            Fault::PartitionOneWay { .. } => "partition_one_way",
            Fault::Isolate { .. } => "isolate",
            Fault::Bridge { .. } => "bridge",
            Fault::HealPartitions => "heal_partitions",
            Fault::Hold { .. } => "hold",
            Fault::Release { .. } => "release",
            Fault::HoldKind { .. } => "hold_kind",
            Fault::ReleaseKind { .. } => "release_kind",
            Fault::Reset { .. } => "reset",
            Fault::SlowLink { .. } => "slow_link",
            Fault::HealNetwork => "heal_network",
            Fault::FlipBit { .. } => "flip_bit",
            Fault::ReadError { .. } => "read_error",
            Fault::FailSync { .. } => "fail_sync",
            Fault::FillDisk { .. } => "fill_disk",
            Fault::HealDisk { .. } => "heal_disk",
            Fault::Drift { .. } => "drift",
            Fault::Jump { .. } => "jump",
            Fault::HealClock { .. } => "heal_clock",
            Fault::Stop { .. } => "stop",
        }
    }

    /// Every node the fault names, for validation against the world.
    pub fn nodes(&self) -> Vec<NodeId> {
        match self {
            Fault::Crash { node, .. }
            | Fault::Restart { node }
            | Fault::Pause { node }
            | Fault::Resume { node }
            | Fault::Isolate { node }
            | Fault::FlipBit { node }
            | Fault::ReadError { node }
            | Fault::FailSync { node }
            | Fault::FillDisk { node, .. }
            | Fault::HealDisk { node }
            | Fault::Drift { node, .. }
            | Fault::Jump { node, .. }
            | Fault::HealClock { node }
            | Fault::Stop { node } => vec![*node],
            Fault::Partition { side } => side.clone(),
            Fault::PartitionOneWay { from, to } => from.iter().chain(to).copied().collect(),
            Fault::Bridge {
                left,
                bridge,
                right,
            } => left
                .iter()
                .chain(right)
                .chain(std::iter::once(bridge))
                .copied()
                .collect(),
            Fault::Hold { from, to, .. }
            | Fault::Release { from, to, .. }
            | Fault::SlowLink { from, to, .. } => vec![*from, *to],
            Fault::HoldKind { from, to, .. } | Fault::ReleaseKind { from, to, .. } => {
                from.iter().chain(to).copied().collect()
            }
            Fault::Reset { a, b } => vec![*a, *b],
            Fault::HealPartitions | Fault::HealNetwork => Vec::new(),
        }
    }

    /// Whether this fault ends `earlier`: a restart ends a crash or a stop of its node, a
    /// release its hold, a heal the cuts, slow links, disk or clock faults it heals. What
    /// shrinking keeps or drops together.
    pub fn undoes(&self, earlier: &Fault) -> bool {
        match (self, earlier) {
            (Fault::Restart { node }, Fault::Crash { node: n, .. } | Fault::Stop { node: n })
            | (Fault::Resume { node }, Fault::Pause { node: n })
            | (
                Fault::HealDisk { node },
                Fault::ReadError { node: n } | Fault::FillDisk { node: n, .. },
            )
            | (Fault::HealClock { node }, Fault::Drift { node: n, .. }) => node == n,
            (
                Fault::Release { from, to, channel },
                Fault::Hold {
                    from: f,
                    to: t,
                    channel: c,
                },
            ) => (from, to, channel) == (f, t, c),
            (
                Fault::ReleaseKind { kind, from, to },
                Fault::HoldKind {
                    kind: k,
                    from: f,
                    to: t,
                },
            ) => (kind, from, to) == (k, f, t),
            (
                Fault::SlowLink {
                    from,
                    to,
                    extra_ms: 0,
                },
                Fault::SlowLink {
                    from: f,
                    to: t,
                    extra_ms,
                },
            ) => *extra_ms > 0 && (from, to) == (f, t),
            (
                Fault::HealPartitions | Fault::HealNetwork,
                Fault::Partition { .. }
                | Fault::PartitionOneWay { .. }
                | Fault::Isolate { .. }
                | Fault::Bridge { .. },
            ) => true,
            (Fault::HealNetwork, Fault::Hold { .. } | Fault::HoldKind { .. }) => true,
            (Fault::HealNetwork, Fault::SlowLink { extra_ms, .. }) => *extra_ms > 0,
            _ => false,
        }
    }

    /// The fault with its nodes renamed by `rename`, which returns `None` for a node that
    /// is gone: a cut or partition loses the node from its sides, and a fault that needs it
    /// (or is left with an empty side) is gone too. How a system with one node fewer keeps
    /// the rest of a schedule.
    pub fn renamed(&self, rename: &dyn Fn(NodeId) -> Option<NodeId>) -> Option<Fault> {
        let all = |nodes: &[NodeId]| -> Option<Vec<NodeId>> {
            let kept: Vec<NodeId> = nodes.iter().filter_map(|&n| rename(n)).collect();
            (!kept.is_empty()).then_some(kept)
        };
        let maybe = |node: &Option<NodeId>| -> Option<Option<NodeId>> {
            match node {
                Some(node) => rename(*node).map(Some),
                None => Some(None),
            }
        };
        let mut fault = self.clone();
        match &mut fault {
            Fault::Crash { node, .. }
            | Fault::Restart { node }
            | Fault::Pause { node }
            | Fault::Resume { node }
            | Fault::Isolate { node }
            | Fault::FlipBit { node }
            | Fault::ReadError { node }
            | Fault::FailSync { node }
            | Fault::FillDisk { node, .. }
            | Fault::HealDisk { node }
            | Fault::Drift { node, .. }
            | Fault::Jump { node, .. }
            | Fault::HealClock { node }
            | Fault::Stop { node } => *node = rename(*node)?,
            Fault::Partition { side } => *side = all(side)?,
            Fault::PartitionOneWay { from, to } => {
                *from = all(from)?;
                *to = all(to)?;
            }
            Fault::Bridge {
                left,
                bridge,
                right,
            } => {
                *left = all(left)?;
                *bridge = rename(*bridge)?;
                *right = all(right)?;
            }
            Fault::Hold { from, to, .. }
            | Fault::Release { from, to, .. }
            | Fault::SlowLink { from, to, .. } => {
                *from = rename(*from)?;
                *to = rename(*to)?;
            }
            Fault::HoldKind { from, to, .. } | Fault::ReleaseKind { from, to, .. } => {
                *from = maybe(from)?;
                *to = maybe(to)?;
            }
            Fault::Reset { a, b } => {
                *a = rename(*a)?;
                *b = rename(*b)?;
            }
            Fault::HealPartitions | Fault::HealNetwork => {}
        }
        Some(fault)
    }

    /// The node the trace files the fault under, if it concerns one node.
    pub fn node(&self) -> Option<NodeId> {
        match self.nodes().as_slice() {
            [node] => Some(*node),
            _ => None,
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_fault_is_ended_by_its_own_undo_only() {
        let (n1, n2) = (NodeId(1), NodeId(2));
        let crash = Fault::Crash {
            node: n1,
            mode: CrashMode::Process,
        };
        assert!(Fault::Restart { node: n1 }.undoes(&crash));
        assert!(!Fault::Restart { node: n2 }.undoes(&crash));
        let hold = Fault::Hold {
            from: n1,
            to: n2,
            channel: None,
        };
        let release = |from, to| Fault::Release {
            from,
            to,
            channel: None,
        };
        assert!(release(n1, n2).undoes(&hold));
        assert!(!release(n2, n1).undoes(&hold));
        let slow = |extra_ms| Fault::SlowLink {
            from: n1,
            to: n2,
            extra_ms,
        };
        assert!(slow(0).undoes(&slow(30)) && !slow(30).undoes(&slow(0)));
        let cut = Fault::Isolate { node: n2 };
        assert!(Fault::HealPartitions.undoes(&cut) && Fault::HealNetwork.undoes(&hold));
        assert!(!Fault::HealPartitions.undoes(&hold));
    }

    #[test]
    fn renaming_drops_a_gone_node_from_sides_and_the_faults_that_need_it() {
        let gone = NodeId(3);
        let rename = |n: NodeId| match n.0.cmp(&gone.0) {
            std::cmp::Ordering::Less => Some(n),
            std::cmp::Ordering::Equal => None,
            std::cmp::Ordering::Greater => Some(NodeId(n.0 - 1)),
        };
        let nodes = |ids: &[u16]| ids.iter().map(|&i| NodeId(i)).collect::<Vec<_>>();
        let cut = Fault::PartitionOneWay {
            from: nodes(&[0, 3]),
            to: nodes(&[1, 4]),
        };
        let expected = Fault::PartitionOneWay {
            from: nodes(&[0]),
            to: nodes(&[1, 3]),
        };
        assert_eq!(cut.renamed(&rename), Some(expected));
        assert_eq!(Fault::Pause { node: gone }.renamed(&rename), None);
        let only_gone = Fault::Partition { side: vec![gone] };
        assert_eq!(only_gone.renamed(&rename), None);
        let kind = Fault::HoldKind {
            kind: "fetch_response".into(),
            from: None,
            to: Some(NodeId(5)),
        };
        let moved = Fault::HoldKind {
            kind: "fetch_response".into(),
            from: None,
            to: Some(NodeId(4)),
        };
        assert_eq!(kind.renamed(&rename), Some(moved));
    }
}
