//! The cluster as one node type for the engine: a controller, brokers and typed test
//! clients, their configuration, channels and timers.
//!
//! Node ids double as broker ids. Every time-dependent decision (session expiry, ISR
//! shrink after `replica.lag.time.max.ms`, request timeouts, fetch backoff) is a [`Timer`]
//! firing; the wall clock only stamps records.

mod config;

pub use config::{ClusterSpec, NodeConfig, Timing, TopicSpec};

use odradek_invariants::Observation;
use odradek_sim::{Channel, Ctx, Node, NodeId, Peer};
use serde::{Deserialize, Serialize};

use crate::broker::Broker;
use crate::client::Client;
use crate::controller::Controller;
use crate::protocol::{BrokerId, Msg, TopicPartition};
use crate::workload::{ConsumerApp, ProducerApp, WorkloadTimer};

/// Broker to controller: registration, heartbeats, AlterPartition.
pub const CONTROL: Channel = Channel(0);
/// Controller to broker: pushed partition changes (`"controller_request"`).
pub const PUSH: Channel = Channel(1);
/// Follower to leader: Fetch and OffsetsForLeaderEpoch.
pub const REPLICATION: Channel = Channel(2);
/// Client to broker or controller.
pub const CLIENT: Channel = Channel(3);

/// Message kinds a delayed-ack fault may hold: responses and controller pushes.
pub const HOLD_KINDS: [&str; 5] = [
    "produce_response",
    "fetch_response",
    "controller_request",
    "heartbeat_response",
    "alter_partition_response",
];

/// The broker id of a node.
pub fn broker_id(node: NodeId) -> BrokerId {
    BrokerId::from(node.0)
}

/// The node of a broker id, if it is one.
pub fn broker_node(broker: BrokerId) -> Option<NodeId> {
    u16::try_from(broker).ok().map(NodeId)
}

/// Every timer of every node kind, keyed by what it is about, never by a counter.
#[derive(Debug, Clone, PartialEq, Eq, Hash, PartialOrd, Ord, Serialize, Deserialize)]
pub enum Timer {
    /// Controller: a broker's session expires unless it heartbeats first.
    Session(BrokerId),
    /// Broker: send a heartbeat (or register again).
    Heartbeat,
    /// Broker: a follower's next fetch (or OffsetsForLeaderEpoch) after a backoff.
    Fetch(TopicPartition),
    /// Broker: a follower's request to its leader went unanswered.
    FetchTimeout(TopicPartition),
    /// Broker: a leader's follower has not caught up for `replica.lag.time.max.ms`.
    ReplicaLag(TopicPartition, BrokerId),
    /// Broker: an AlterPartition went unanswered.
    AlterPartitionTimeout(TopicPartition),
    /// Broker: an acks=all produce waiting for offset `.1` timed out.
    ProduceTimeout(TopicPartition, i64),
    /// Broker: checkpoint every high watermark.
    HwCheckpoint,
    /// Client: send the next request.
    Send,
    /// Client: the request in flight went unanswered.
    RequestTimeout,
    /// Client: stop writing and read every partition back.
    FinalRead,
    /// Client: send the raw requests scripted for this time (ms).
    Script(u64),
    /// A workload application's timer (its client's, or its own pacing): one variant, so
    /// the other node kinds ignore them all with one arm.
    Workload(WorkloadTimer),
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

impl Node for KafkaNode {
    type Msg = Msg;
    type Timer = Timer;
    type Obs = Observation;
    type Config = NodeConfig;

    fn new(id: NodeId, config: &NodeConfig) -> Self {
        match config {
            NodeConfig::Controller(spec) => KafkaNode::Controller(Controller::new(id, spec)),
            NodeConfig::Broker(spec) => KafkaNode::Broker(Box::new(Broker::new(id, spec))),
            NodeConfig::Client(config) => KafkaNode::Client(Client::new(id, config)),
            NodeConfig::Producer(config) => KafkaNode::Producer(Box::new(ProducerApp::new(config))),
            NodeConfig::Consumer(config) => KafkaNode::Consumer(Box::new(ConsumerApp::new(config))),
        }
    }

    fn on_start(&mut self, ctx: &mut Ctx<'_, Self>) {
        match self {
            KafkaNode::Controller(node) => node.on_start(ctx),
            KafkaNode::Broker(node) => node.on_start(ctx),
            KafkaNode::Client(node) => node.on_start(ctx),
            KafkaNode::Producer(node) => node.on_start(ctx),
            KafkaNode::Consumer(node) => node.on_start(ctx),
        }
    }

    fn on_message(&mut self, ctx: &mut Ctx<'_, Self>, from: Peer, msg: Msg) {
        match self {
            KafkaNode::Controller(node) => node.on_message(ctx, from, msg),
            KafkaNode::Broker(node) => node.on_message(ctx, from, msg),
            KafkaNode::Client(node) => node.on_message(ctx, from, msg),
            KafkaNode::Producer(node) => node.on_message(ctx, from, msg),
            KafkaNode::Consumer(node) => node.on_message(ctx, from, msg),
        }
    }

    fn on_timer(&mut self, ctx: &mut Ctx<'_, Self>, timer: Timer) {
        match self {
            KafkaNode::Controller(node) => node.on_timer(ctx, timer),
            KafkaNode::Broker(node) => node.on_timer(ctx, timer),
            KafkaNode::Client(node) => node.on_timer(ctx, timer),
            KafkaNode::Producer(node) => node.on_timer(ctx, timer),
            KafkaNode::Consumer(node) => node.on_timer(ctx, timer),
        }
    }

    fn on_disconnect(&mut self, ctx: &mut Ctx<'_, Self>, peer: Peer) {
        match self {
            KafkaNode::Controller(_) => {}
            KafkaNode::Broker(node) => node.on_disconnect(ctx, peer),
            KafkaNode::Client(node) => node.on_disconnect(ctx, peer),
            KafkaNode::Producer(node) => node.on_disconnect(ctx, peer),
            KafkaNode::Consumer(node) => node.on_disconnect(ctx, peer),
        }
    }
}
