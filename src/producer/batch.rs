//! One batch of the accumulator: records bound for one partition, the sends waiting on
//! them, and, once drained, the encoded bytes with the producer state they were stamped
//! with. A batch is sealed (closed, compressed, stamped) once, at its first drain, and keeps
//! its bytes and sequence number through every retry.

use bytes::Bytes;

use super::outcome::{DeliveryError, RecordMetadata, SendOutcome};
use super::topic_partition::TopicPartition;
use crate::record::{
    BatchBuilder, BatchOptions, Compression, Header, ProducerRecord, Record, RecordBatch,
    RecordError, BATCH_HEADER_BYTES,
};

/// The caller's name for a send, such as the history's operation id. The accumulator never
/// makes one up; it hands each back exactly once, with the send's outcome.
#[derive(
    Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord, serde::Serialize, serde::Deserialize,
)]
pub struct SendId(pub u64);

/// An idempotent producer's identity, from InitProducerId.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub struct ProducerIdEpoch {
    /// The producer id.
    pub producer_id: i64,
    /// The producer epoch.
    pub producer_epoch: i16,
}

/// One record's send, kept with its batch until the batch completes.
#[derive(Debug, Clone, PartialEq, Eq, Hash)]
pub struct RecordSend {
    /// Whose send it is.
    pub send: SendId,
    /// The record's create time, in milliseconds.
    pub timestamp: i64,
    /// Bytes of the serialized key, -1 for null: for [`RecordMetadata`].
    pub serialized_key_size: i32,
    /// Bytes of the serialized value, -1 for null.
    pub serialized_value_size: i32,
}

/// A batch as its first drain closed it.
#[derive(Debug, Clone, PartialEq, Eq, Hash)]
struct Sealed {
    producer: Option<ProducerIdEpoch>,
    /// -1 when not idempotent.
    base_sequence: i32,
    encoded: Bytes,
}

#[derive(Debug, Clone, PartialEq, Eq, Hash)]
enum Contents {
    /// Still taking records (if it is its queue's tail).
    Open(BatchBuilder),
    /// Closed, compressed and stamped: the bytes every attempt sends.
    Sealed(Sealed),
}

/// Records bound for one partition, sent and retried together.
#[derive(Debug, Clone, PartialEq, Eq, Hash)]
pub struct ProducerBatch {
    topic_partition: TopicPartition,
    contents: Contents,
    /// One per record, in offset-delta order.
    sends: Vec<RecordSend>,
    /// `buffer.memory` bytes this batch holds until it completes.
    reserved_bytes: usize,
    /// `linger.ms` has passed since the batch was created (or linger is 0).
    pub(super) lingered: bool,
    /// A retry waits out `retry.backoff.ms` before it may be drained again.
    pub(super) backing_off: bool,
    /// Some earlier attempt reached the wire and its outcome is unknown.
    outcome_unknown: bool,
    /// Times it was queued again for a retry (Kafka's `attempts`), against `retries`.
    pub(super) retried: u32,
}

/// An upper bound on the bytes `record` takes in any batch: its encoding with the widest
/// timestamp and offset deltas. Kafka's `estimateSizeInBytesUpperBound` without the header.
pub(super) fn record_bytes_upper_bound(record: &ProducerRecord) -> usize {
    Record {
        attributes: 0,
        timestamp_delta: i64::MIN,
        offset_delta: i32::MAX,
        key: record.key.clone(),
        value: record.value.clone(),
        headers: record.headers.clone(),
    }
    .encoded_len()
}

fn nullable_size(bytes: &Option<Bytes>) -> i32 {
    bytes
        .as_ref()
        .map_or(-1, |bytes| i32::try_from(bytes.len()).unwrap_or(i32::MAX))
}

impl ProducerBatch {
    /// An empty open batch for `topic_partition` holding `reserved_bytes` of buffer memory.
    pub(super) fn new(
        topic_partition: TopicPartition,
        compression: Compression,
        reserved_bytes: usize,
        lingered: bool,
    ) -> ProducerBatch {
        let options = BatchOptions {
            compression,
            ..BatchOptions::default()
        };
        ProducerBatch {
            topic_partition,
            contents: Contents::Open(BatchBuilder::new(options)),
            sends: Vec::new(),
            reserved_bytes,
            lingered,
            backing_off: false,
            outcome_unknown: false,
            retried: 0,
        }
    }

    /// Appends `record` for `send` if the batch is open and has room within `batch_size`
    /// (an empty batch always has room); returns whether it did.
    pub(super) fn try_append(
        &mut self,
        send: SendId,
        timestamp: i64,
        record: &ProducerRecord,
        batch_size: usize,
    ) -> Result<bool, RecordError> {
        let Contents::Open(builder) = &mut self.contents else {
            return Ok(false);
        };
        if let Some(first) = self.sends.first() {
            let record_bytes =
                exact_record_bytes(first.timestamp, self.sends.len(), timestamp, record);
            if BATCH_HEADER_BYTES + builder.records_bytes() + record_bytes > batch_size {
                return Ok(false);
            }
        }
        let headers: Vec<Header> = record.headers.clone();
        builder.append(timestamp, record.key.clone(), record.value.clone(), headers)?;
        self.sends.push(RecordSend {
            send,
            timestamp,
            serialized_key_size: nullable_size(&record.key),
            serialized_value_size: nullable_size(&record.value),
        });
        debug_assert!(self.size_bytes() <= self.reserved_bytes.max(batch_size));
        Ok(true)
    }

    /// The bytes this batch would take if sealed now with `producer` and `base_sequence`:
    /// the sealed bytes themselves, or a fresh encoding of the open batch.
    pub(super) fn encode(
        &self,
        producer: Option<ProducerIdEpoch>,
        base_sequence: i32,
    ) -> Result<Bytes, RecordError> {
        match &self.contents {
            Contents::Sealed(sealed) => Ok(sealed.encoded.clone()),
            Contents::Open(builder) => {
                let mut batch = builder.clone().build()?;
                if let Some(producer) = producer {
                    batch.producer_id = producer.producer_id;
                    batch.producer_epoch = producer.producer_epoch;
                    batch.base_sequence = base_sequence;
                }
                batch.encode()
            }
        }
    }

    /// Closes the batch for good with the bytes [`ProducerBatch::encode`] gave.
    pub(super) fn seal(
        &mut self,
        producer: Option<ProducerIdEpoch>,
        base_sequence: i32,
        encoded: Bytes,
    ) {
        debug_assert!(!self.is_sealed(), "a batch is sealed once");
        let base_sequence = if producer.is_some() {
            base_sequence
        } else {
            -1
        };
        self.contents = Contents::Sealed(Sealed {
            producer,
            base_sequence,
            encoded,
        });
    }

    /// Stamps a sealed batch again with `producer` and `base_sequence`, re-encoding its
    /// bytes. Only two decisions call this: an epoch bump, after which the old sequences
    /// mean nothing to the broker, and the `reassign_sequence_on_retry` bug. A batch whose
    /// re-encoding fails keeps its old stamp.
    pub(super) fn restamp(
        &mut self,
        producer: ProducerIdEpoch,
        base_sequence: i32,
    ) -> Result<(), RecordError> {
        let Contents::Sealed(sealed) = &mut self.contents else {
            debug_assert!(false, "only sealed batches are restamped");
            return Ok(());
        };
        let (mut batch, _) = RecordBatch::decode(&sealed.encoded)?;
        batch.producer_id = producer.producer_id;
        batch.producer_epoch = producer.producer_epoch;
        batch.base_sequence = base_sequence;
        sealed.encoded = batch.encode()?;
        sealed.producer = Some(producer);
        sealed.base_sequence = base_sequence;
        Ok(())
    }

    /// The batch's first send: with the partition, the batch's name in timer keys, since a
    /// send is in exactly one batch.
    pub fn first_send(&self) -> SendId {
        self.sends
            .first()
            .expect("a batch holds at least one record")
            .send
    }

    /// The partition the batch is bound for.
    pub fn topic_partition(&self) -> &TopicPartition {
        &self.topic_partition
    }

    /// Records in the batch.
    pub fn record_count(&self) -> usize {
        self.sends.len()
    }

    /// The sends waiting on this batch, one per record in offset order.
    pub fn sends(&self) -> &[RecordSend] {
        &self.sends
    }

    /// The batch's size in bytes: encoded once sealed, else header plus uncompressed
    /// records (what `batch.size` is compared with).
    pub fn size_bytes(&self) -> usize {
        match &self.contents {
            Contents::Open(builder) => BATCH_HEADER_BYTES + builder.records_bytes(),
            Contents::Sealed(sealed) => sealed.encoded.len(),
        }
    }

    /// `buffer.memory` bytes the batch holds until it completes.
    pub fn reserved_bytes(&self) -> usize {
        self.reserved_bytes
    }

    /// Whether the batch was drained at least once, and so has its final bytes.
    pub fn is_sealed(&self) -> bool {
        matches!(self.contents, Contents::Sealed(_))
    }

    /// The RecordBatch bytes every attempt sends, once sealed.
    pub fn encoded(&self) -> Option<&Bytes> {
        match &self.contents {
            Contents::Sealed(sealed) => Some(&sealed.encoded),
            Contents::Open(_) => None,
        }
    }

    /// The producer id and epoch the batch was stamped with, if idempotent and sealed.
    pub fn producer(&self) -> Option<ProducerIdEpoch> {
        match &self.contents {
            Contents::Sealed(sealed) => sealed.producer,
            Contents::Open(_) => None,
        }
    }

    /// The batch's base sequence, if idempotent and sealed. Never changes once assigned.
    pub fn base_sequence(&self) -> Option<i32> {
        self.producer().and(match &self.contents {
            Contents::Sealed(sealed) => Some(sealed.base_sequence),
            Contents::Open(_) => None,
        })
    }

    /// Whether the batch waits out a retry backoff.
    pub fn is_backing_off(&self) -> bool {
        self.backing_off
    }

    /// Times the batch was queued again for a retry.
    pub fn retried(&self) -> u32 {
        self.retried
    }

    /// Whether some attempt reached the wire with an outcome the producer never learned.
    pub fn outcome_unknown(&self) -> bool {
        self.outcome_unknown
    }

    /// Notes a failed attempt, before a retry or the final completion: what
    /// [`classify`](super::classify) needs of the batch's history.
    pub fn record_failed_attempt(&mut self, error: DeliveryError) {
        self.outcome_unknown |= error.outcome_unknown();
    }

    /// Every send's outcome after the batch was acknowledged at `base_offset` (-1 under
    /// acks=0), stamped with the broker's log append time if it gave one.
    pub(super) fn acknowledged(
        self,
        base_offset: i64,
        log_append_time_ms: Option<i64>,
    ) -> Vec<(SendId, SendOutcome)> {
        let topic_partition = self.topic_partition;
        let offsets = (0..).map(|index: i64| {
            if base_offset < 0 {
                -1
            } else {
                base_offset + index
            }
        });
        self.sends
            .into_iter()
            .zip(offsets)
            .map(|(send, offset)| {
                let metadata = RecordMetadata {
                    topic: topic_partition.topic.clone(),
                    partition: topic_partition.partition,
                    offset,
                    timestamp: log_append_time_ms.unwrap_or(send.timestamp),
                    serialized_key_size: send.serialized_key_size,
                    serialized_value_size: send.serialized_value_size,
                };
                (send.send, SendOutcome::Ok(metadata))
            })
            .collect()
    }

    /// Every send's outcome after the batch failed for good with `error`.
    pub(super) fn failed(self, error: DeliveryError) -> Vec<(SendId, SendOutcome)> {
        let outcome = SendOutcome::failed(self.outcome_unknown, error);
        self.sends
            .into_iter()
            .map(|send| (send.send, outcome.clone()))
            .collect()
    }
}

/// Bytes `record` takes as record `index` of a batch whose first record has
/// `base_timestamp`.
fn exact_record_bytes(
    base_timestamp: i64,
    index: usize,
    timestamp: i64,
    record: &ProducerRecord,
) -> usize {
    Record {
        attributes: 0,
        timestamp_delta: timestamp.wrapping_sub(base_timestamp),
        offset_delta: i32::try_from(index).unwrap_or(i32::MAX),
        key: record.key.clone(),
        value: record.value.clone(),
        headers: record.headers.clone(),
    }
    .encoded_len()
}
