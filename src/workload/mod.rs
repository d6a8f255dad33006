//! Workload applications: the nodes that drive the real producer and consumer inside the
//! simulated cluster, and record what they did as the invariants crate's history.
//!
//! - [`ProducerApp`] owns a [`Sender`](crate::producer::Sender), the partitioner and the
//!   serializers, and sends the unique values `1..=values_max` at a fixed rate.
//! - [`ConsumerApp`] owns a [`Consumer`](crate::consumer::Consumer), assigns partitions
//!   and polls whenever an input may have given it records.
//!
//! The clients are libraries inside these nodes: sans-IO state machines that speak in
//! [`Command`]s as data. This module is the thin layer that turns them into calls on the
//! node's role context: a [`Destination`] becomes a `Peer` on the [`CLIENT`] channel, a
//! library timer is wrapped in the application's own timer type, and a `Peer` that
//! answered becomes a `Destination` again. So the same clients run under any driver.

mod consumer_app;
mod producer_app;

pub use consumer_app::{ConsumerApp, ConsumerAppConfig};
pub use producer_app::{ProducerApp, ProducerAppConfig, ProducerAppTimer};

use odradek_invariants::Observation;
use odradek_sim::{NodeId, Peer, RoleCtx};

use crate::command::{Command, Destination};
use crate::protocol::{broker_id, broker_node, Msg, CLIENT};

/// The context of an application whose timers are `T`.
type AppCtx<'a, T> = RoleCtx<'a, Msg, T, Observation>;

/// Where a client's requests go: brokers by id, and the controller if the client has one.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
struct Routes {
    /// The controller's node; `None` for a client that never asks it (the consumer).
    controller: Option<NodeId>,
}

impl Routes {
    fn peer(self, to: Destination) -> Peer {
        let node = match to {
            Destination::Broker(broker) => {
                broker_node(broker).expect("metadata names brokers by their node ids")
            }
            Destination::Controller => self
                .controller
                .expect("only a client configured with a controller asks it"),
        };
        Peer::server(node, CLIENT)
    }

    fn destination(self, peer: Peer) -> Destination {
        if Some(peer.node) == self.controller {
            Destination::Controller
        } else {
            Destination::Broker(broker_id(peer.node))
        }
    }

    /// Carries out `commands` in order: messages and resets go to their peers, timers are
    /// wrapped by `timer` into the application's, and events are handed to `event`.
    fn carry_out<T, A, E>(
        self,
        ctx: &mut AppCtx<'_, A>,
        commands: Vec<Command<T, E>>,
        timer: fn(T) -> A,
        mut event: impl FnMut(&mut AppCtx<'_, A>, E),
    ) {
        for command in commands {
            match command {
                Command::Send { to, msg } => ctx.send(self.peer(to), msg),
                Command::Disconnect(to) => ctx.disconnect(self.peer(to)),
                Command::SetTimer { timer: t, delay_ms } => ctx.set_timer(timer(t), delay_ms),
                Command::CancelTimer(t) => ctx.cancel_timer(timer(t)),
                Command::Event(e) => event(ctx, e),
            }
        }
    }
}

/// Kafka's default `max.poll.records`.
pub const MAX_POLL_RECORDS: usize = 500;
