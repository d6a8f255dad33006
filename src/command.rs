//! What the client state machines ask their node to do: the output half of their sans-IO
//! interface. Each `handle_*` call returns the commands in the order to carry them out;
//! the node maps a [`Destination`] to its `Peer` and a timer to its own timer enum.

use crate::protocol::{BrokerId, Msg};

/// Where a request goes. The node knows which `Peer` (node and channel) each one is.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub enum Destination {
    /// A broker, by id.
    Broker(BrokerId),
    /// The controller, which hands out producer ids.
    Controller,
}

/// One thing for the node to do, with `T` the client's timers and `E` the events it
/// reports (a producer's completed sends).
#[derive(Debug, Clone, PartialEq, Eq, Hash)]
pub enum Command<T, E> {
    /// Send `msg` on the client's connection to `to`.
    Send {
        /// The receiver.
        to: Destination,
        /// The request.
        msg: Msg,
    },
    /// Reset the connection to a destination, as a client does when a request times out.
    /// The client has already failed everything in flight on it.
    Disconnect(Destination),
    /// Arm (or re-arm) `timer` to fire after `delay_ms` of the node's monotonic clock.
    SetTimer {
        /// The timer.
        timer: T,
        /// Its delay.
        delay_ms: u64,
    },
    /// Disarm `timer`; a timer that fires anyway is ignored by the client.
    CancelTimer(T),
    /// Something to report to the application and the history.
    Event(E),
}
