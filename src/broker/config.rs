//! What a broker is built from, and its timers. Settings that mirror Kafka's keep Kafka's
//! names; the cluster scales the timings down from Kafka's defaults.

use odradek_sim::NodeId;
use serde::{Deserialize, Serialize};

use crate::bugs::Bugs;
use crate::protocol::{BrokerId, TopicPartition};

/// A broker's configuration.
#[derive(Debug, Clone, PartialEq, Eq, Hash)]
pub struct BrokerConfig {
    /// The controller's node.
    pub controller: NodeId,
    /// Kafka's `min.insync.replicas`.
    pub min_insync_replicas: usize,
    /// Between heartbeats (`broker.heartbeat.interval.ms`).
    pub heartbeat_ms: u64,
    /// A follower not caught up this long leaves the ISR (`replica.lag.time.max.ms`).
    pub replica_lag_time_max_ms: u64,
    /// A follower's pause after a failed fetch.
    pub replica_fetch_backoff_ms: u64,
    /// How long a follower's fetch may wait at the leader for data
    /// (`replica.fetch.wait.max.ms`).
    pub replica_fetch_wait_max_ms: u64,
    /// A follower's or leader's request to another broker times out after this.
    pub replica_request_timeout_ms: u64,
    /// Between high-watermark checkpoints
    /// (`replica.high.watermark.checkpoint.interval.ms`).
    pub hw_checkpoint_ms: u64,
    /// Whether the timers that re-arm forever run: heartbeats and high-watermark
    /// checkpoints (see the cluster's `Timing::periodic_timers`).
    pub periodic_timers: bool,
    /// Bug-zoo switches; the broker honours the ones about replication and produce.
    pub bugs: Bugs,
}

/// The broker's timers, keyed by what they are about, never by a counter.
#[derive(Debug, Clone, PartialEq, Eq, Hash, PartialOrd, Ord, Serialize, Deserialize)]
pub enum BrokerTimer {
    /// Send a heartbeat (or register again).
    Heartbeat,
    /// A follower's next fetch (or OffsetsForLeaderEpoch) after a backoff.
    Fetch(TopicPartition),
    /// A follower's request to its leader went unanswered.
    FetchTimeout(TopicPartition),
    /// A fetch held for lack of data has waited its `max_wait_ms`: answer it.
    FetchWait(TopicPartition, odradek_sim::Peer),
    /// A leader's follower has not caught up for `replica.lag.time.max.ms`.
    ReplicaLag(TopicPartition, BrokerId),
    /// An AlterPartition went unanswered.
    AlterPartitionTimeout(TopicPartition),
    /// An acks=all produce waiting for offset `.1` timed out.
    ProduceTimeout(TopicPartition, i64),
    /// Checkpoint every high watermark.
    HwCheckpoint,
    /// A controlled shutdown's request went unanswered: shut down anyway.
    ShutdownTimeout,
}
