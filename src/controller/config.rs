//! What the controller is built from: the brokers it expects, the topics it creates and
//! the rules it elects by. Settings that mirror Kafka's keep Kafka's names.

use odradek_sim::NodeId;
use serde::{Deserialize, Serialize};

use crate::bugs::Bugs;
use crate::protocol::BrokerId;

/// A topic the controller creates at its first start.
#[derive(Debug, Clone, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct TopicSpec {
    /// Its name.
    pub name: String,
    /// Partitions.
    pub partitions: i32,
    /// Replicas per partition.
    pub replication_factor: usize,
}

/// The controller's configuration.
#[derive(Debug, Clone, PartialEq, Eq, Hash)]
pub struct ControllerConfig {
    /// The brokers' nodes, which may register; topics are created once all have.
    pub brokers: Vec<NodeId>,
    /// Topics to create.
    pub topics: Vec<TopicSpec>,
    /// Kafka's `min.insync.replicas`, which decides who stays in the ELR (KIP-966).
    pub min_insync_replicas: usize,
    /// Kafka's `unclean.leader.election.enable`.
    pub unclean_leader_election_enable: bool,
    /// A broker silent this long is fenced (`broker.session.timeout.ms`).
    pub session_timeout_ms: u64,
    /// Whether sessions expire. Off only with the brokers' heartbeats off, for the
    /// explorer's smallest models (see the cluster's `Timing::periodic_timers`).
    pub sessions_expire: bool,
    /// Bug-zoo switches; the controller honours the ones about elections and the ISR.
    pub bugs: Bugs,
}

/// The controller's timers, keyed by what they are about.
#[derive(Debug, Clone, PartialEq, Eq, Hash, PartialOrd, Ord, Serialize, Deserialize)]
pub enum ControllerTimer {
    /// A broker's session expires unless it heartbeats first.
    Session(BrokerId),
}
