//! Events: the transitions of the world, and why one may be refused.
//!
//! An event is deliver the next message of a stream, fire an armed timer, or a fault
//! (which includes crash, restart, pause and resume). [`crate::World::apply`] applies one;
//! the simulation driver picks them by virtual time, the explorer enumerates them.

use serde::{Deserialize, Serialize};

use crate::address::{NodeId, StreamId};
use crate::fault::Fault;

/// One transition of the world. `T` is the system's timer type.
#[derive(Debug, Clone, PartialEq, Eq, Hash, Serialize, Deserialize)]
pub enum Event<T> {
    /// Deliver the head message of the stream to its receiver.
    Deliver(StreamId),
    /// Fire the node's armed timer.
    Fire {
        /// The node.
        node: NodeId,
        /// Which of its timers.
        timer: T,
    },
    /// Inject or heal a fault.
    Fault(Fault),
}

impl<T> Event<T> {
    /// The node the event happens to, if it concerns one.
    pub fn node(&self) -> Option<NodeId> {
        match self {
            Event::Deliver(stream) => Some(stream.to()),
            Event::Fire { node, .. } => Some(*node),
            Event::Fault(fault) => fault.node(),
        }
    }
}

/// Why the world refused an event.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum EventError {
    /// The event names a node the world does not have.
    #[error("unknown node. node={node:?} nodes={nodes}")]
    UnknownNode {
        /// The node named.
        node: NodeId,
        /// How many nodes the world has.
        nodes: usize,
    },
    /// The event is not enabled in this state (an empty or held stream, an unarmed timer,
    /// a restart of a running node, a reset of no connection).
    #[error("event not enabled. event={event} reason={reason}")]
    NotEnabled {
        /// The event, rendered.
        event: String,
        /// What stood in the way.
        reason: &'static str,
    },
    /// A node sent to a node the world does not have.
    #[error("node sent to an unknown node. sender={sender:?} receiver={receiver:?}")]
    UnknownReceiver {
        /// The sending node.
        sender: NodeId,
        /// The node it named.
        receiver: NodeId,
    },
    /// Nodes kept resetting connections in their `on_disconnect` handlers.
    #[error("disconnect handlers ran away. handlers_max={handlers_max}")]
    RunawayDisconnects {
        /// The bound that was hit.
        handlers_max: usize,
    },
}
