//! The cluster: the one place that names every role. It composes the controller, the
//! brokers, the typed test client and the workload applications into the node type the
//! engine runs, wraps each role's timers into the cluster's, and builds whole runs (the
//! cluster spec, the pipeline's nodes and its swarm scenario, and the oracle's view of a
//! run).
//!
//! Each role is a [`Node`] of its own, written against its own timer type; a handler of
//! [`KafkaNode`] hands its role a context of the role's types through
//! [`Ctx::within`](odradek_sim::RoleCtx::within), and `on_timer` unwraps a [`Timer`] back
//! to the role that set it. Node ids double as broker ids
//! ([`broker_id`](crate::protocol::broker_id)).

mod case;
pub mod check;
mod config;
mod counterexample;
mod coverage;
mod kafka_run;
mod oracle;
mod pipeline;
mod scenario_toml;
mod shrink;
mod targeted;
pub mod view;

pub use case::{outcome_name, Case, CaseError, Replayed, CASE_FORMAT};
pub use config::{ClusterSpec, NodeConfig, Timing};
pub use counterexample::{
    CheckedModel, Counterexample, CounterexampleReplay, SeedFile, COUNTEREXAMPLE_FORMAT,
};
pub use coverage::{hazards, ProtocolHazard, PROTOCOL_HAZARDS};
pub use kafka_run::{KafkaOutcome, KafkaRun};
pub use oracle::{entry, judge, observe, oracle_config, quiescence};
pub use pipeline::{pipeline_configs, pipeline_swarm};
pub use scenario_toml::documented_toml;
pub use shrink::{shrink, Kept, Progress, ShrinkError, ShrinkOptions, Shrunk, Size};
pub use targeted::{anchor, anchored, reanchor, Anchored, Fires, Targeted, INJECTORS};
pub use view::{View, VIEW_FORMAT, VIEW_VERSION};

pub use crate::controller::TopicSpec;

use odradek_invariants::Observation;
use odradek_sim::{Ctx, Node, NodeId, Peer};
use serde::{Deserialize, Serialize};

use crate::broker::{Broker, BrokerTimer};
use crate::client::{Client, ClientTimer};
use crate::consumer::ConsumerTimer;
use crate::controller::{Controller, ControllerTimer};
use crate::protocol::Msg;
use crate::workload::{ConsumerApp, ProducerApp, ProducerAppTimer};

/// Every role's timers, each wrapped in its role's variant. Timers of one node due at the
/// same moment fire in this order, which within a role is the role's own.
#[derive(Debug, Clone, PartialEq, Eq, Hash, PartialOrd, Ord, Serialize, Deserialize)]
pub enum Timer {
    /// The controller's.
    Controller(ControllerTimer),
    /// A broker's.
    Broker(BrokerTimer),
    /// The typed test client's.
    Client(ClientTimer),
    /// A producer application's.
    Producer(ProducerAppTimer),
    /// A consumer application's.
    Consumer(ConsumerTimer),
}

/// A node of the cluster.
#[derive(Debug, Clone, PartialEq, Eq, Hash)]
pub enum KafkaNode {
    /// The controller.
    Controller(Controller),
    /// A broker.
    Broker(Box<Broker>),
    /// A typed test client.
    Client(Client),
    /// A producer application (the real producer pipeline).
    Producer(Box<ProducerApp>),
    /// A consumer application (the real consumer).
    Consumer(Box<ConsumerApp>),
}

impl KafkaNode {
    /// The broker, if this node is one.
    pub fn as_broker(&self) -> Option<&Broker> {
        match self {
            KafkaNode::Broker(broker) => Some(broker),
            _ => None,
        }
    }

    /// The controller, if this node is it.
    pub fn as_controller(&self) -> Option<&Controller> {
        match self {
            KafkaNode::Controller(controller) => Some(controller),
            _ => None,
        }
    }

    /// The client, if this node is one.
    pub fn as_client(&self) -> Option<&Client> {
        match self {
            KafkaNode::Client(client) => Some(client),
            _ => None,
        }
    }

    /// The producer application, if this node is one.
    pub fn as_producer(&self) -> Option<&ProducerApp> {
        match self {
            KafkaNode::Producer(app) => Some(app),
            _ => None,
        }
    }
}

/// Runs `$call` on the role inside `$node`, against a context of the role's own timer
/// type: the one place a role's handler meets the composite.
macro_rules! with_role {
    ($node:expr, $ctx:expr, |$role:ident, $rctx:ident| $call:expr) => {
        match $node {
            KafkaNode::Controller($role) => $ctx.within(Timer::Controller, same, |$rctx| $call),
            KafkaNode::Broker($role) => $ctx.within(Timer::Broker, same, |$rctx| $call),
            KafkaNode::Client($role) => $ctx.within(Timer::Client, same, |$rctx| $call),
            KafkaNode::Producer($role) => $ctx.within(Timer::Producer, same, |$rctx| $call),
            KafkaNode::Consumer($role) => $ctx.within(Timer::Consumer, same, |$rctx| $call),
        }
    };
}

/// Every role reports the invariants crate's observations.
fn same(obs: Observation) -> Observation {
    obs
}

impl Node for KafkaNode {
    type Msg = Msg;
    type Timer = Timer;
    type Obs = Observation;
    type Config = NodeConfig;

    fn new(id: NodeId, config: &NodeConfig) -> Self {
        match config {
            NodeConfig::Controller(config) => KafkaNode::Controller(Controller::new(id, config)),
            NodeConfig::Broker(config) => KafkaNode::Broker(Box::new(Broker::new(id, config))),
            NodeConfig::Client(config) => KafkaNode::Client(Client::new(id, config)),
            NodeConfig::Producer(config) => {
                KafkaNode::Producer(Box::new(ProducerApp::new(id, config)))
            }
            NodeConfig::Consumer(config) => {
                KafkaNode::Consumer(Box::new(ConsumerApp::new(id, config)))
            }
        }
    }

    fn on_start(&mut self, ctx: &mut Ctx<'_, Self>) {
        with_role!(self, ctx, |role, ctx| role.on_start(ctx))
    }

    fn on_message(&mut self, ctx: &mut Ctx<'_, Self>, from: Peer, msg: Msg) {
        with_role!(self, ctx, |role, ctx| role.on_message(ctx, from, msg))
    }

    fn on_timer(&mut self, ctx: &mut Ctx<'_, Self>, timer: Timer) {
        match (self, timer) {
            (KafkaNode::Controller(role), Timer::Controller(timer)) => {
                ctx.within(Timer::Controller, same, |ctx| role.on_timer(ctx, timer))
            }
            (KafkaNode::Broker(role), Timer::Broker(timer)) => {
                ctx.within(Timer::Broker, same, |ctx| role.on_timer(ctx, timer))
            }
            (KafkaNode::Client(role), Timer::Client(timer)) => {
                ctx.within(Timer::Client, same, |ctx| role.on_timer(ctx, timer))
            }
            (KafkaNode::Producer(role), Timer::Producer(timer)) => {
                ctx.within(Timer::Producer, same, |ctx| role.on_timer(ctx, timer))
            }
            (KafkaNode::Consumer(role), Timer::Consumer(timer)) => {
                ctx.within(Timer::Consumer, same, |ctx| role.on_timer(ctx, timer))
            }
            // A node's timers are only ever the ones its role set.
            (node, timer) => unreachable!("{timer:?} fired on a node that never set it: {node:?}"),
        }
    }

    fn on_disconnect(&mut self, ctx: &mut Ctx<'_, Self>, peer: Peer) {
        with_role!(self, ctx, |role, ctx| role.on_disconnect(ctx, peer))
    }

    fn on_stop(&mut self, ctx: &mut Ctx<'_, Self>) {
        with_role!(self, ctx, |role, ctx| role.on_stop(ctx))
    }
}
