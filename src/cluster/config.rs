//! What a cluster is built from. Settings that mirror Kafka's keep Kafka's names; timings
//! are scaled down from Kafka's defaults so a simulated run sees many sessions and
//! elections in a few virtual seconds.

use odradek_sim::NodeId;

use crate::broker::BrokerConfig;
use crate::bugs::Bugs;
use crate::client::ClientConfig;
use crate::controller::{ControllerConfig, TopicSpec};
use crate::protocol::TopicPartition;
use crate::workload::{ConsumerAppConfig, ProducerAppConfig};

/// Timers of the controller and brokers, in milliseconds.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, serde::Serialize, serde::Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Timing {
    /// Between broker heartbeats (Kafka's `broker.heartbeat.interval.ms`, 2000).
    pub heartbeat_ms: u64,
    /// A broker silent this long is fenced (`broker.session.timeout.ms`, 9000).
    pub session_timeout_ms: u64,
    /// A follower not caught up this long leaves the ISR (`replica.lag.time.max.ms`).
    pub replica_lag_time_max_ms: u64,
    /// A follower's pause after a failed fetch (`replica.fetch.backoff.ms`, 1000).
    pub replica_fetch_backoff_ms: u64,
    /// How long a leader may hold a follower's fetch that has nothing to return
    /// (`replica.fetch.wait.max.ms`, 500): a third of the request timeout here, so a held
    /// fetch and its answer fit within it, as in Kafka.
    pub replica_fetch_wait_max_ms: u64,
    /// A follower's or leader's request to another broker times out after this.
    pub replica_request_timeout_ms: u64,
    /// Between high-watermark checkpoints
    /// (`replica.high.watermark.checkpoint.interval.ms`, 5000).
    pub hw_checkpoint_ms: u64,
    /// Whether the timers that re-arm forever run: broker heartbeats (and with them the
    /// controller's session expiry) and high-watermark checkpoints. On by default. Off only
    /// for the explorer's smallest models, where any armed timer may fire at any moment, so
    /// a timer that never disarms branches every state. Without them a broker sends one
    /// heartbeat after registering (to fetch the partition states), a crashed broker is
    /// replaced when it restarts and registers with a new broker epoch (as Kafka fences a
    /// restarted broker's old incarnation), and the high watermark is checkpointed only
    /// at a clean shutdown.
    pub periodic_timers: bool,
}

impl Default for Timing {
    fn default() -> Self {
        Self {
            heartbeat_ms: HEARTBEAT_MS_DEFAULT,
            session_timeout_ms: SESSION_TIMEOUT_MS_DEFAULT,
            replica_lag_time_max_ms: REPLICA_LAG_TIME_MAX_MS_DEFAULT,
            replica_fetch_backoff_ms: 10,
            replica_fetch_wait_max_ms: REPLICA_REQUEST_TIMEOUT_MS_DEFAULT / 3,
            replica_request_timeout_ms: REPLICA_REQUEST_TIMEOUT_MS_DEFAULT,
            hw_checkpoint_ms: 1_000,
            periodic_timers: true,
        }
    }
}

/// Default heartbeat interval.
const HEARTBEAT_MS_DEFAULT: u64 = 100;
/// Default session timeout: several heartbeats may be lost before a broker is fenced.
const SESSION_TIMEOUT_MS_DEFAULT: u64 = 600;
/// Default lag before an ISR shrink: longer than a session, as in Kafka.
const REPLICA_LAG_TIME_MAX_MS_DEFAULT: u64 = 1_000;

/// Default request timeout between brokers.
const REPLICA_REQUEST_TIMEOUT_MS_DEFAULT: u64 = 300;

const _: () = assert!(HEARTBEAT_MS_DEFAULT * 3 <= SESSION_TIMEOUT_MS_DEFAULT);
const _: () = assert!(SESSION_TIMEOUT_MS_DEFAULT < REPLICA_LAG_TIME_MAX_MS_DEFAULT);

/// The cluster's shape and settings, from which the controller's and every broker's
/// configuration is derived.
#[derive(Debug, Clone, PartialEq, Eq, Hash, serde::Serialize, serde::Deserialize)]
#[serde(deny_unknown_fields)]
pub struct ClusterSpec {
    /// The controller's node.
    pub controller: NodeId,
    /// The brokers' nodes.
    pub brokers: Vec<NodeId>,
    /// Topics to create.
    pub topics: Vec<TopicSpec>,
    /// Kafka's `min.insync.replicas`.
    pub min_insync_replicas: usize,
    /// Kafka's `unclean.leader.election.enable`.
    pub unclean_leader_election_enable: bool,
    /// Timers.
    pub timing: Timing,
    /// Bug-zoo switches of the controller and brokers.
    pub bugs: Bugs,
}

impl ClusterSpec {
    /// Every partition of every topic.
    pub fn partitions(&self) -> Vec<TopicPartition> {
        self.topics
            .iter()
            .flat_map(|topic| {
                (0..topic.partitions).map(move |p| TopicPartition::new(&topic.name, p))
            })
            .collect()
    }

    /// The controller (node 0) and the brokers (nodes 1..), in node order; clients follow.
    pub fn server_configs(&self) -> Vec<NodeConfig> {
        assert_eq!(self.controller, NodeId(0), "the controller is node 0");
        for (i, broker) in self.brokers.iter().enumerate() {
            assert_eq!(broker.index(), i + 1, "brokers are nodes 1..");
        }
        let mut configs = vec![NodeConfig::Controller(self.controller_config())];
        let broker = self.broker_config();
        configs.extend(
            self.brokers
                .iter()
                .map(|_| NodeConfig::Broker(broker.clone())),
        );
        configs
    }

    /// The controller's configuration.
    pub fn controller_config(&self) -> ControllerConfig {
        ControllerConfig {
            brokers: self.brokers.clone(),
            topics: self.topics.clone(),
            min_insync_replicas: self.min_insync_replicas,
            unclean_leader_election_enable: self.unclean_leader_election_enable,
            session_timeout_ms: self.timing.session_timeout_ms,
            sessions_expire: self.timing.periodic_timers,
            bugs: self.bugs.clone(),
        }
    }

    /// Every broker's configuration.
    pub fn broker_config(&self) -> BrokerConfig {
        let timing = &self.timing;
        BrokerConfig {
            controller: self.controller,
            min_insync_replicas: self.min_insync_replicas,
            heartbeat_ms: timing.heartbeat_ms,
            replica_lag_time_max_ms: timing.replica_lag_time_max_ms,
            replica_fetch_backoff_ms: timing.replica_fetch_backoff_ms,
            replica_fetch_wait_max_ms: timing.replica_fetch_wait_max_ms,
            replica_request_timeout_ms: timing.replica_request_timeout_ms,
            hw_checkpoint_ms: timing.hw_checkpoint_ms,
            periodic_timers: timing.periodic_timers,
            bugs: self.bugs.clone(),
        }
    }
}

/// How to build one node.
#[derive(Debug, Clone, PartialEq, Eq, Hash)]
pub enum NodeConfig {
    /// The controller.
    Controller(ControllerConfig),
    /// A broker.
    Broker(BrokerConfig),
    /// A typed test client.
    Client(ClientConfig),
    /// A producer application.
    Producer(ProducerAppConfig),
    /// A consumer application.
    Consumer(ConsumerAppConfig),
}
