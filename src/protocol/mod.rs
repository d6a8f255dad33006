//! The wire protocol between clients, brokers and the controller, as typed values.
//!
//! Requests and responses carry what Kafka's carry for the rules Odradek checks: leader
//! and partition epochs on everything replication touches (so stale senders are fenced),
//! broker epochs on everything the controller accepts, and records as RecordBatch v2 bytes.
//! Responses are correlated by what the protocol already carries (partition, epochs,
//! offsets) and by the FIFO order of a connection, never by request ids, so node state
//! stays finite for the explorer. [`Msg::kind`](odradek_sim::Message::kind) names each message for fault filters
//! (`"produce_response"`, `"fetch_response"`, `"controller_request"`); [`CONTROL`],
//! [`PUSH`], [`REPLICATION`] and [`CLIENT`] name the connections they travel on.

mod address;
mod error;
mod messages;

pub use address::{broker_id, broker_node, CLIENT, CONTROL, PUSH, REPLICATION};
pub use error::ErrorCode;
pub use messages::{
    AlterPartitionRequest, AlterPartitionResponse, FetchRequest, FetchResponse, HeartbeatRequest,
    HeartbeatResponse, IsrMember, ListOffsetsRequest, ListOffsetsResponse, MetadataResponse, Msg,
    OffsetSpec, OffsetsForLeaderEpochRequest, OffsetsForLeaderEpochResponse, PartitionProduce,
    PartitionProduceResponse, PartitionState, ProduceRequest, ProduceResponse, RegisterRequest,
    RegisterResponse, ACKS_ALL, HOLD_KINDS,
};

use std::fmt;
use std::sync::Arc;

use serde::{Deserialize, Serialize};

/// A broker's id: its node's index, as Kafka's `broker.id`.
pub type BrokerId = i32;

/// A partition of a topic.
#[derive(Clone, PartialEq, Eq, Hash, PartialOrd, Ord, Serialize, Deserialize)]
pub struct TopicPartition {
    /// The topic, shared: partitions are cloned into every timer key, message and
    /// observation, and a shared name clones without allocating.
    pub topic: Arc<str>,
    /// The partition index.
    pub partition: i32,
}

impl TopicPartition {
    /// Partition `partition` of `topic`.
    pub fn new(topic: &str, partition: i32) -> Self {
        Self {
            topic: topic.into(),
            partition,
        }
    }

    /// The partition's directory on a broker's disk (`t-0`), as Kafka names it.
    pub fn dir(&self) -> String {
        format!("{}-{}", self.topic, self.partition)
    }

    /// The same partition as the invariants crate names it.
    pub fn to_ref(&self) -> odradek_invariants::PartitionRef {
        odradek_invariants::PartitionRef {
            topic: self.topic.clone(),
            partition: self.partition,
        }
    }
}

impl fmt::Debug for TopicPartition {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "{}-{}", self.topic, self.partition)
    }
}

impl fmt::Display for TopicPartition {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        fmt::Debug::fmt(self, f)
    }
}
