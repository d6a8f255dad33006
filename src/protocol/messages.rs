//! Every message of the cluster. Client requests (Produce, Fetch, ListOffsets, Metadata,
//! InitProducerId), replication (Fetch from followers, OffsetsForLeaderEpoch) and control
//! (registration, heartbeats, AlterPartition, partition changes pushed by the controller).

use bytes::Bytes;
use odradek_sim::Message;
use serde::{Deserialize, Serialize};

use super::{BrokerId, ErrorCode, TopicPartition};

/// `acks=all`: the leader answers once the high watermark passes the records.
pub const ACKS_ALL: i16 = -1;

/// A partition's state as the controller commits it and pushes it to brokers.
#[derive(Debug, Clone, PartialEq, Eq, Hash, Serialize, Deserialize)]
pub struct PartitionState {
    /// The partition.
    pub tp: TopicPartition,
    /// Assigned replicas, in preference order.
    pub replicas: Vec<BrokerId>,
    /// The leader, or `None` while the partition is offline.
    pub leader: Option<BrokerId>,
    /// Bumped on every leader change.
    pub leader_epoch: i32,
    /// Bumped on every change of leader, ISR or ELR (KIP-966's partition epoch).
    pub partition_epoch: i32,
    /// In-sync replicas.
    pub isr: Vec<BrokerId>,
    /// Eligible leader replicas (KIP-966): removed from an ISR at or below
    /// `min.insync.replicas`, still holding every committed record.
    pub elr: Vec<BrokerId>,
    /// The leader before the partition went offline with empty ISR and ELR.
    pub last_known_leader: Option<BrokerId>,
}

impl PartitionState {
    /// Whether `self` is newer than a state with these epochs.
    pub fn newer_than(&self, leader_epoch: i32, partition_epoch: i32) -> bool {
        (self.leader_epoch, self.partition_epoch) > (leader_epoch, partition_epoch)
    }
}

/// One partition's records in a produce request: one batch per partition (v3+).
#[derive(Debug, Clone, PartialEq, Eq, Hash, Serialize, Deserialize)]
pub struct PartitionProduce {
    /// The partition.
    pub tp: TopicPartition,
    /// RecordBatch v2 bytes.
    pub records: Bytes,
}

/// Produce.
#[derive(Debug, Clone, PartialEq, Eq, Hash, Serialize, Deserialize)]
pub struct ProduceRequest {
    /// -1 (all), 0 or 1.
    pub acks: i16,
    /// How long an acks=all request may wait for replication.
    pub timeout_ms: u32,
    /// The records, by partition.
    pub partitions: Vec<PartitionProduce>,
}

/// One partition's result.
#[derive(Debug, Clone, PartialEq, Eq, Hash, Serialize, Deserialize)]
pub struct PartitionProduceResponse {
    /// The partition.
    pub tp: TopicPartition,
    /// The outcome.
    pub error: ErrorCode,
    /// Offset of the batch's first record (the original one for a duplicate), or -1.
    pub base_offset: i64,
}

/// The answer to a produce, in request order on its connection.
#[derive(Debug, Clone, PartialEq, Eq, Hash, Serialize, Deserialize)]
pub struct ProduceResponse {
    /// One per partition of the request, in its order.
    pub partitions: Vec<PartitionProduceResponse>,
}

/// Fetch, from a follower (with its id and broker epoch) or a consumer.
#[derive(Debug, Clone, PartialEq, Eq, Hash, Serialize, Deserialize)]
pub struct FetchRequest {
    /// The follower and its broker epoch; `None` for a consumer.
    pub replica: Option<(BrokerId, i64)>,
    /// The partition.
    pub tp: TopicPartition,
    /// Where to read from: the follower's log end offset, the consumer's position.
    pub fetch_offset: i64,
    /// The sender's view of the leader epoch (KIP-320); -1 if unknown (consumers).
    pub current_leader_epoch: i32,
    /// Bytes to return at most (the first batch comes whole).
    pub bytes_max: u32,
    /// How long the leader may hold the fetch while it has nothing to return (Kafka's
    /// `MaxWaitMs`); 0 answers at once. Kafka's `fetch.min.bytes` is fixed at its default,
    /// 1: any new batch completes a held fetch.
    pub max_wait_ms: u32,
}

/// The answer to a fetch.
#[derive(Debug, Clone, PartialEq, Eq, Hash, Serialize, Deserialize)]
pub struct FetchResponse {
    /// The partition.
    pub tp: TopicPartition,
    /// The outcome.
    pub error: ErrorCode,
    /// The epoch the request carried, echoed for correlation.
    pub current_leader_epoch: i32,
    /// The offset the request asked for, echoed for correlation.
    pub fetch_offset: i64,
    /// The leader's high watermark.
    pub high_watermark: i64,
    /// The leader's log start offset.
    pub log_start_offset: i64,
    /// Whole batches from `fetch_offset`.
    pub records: Bytes,
}

/// Which offset ListOffsets asks for.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize)]
pub enum OffsetSpec {
    /// The log start offset.
    Earliest,
    /// The high watermark.
    Latest,
}

/// ListOffsets.
#[derive(Debug, Clone, PartialEq, Eq, Hash, Serialize, Deserialize)]
pub struct ListOffsetsRequest {
    /// The partition.
    pub tp: TopicPartition,
    /// Which offset.
    pub spec: OffsetSpec,
}

/// The answer to ListOffsets.
#[derive(Debug, Clone, PartialEq, Eq, Hash, Serialize, Deserialize)]
pub struct ListOffsetsResponse {
    /// The partition.
    pub tp: TopicPartition,
    /// OFFSET_NOT_AVAILABLE from a new leader before its epoch start commits (KIP-207).
    pub error: ErrorCode,
    /// The offset, or -1.
    pub offset: i64,
    /// The leader's epoch.
    pub leader_epoch: i32,
}

/// The answer to Metadata: the broker's view of every partition.
#[derive(Debug, Clone, PartialEq, Eq, Hash, Serialize, Deserialize)]
pub struct MetadataResponse {
    /// Partitions as the broker last heard of them.
    pub partitions: Vec<PartitionState>,
}

/// OffsetsForLeaderEpoch, from a follower to its leader.
#[derive(Debug, Clone, PartialEq, Eq, Hash, Serialize, Deserialize)]
pub struct OffsetsForLeaderEpochRequest {
    /// The partition.
    pub tp: TopicPartition,
    /// The follower's view of the leader's epoch (fenced if stale).
    pub current_leader_epoch: i32,
    /// The epoch whose end offset the follower wants: its latest.
    pub leader_epoch: i32,
}

/// The answer (KIP-279): the largest epoch not above the requested one, and its end.
#[derive(Debug, Clone, PartialEq, Eq, Hash, Serialize, Deserialize)]
pub struct OffsetsForLeaderEpochResponse {
    /// The partition.
    pub tp: TopicPartition,
    /// The outcome.
    pub error: ErrorCode,
    /// The epoch the request carried, echoed.
    pub current_leader_epoch: i32,
    /// The largest epoch the leader holds not above the requested one.
    pub leader_epoch: i32,
    /// Where it ends on the leader.
    pub end_offset: i64,
}

/// Broker registration: a broker asks for a new broker epoch.
#[derive(Debug, Clone, PartialEq, Eq, Hash, Serialize, Deserialize)]
pub struct RegisterRequest {
    /// The broker.
    pub broker: BrokerId,
    /// Whether it lost nothing since its last registration (clean shutdown marker found,
    /// or the same process re-registering). An unclean one leaves every ELR (KIP-966).
    pub clean: bool,
}

/// The answer to a registration.
#[derive(Debug, Clone, PartialEq, Eq, Hash, Serialize, Deserialize)]
pub struct RegisterResponse {
    /// The outcome.
    pub error: ErrorCode,
    /// The new broker epoch.
    pub broker_epoch: i64,
}

/// A heartbeat: keeps the broker's session alive and asks for newer partition states.
#[derive(Debug, Clone, PartialEq, Eq, Hash, Serialize, Deserialize)]
pub struct HeartbeatRequest {
    /// The broker.
    pub broker: BrokerId,
    /// Its registered epoch.
    pub broker_epoch: i64,
    /// (partition, leader epoch, partition epoch) of every state the broker knows.
    pub known: Vec<(TopicPartition, i32, i32)>,
}

/// The answer to a heartbeat.
#[derive(Debug, Clone, PartialEq, Eq, Hash, Serialize, Deserialize)]
pub struct HeartbeatResponse {
    /// STALE_BROKER_EPOCH tells the broker to register again.
    pub error: ErrorCode,
    /// States newer than the broker's, or unknown to it.
    pub updates: Vec<PartitionState>,
}

/// A replica the leader asks to add to (or keep in) the ISR, with its broker epoch.
#[derive(Debug, Clone, PartialEq, Eq, Hash, PartialOrd, Ord, Serialize, Deserialize)]
pub struct IsrMember {
    /// The broker.
    pub broker: BrokerId,
    /// The broker epoch it fetched with; -1 for the leader itself.
    pub broker_epoch: i64,
}

/// AlterPartition: a leader asks the controller to change the ISR.
#[derive(Debug, Clone, PartialEq, Eq, Hash, Serialize, Deserialize)]
pub struct AlterPartitionRequest {
    /// The leader.
    pub broker: BrokerId,
    /// The leader's broker epoch.
    pub broker_epoch: i64,
    /// The partition.
    pub tp: TopicPartition,
    /// The leader's epoch.
    pub leader_epoch: i32,
    /// The partition epoch the change builds on.
    pub partition_epoch: i32,
    /// The proposed ISR.
    pub new_isr: Vec<IsrMember>,
}

/// The answer to AlterPartition.
#[derive(Debug, Clone, PartialEq, Eq, Hash, Serialize, Deserialize)]
pub struct AlterPartitionResponse {
    /// The partition.
    pub tp: TopicPartition,
    /// The partition epoch the answered proposal was made at (its request's): which of the
    /// leader's proposals this answers, so an answer to an earlier one settles nothing.
    pub proposed_at: i32,
    /// The outcome.
    pub error: ErrorCode,
    /// The committed state on success.
    pub state: Option<PartitionState>,
}

/// Every message of the cluster.
#[derive(Debug, Clone, PartialEq, Eq, Hash, Serialize, Deserialize)]
pub enum Msg {
    /// Client to leader.
    ProduceRequest(ProduceRequest),
    /// Leader to client.
    ProduceResponse(ProduceResponse),
    /// Follower or consumer to leader.
    FetchRequest(FetchRequest),
    /// Leader to follower or consumer.
    FetchResponse(FetchResponse),
    /// Client to leader.
    ListOffsetsRequest(ListOffsetsRequest),
    /// Leader to client.
    ListOffsetsResponse(ListOffsetsResponse),
    /// Client to any broker.
    MetadataRequest,
    /// Broker to client.
    MetadataResponse(MetadataResponse),
    /// Follower to leader.
    OffsetsForLeaderEpochRequest(OffsetsForLeaderEpochRequest),
    /// Leader to follower.
    OffsetsForLeaderEpochResponse(OffsetsForLeaderEpochResponse),
    /// Client to controller: a new producer id.
    InitProducerIdRequest,
    /// Controller to client.
    InitProducerIdResponse {
        /// The outcome.
        error: ErrorCode,
        /// The producer id.
        producer_id: i64,
        /// Its epoch.
        producer_epoch: i16,
    },
    /// Broker to controller.
    RegisterRequest(RegisterRequest),
    /// Controller to broker.
    RegisterResponse(RegisterResponse),
    /// Broker to controller.
    HeartbeatRequest(HeartbeatRequest),
    /// Controller to broker.
    HeartbeatResponse(HeartbeatResponse),
    /// Leader to controller.
    AlterPartitionRequest(AlterPartitionRequest),
    /// Controller to leader.
    AlterPartitionResponse(AlterPartitionResponse),
    /// Controller to broker: a committed partition change (LeaderAndIsr and
    /// UpdateMetadata in one), addressed to the recipient's broker epoch so a broker that
    /// restarted since ignores it (KIP-380).
    PartitionChange {
        /// The recipient's broker epoch when the controller sent it.
        broker_epoch: i64,
        /// The committed state.
        state: PartitionState,
    },
    /// Any node to any node: the request could not be understood here.
    ErrorResponse(ErrorCode),
    /// Broker to controller: move my leaderships away, I am shutting down cleanly.
    ControlledShutdownRequest {
        /// The broker.
        broker: BrokerId,
        /// Its registration.
        broker_epoch: i64,
    },
    /// Controller to broker: leaderships moved (or why not).
    ControlledShutdownResponse {
        /// `None`, or `STALE_BROKER_EPOCH`.
        error: ErrorCode,
    },
    // Last, so the variants before keep their discriminants, and saved runs their trace
    // hashes.
    /// Client to controller: create this topic if it does not exist (the real mode's
    /// auto-creation; the simulated clients never send it).
    CreateTopicRequest {
        /// The topic.
        name: String,
        /// Its partitions.
        partitions: i32,
        /// Replicas per partition.
        replication_factor: usize,
    },
    /// Controller to client.
    CreateTopicResponse(ErrorCode),
}

/// Message kinds a delayed-ack fault may hold: responses and controller pushes.
pub const HOLD_KINDS: [&str; 5] = [
    "produce_response",
    "fetch_response",
    "controller_request",
    "heartbeat_response",
    "alter_partition_response",
];

impl Message for Msg {
    fn kind(&self) -> &'static str {
        match self {
            Msg::ProduceRequest(_) => "produce_request",
            Msg::ProduceResponse(_) => "produce_response",
            Msg::FetchRequest(_) => "fetch_request",
            Msg::FetchResponse(_) => "fetch_response",
            Msg::ListOffsetsRequest(_) => "list_offsets_request",
            Msg::ListOffsetsResponse(_) => "list_offsets_response",
            Msg::MetadataRequest => "metadata_request",
            Msg::MetadataResponse(_) => "metadata_response",
            Msg::OffsetsForLeaderEpochRequest(_) => "offsets_for_leader_epoch_request",
            Msg::OffsetsForLeaderEpochResponse(_) => "offsets_for_leader_epoch_response",
            Msg::InitProducerIdRequest => "init_producer_id_request",
            Msg::CreateTopicRequest { .. } => "create_topic_request",
            Msg::CreateTopicResponse(_) => "create_topic_response",
            Msg::InitProducerIdResponse { .. } => "init_producer_id_response",
            Msg::RegisterRequest(_) => "register_request",
            Msg::RegisterResponse(_) => "register_response",
            Msg::HeartbeatRequest(_) => "heartbeat_request",
            Msg::HeartbeatResponse(_) => "heartbeat_response",
            Msg::AlterPartitionRequest(_) => "alter_partition_request",
            Msg::AlterPartitionResponse(_) => "alter_partition_response",
            Msg::PartitionChange { .. } => "controller_request",
            Msg::ErrorResponse(_) => "error_response",
            Msg::ControlledShutdownRequest { .. } => "controlled_shutdown_request",
            Msg::ControlledShutdownResponse { .. } => "controlled_shutdown_response",
        }
    }
}
