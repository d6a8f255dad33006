//! How a send ends: acknowledged with its metadata, definitely failed, or indeterminate.
//!
//! The split is DESIGN's "History and invariants": a failure is *definite* only when the
//! records can never be in the log, that is when the final error says the broker refused
//! them or they were never sent, and no earlier attempt of the batch reached the wire with
//! an outcome the producer never learned. Otherwise the failure is *indeterminate*: the
//! records may be in the log, and the checkers must allow both.

use crate::protocol::ErrorCode;

/// What ended a batch's attempt, or its delivery: the broker's error codes that the
/// producer treats specially by name, any other code as [`DeliveryError::Broker`], and the
/// producer's own reasons (timeouts, resets, refusals before a batch). Names are Kafka's.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord, thiserror::Error)]
pub enum DeliveryError {
    /// NOT_ENOUGH_REPLICAS: the ISR was below `min.insync.replicas`; nothing was appended.
    #[error("not enough replicas")]
    NotEnoughReplicas,
    /// NOT_LEADER_OR_FOLLOWER: the broker does not lead the partition; nothing appended.
    #[error("not leader or follower")]
    NotLeaderOrFollower,
    /// OUT_OF_ORDER_SEQUENCE_NUMBER: the broker saw a sequence gap; nothing appended.
    #[error("out of order sequence number")]
    OutOfOrderSequenceNumber,
    /// `delivery.timeout.ms` expired while the batch waited in the producer, unsent.
    #[error("expired unsent")]
    ExpiredUnsent,
    /// `request.timeout.ms` expired with the request on the wire: it may have been appended.
    #[error("request timed out")]
    RequestTimedOut,
    /// The connection was reset with the request on the wire: it may have been appended.
    #[error("connection reset")]
    ConnectionReset,
    /// NOT_ENOUGH_REPLICAS_AFTER_APPEND: appended, then the ISR shrank before commit; the
    /// records may survive.
    #[error("not enough replicas after append")]
    NotEnoughReplicasAfterAppend,
    /// INVALID_PRODUCER_EPOCH: the broker knows a newer epoch of this producer id; nothing
    /// appended.
    #[error("invalid producer epoch")]
    InvalidProducerEpoch,
    /// The record alone exceeds `max.request.size` (RecordTooLargeException); never sent.
    #[error("record too large")]
    RecordTooLarge,
    /// The send waited `max.block.ms` for buffer memory; never sent.
    #[error("buffer exhausted")]
    BufferExhausted,
    /// The batch builder or the broker refused the records as malformed (INVALID_RECORD).
    #[error("invalid record")]
    InvalidRecord,
    /// The producer took a new epoch (KIP-360) while an earlier attempt of the batch had an
    /// unknown outcome: stamped anew, the batch would no longer be recognised as a
    /// duplicate, so it is not sent again. The records may be in the log.
    #[error("epoch bumped with outcome unknown")]
    EpochBumped,
    /// Any other error code from the broker; whether records may be in the log follows
    /// [`ErrorCode::produce_definitely_failed`].
    #[error("broker error {}", .0.name())]
    Broker(ErrorCode),
}

impl DeliveryError {
    /// Whether an attempt that ended this way may have left its records in the log.
    pub fn outcome_unknown(self) -> bool {
        match self {
            DeliveryError::NotEnoughReplicas
            | DeliveryError::NotLeaderOrFollower
            | DeliveryError::OutOfOrderSequenceNumber
            | DeliveryError::ExpiredUnsent
            | DeliveryError::InvalidProducerEpoch
            | DeliveryError::RecordTooLarge
            | DeliveryError::BufferExhausted
            | DeliveryError::InvalidRecord => false,
            DeliveryError::RequestTimedOut
            | DeliveryError::ConnectionReset
            | DeliveryError::NotEnoughReplicasAfterAppend
            | DeliveryError::EpochBumped => true,
            DeliveryError::Broker(code) => !code.produce_definitely_failed(),
        }
    }

    /// The error a broker's code means for a produce; `None` for success.
    pub fn from_code(code: ErrorCode) -> Option<DeliveryError> {
        Some(match code {
            ErrorCode::None => return None,
            ErrorCode::NotEnoughReplicas => DeliveryError::NotEnoughReplicas,
            ErrorCode::NotLeaderOrFollower => DeliveryError::NotLeaderOrFollower,
            ErrorCode::OutOfOrderSequenceNumber => DeliveryError::OutOfOrderSequenceNumber,
            ErrorCode::RequestTimedOut => DeliveryError::RequestTimedOut,
            ErrorCode::NotEnoughReplicasAfterAppend => DeliveryError::NotEnoughReplicasAfterAppend,
            ErrorCode::InvalidProducerEpoch => DeliveryError::InvalidProducerEpoch,
            ErrorCode::InvalidRecord => DeliveryError::InvalidRecord,
            other => DeliveryError::Broker(other),
        })
    }

    /// Kafka's name for the error, as the history records it (`NOT_ENOUGH_REPLICAS`); the
    /// producer's own reasons use Kafka's exception names in the same style.
    pub fn name(self) -> &'static str {
        match self {
            DeliveryError::NotEnoughReplicas => "NOT_ENOUGH_REPLICAS",
            DeliveryError::NotLeaderOrFollower => "NOT_LEADER_OR_FOLLOWER",
            DeliveryError::OutOfOrderSequenceNumber => "OUT_OF_ORDER_SEQUENCE_NUMBER",
            DeliveryError::ExpiredUnsent => "EXPIRED_UNSENT",
            DeliveryError::RequestTimedOut => "REQUEST_TIMED_OUT",
            DeliveryError::ConnectionReset => "CONNECTION_RESET",
            DeliveryError::NotEnoughReplicasAfterAppend => "NOT_ENOUGH_REPLICAS_AFTER_APPEND",
            DeliveryError::InvalidProducerEpoch => "INVALID_PRODUCER_EPOCH",
            DeliveryError::RecordTooLarge => "RECORD_TOO_LARGE",
            DeliveryError::BufferExhausted => "BUFFER_EXHAUSTED",
            DeliveryError::InvalidRecord => "INVALID_RECORD",
            DeliveryError::EpochBumped => "EPOCH_BUMPED",
            DeliveryError::Broker(code) => code.name(),
        }
    }
}

/// Whether a failed send's records can be in the log.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub enum FailureKind {
    /// They cannot: no attempt may have appended them.
    Definite,
    /// They may be: some attempt reached the wire and its outcome is unknown.
    Indeterminate,
}

/// Classifies a batch's final failure. `earlier_outcome_unknown` says whether any earlier
/// attempt of the batch ended with an unknown outcome; the final error alone decides
/// otherwise. Pure, so the Sender, the history and the tests share one table.
pub fn classify(earlier_outcome_unknown: bool, error: DeliveryError) -> FailureKind {
    if earlier_outcome_unknown || error.outcome_unknown() {
        FailureKind::Indeterminate
    } else {
        FailureKind::Definite
    }
}

/// What an acknowledged send learns, as Kafka's `RecordMetadata`.
#[derive(Debug, Clone, PartialEq, Eq, Hash)]
pub struct RecordMetadata {
    /// The record's topic.
    pub topic: String,
    /// The record's partition.
    pub partition: i32,
    /// The record's offset: the batch's base offset plus its index; -1 under acks=0.
    pub offset: i64,
    /// The record's timestamp: its create time, or the broker's log append time.
    pub timestamp: i64,
    /// Bytes of the serialized key, -1 for a null key.
    pub serialized_key_size: i32,
    /// Bytes of the serialized value, -1 for a null value.
    pub serialized_value_size: i32,
}

/// How one send completed; every send gets exactly one.
#[derive(Debug, Clone, PartialEq, Eq, Hash)]
pub enum SendOutcome {
    /// Acknowledged as `acks` says.
    Ok(RecordMetadata),
    /// Failed, and the record is certainly not in the log.
    DefinitelyFailed(DeliveryError),
    /// Failed, and the record may be in the log.
    Indeterminate(DeliveryError),
}

impl SendOutcome {
    /// The outcome as the invariants crate's history records it.
    pub fn to_history(&self) -> odradek_invariants::SendOutcome {
        use odradek_invariants::SendOutcome as History;
        match self {
            SendOutcome::Ok(metadata) => History::Ok {
                offset: metadata.offset,
            },
            SendOutcome::DefinitelyFailed(error) => History::Failed {
                error: error.name().to_string(),
            },
            SendOutcome::Indeterminate(error) => History::Indeterminate {
                reason: error.name().to_string(),
            },
        }
    }

    /// The failure outcome [`classify`] gives.
    pub fn failed(earlier_outcome_unknown: bool, error: DeliveryError) -> SendOutcome {
        match classify(earlier_outcome_unknown, error) {
            FailureKind::Definite => SendOutcome::DefinitelyFailed(error),
            FailureKind::Indeterminate => SendOutcome::Indeterminate(error),
        }
    }
}
