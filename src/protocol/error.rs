//! Kafka's error codes by name, with Kafka's numbers, and which of them leave a produce's
//! outcome unknown.

use serde::{Deserialize, Serialize};

/// A Kafka error code. `None` is success.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord, Serialize, Deserialize)]
pub enum ErrorCode {
    /// Success.
    None,
    /// An unexpected failure on the server (UNKNOWN_SERVER_ERROR).
    UnknownServerError,
    /// The offset asked for lies outside the log.
    OffsetOutOfRange,
    /// A batch failed its CRC or was malformed.
    CorruptMessage,
    /// The partition is not known to this broker.
    UnknownTopicOrPartition,
    /// The partition has no leader right now.
    LeaderNotAvailable,
    /// This broker does not lead (or follow) the partition.
    NotLeaderOrFollower,
    /// The request did not complete in time; its effect is unknown.
    RequestTimedOut,
    /// Too few in-sync replicas; nothing was appended.
    NotEnoughReplicas,
    /// Appended, but the ISR shrank below `min.insync.replicas` before it committed.
    NotEnoughReplicasAfterAppend,
    /// The acks value is not -1, 0 or 1.
    InvalidRequiredAcks,
    /// The request is malformed or unexpected.
    InvalidRequest,
    /// A gap in an idempotent producer's sequence.
    OutOfOrderSequenceNumber,
    /// The producer epoch is older than the broker's.
    InvalidProducerEpoch,
    /// The log's disk failed.
    KafkaStorageError,
    /// The sender's leader epoch is older than the receiver's.
    FencedLeaderEpoch,
    /// The sender's leader epoch is newer than the receiver's.
    UnknownLeaderEpoch,
    /// The broker epoch is not the registered one.
    StaleBrokerEpoch,
    /// The leader has not yet committed its epoch's start offset (KIP-207).
    OffsetNotAvailable,
    /// The records are invalid (more than one batch for an idempotent producer, say).
    InvalidRecord,
    /// The partition epoch of an ISR change is stale.
    InvalidUpdateVersion,
    /// A replica added to the ISR is not eligible (fenced, or another broker epoch).
    IneligibleReplica,
}

impl ErrorCode {
    /// Kafka's numeric code.
    pub fn code(self) -> i16 {
        match self {
            ErrorCode::None => 0,
            ErrorCode::UnknownServerError => -1,
            ErrorCode::OffsetOutOfRange => 1,
            ErrorCode::CorruptMessage => 2,
            ErrorCode::UnknownTopicOrPartition => 3,
            ErrorCode::LeaderNotAvailable => 5,
            ErrorCode::NotLeaderOrFollower => 6,
            ErrorCode::RequestTimedOut => 7,
            ErrorCode::NotEnoughReplicas => 19,
            ErrorCode::NotEnoughReplicasAfterAppend => 20,
            ErrorCode::InvalidRequiredAcks => 21,
            ErrorCode::InvalidRequest => 42,
            ErrorCode::OutOfOrderSequenceNumber => 45,
            ErrorCode::InvalidProducerEpoch => 47,
            ErrorCode::KafkaStorageError => 56,
            ErrorCode::FencedLeaderEpoch => 74,
            ErrorCode::UnknownLeaderEpoch => 75,
            ErrorCode::StaleBrokerEpoch => 77,
            ErrorCode::OffsetNotAvailable => 78,
            ErrorCode::InvalidRecord => 87,
            ErrorCode::InvalidUpdateVersion => 95,
            ErrorCode::IneligibleReplica => 107,
        }
    }

    /// Kafka's name, as the history records it (`NOT_ENOUGH_REPLICAS`).
    pub fn name(self) -> &'static str {
        match self {
            ErrorCode::None => "NONE",
            ErrorCode::UnknownServerError => "UNKNOWN_SERVER_ERROR",
            ErrorCode::OffsetOutOfRange => "OFFSET_OUT_OF_RANGE",
            ErrorCode::CorruptMessage => "CORRUPT_MESSAGE",
            ErrorCode::UnknownTopicOrPartition => "UNKNOWN_TOPIC_OR_PARTITION",
            ErrorCode::LeaderNotAvailable => "LEADER_NOT_AVAILABLE",
            ErrorCode::NotLeaderOrFollower => "NOT_LEADER_OR_FOLLOWER",
            ErrorCode::RequestTimedOut => "REQUEST_TIMED_OUT",
            ErrorCode::NotEnoughReplicas => "NOT_ENOUGH_REPLICAS",
            ErrorCode::NotEnoughReplicasAfterAppend => "NOT_ENOUGH_REPLICAS_AFTER_APPEND",
            ErrorCode::InvalidRequiredAcks => "INVALID_REQUIRED_ACKS",
            ErrorCode::InvalidRequest => "INVALID_REQUEST",
            ErrorCode::OutOfOrderSequenceNumber => "OUT_OF_ORDER_SEQUENCE_NUMBER",
            ErrorCode::InvalidProducerEpoch => "INVALID_PRODUCER_EPOCH",
            ErrorCode::KafkaStorageError => "KAFKA_STORAGE_ERROR",
            ErrorCode::FencedLeaderEpoch => "FENCED_LEADER_EPOCH",
            ErrorCode::UnknownLeaderEpoch => "UNKNOWN_LEADER_EPOCH",
            ErrorCode::StaleBrokerEpoch => "STALE_BROKER_EPOCH",
            ErrorCode::OffsetNotAvailable => "OFFSET_NOT_AVAILABLE",
            ErrorCode::InvalidRecord => "INVALID_RECORD",
            ErrorCode::InvalidUpdateVersion => "INVALID_UPDATE_VERSION",
            ErrorCode::IneligibleReplica => "INELIGIBLE_REPLICA",
        }
    }

    /// Whether a produce answered with this error definitely appended nothing. The rest
    /// (timeouts, NOT_ENOUGH_REPLICAS_AFTER_APPEND, storage errors) leave it unknown.
    pub fn produce_definitely_failed(self) -> bool {
        matches!(
            self,
            ErrorCode::NotEnoughReplicas
                | ErrorCode::NotLeaderOrFollower
                | ErrorCode::OutOfOrderSequenceNumber
                | ErrorCode::InvalidProducerEpoch
                | ErrorCode::InvalidRequiredAcks
                | ErrorCode::InvalidRecord
                | ErrorCode::CorruptMessage
                | ErrorCode::UnknownTopicOrPartition
                | ErrorCode::InvalidRequest
        )
    }
}
