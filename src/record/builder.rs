//! Building a batch the way a producer does: append records one at a time, each with the
//! timestamp it was sent at, then seal the batch. The builder computes what Kafka's
//! `MemoryRecordsBuilder` computes: offset deltas 0..n-1, timestamp deltas from the first
//! record, the largest timestamp, and the uncompressed size a `batch.size` decision needs.

use bytes::Bytes;

use super::attributes::BatchAttributes;
use super::batch::RecordBatch;
use super::batch_header::RECORDS_COUNT_AT;
use super::compression::Compression;
use super::error::RecordError;
use super::records::{Header, Record};
use super::RECORDS_BYTES_MAX;

/// How a producer's batches are stamped: codec and idempotence fields. The defaults are
/// Kafka's for a non-idempotent producer without compression.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub struct BatchOptions {
    /// The codec of the records section.
    pub compression: Compression,
    /// Idempotent producer's id, -1 when not idempotent.
    pub producer_id: i64,
    /// Idempotent producer's epoch, -1 when not idempotent.
    pub producer_epoch: i16,
    /// Sequence of the batch's first record, -1 when not idempotent.
    pub base_sequence: i32,
}

impl Default for BatchOptions {
    fn default() -> BatchOptions {
        BatchOptions {
            compression: Compression::None,
            producer_id: -1,
            producer_epoch: -1,
            base_sequence: -1,
        }
    }
}

/// A batch being filled by a producer; [`BatchBuilder::build`] seals it.
#[derive(Debug, Clone, PartialEq, Eq, Hash)]
pub struct BatchBuilder {
    options: BatchOptions,
    records: Vec<Record>,
    /// Timestamp of the first record, once there is one.
    base_timestamp: Option<i64>,
    max_timestamp: i64,
    /// Uncompressed size of the records section so far.
    records_bytes: usize,
}

impl BatchBuilder {
    /// An empty batch with `options`.
    pub fn new(options: BatchOptions) -> BatchBuilder {
        BatchBuilder {
            options,
            records: Vec::new(),
            base_timestamp: None,
            max_timestamp: i64::MIN,
            records_bytes: 0,
        }
    }

    /// Appends a record sent at `timestamp` (milliseconds); returns its offset delta.
    /// Refuses a record that would take the records section past
    /// [`RECORDS_BYTES_MAX`](super::RECORDS_BYTES_MAX), leaving the batch as it was.
    pub fn append(
        &mut self,
        timestamp: i64,
        key: Option<Bytes>,
        value: Option<Bytes>,
        headers: Vec<Header>,
    ) -> Result<i32, RecordError> {
        let base_timestamp = self.base_timestamp.unwrap_or(timestamp);
        // The records limit bounds the count far below i32::MAX (a record takes 7 bytes).
        let offset_delta = i32::try_from(self.records.len()).unwrap_or(i32::MAX);
        let record = Record {
            attributes: 0,
            timestamp_delta: timestamp.wrapping_sub(base_timestamp),
            offset_delta,
            key,
            value,
            headers,
        };
        let records_bytes = self.records_bytes.saturating_add(record.encoded_len());
        if records_bytes > RECORDS_BYTES_MAX {
            let codec = self.options.compression;
            return Err(RecordError::RecordsTooLarge {
                codec,
                size: records_bytes,
                limit: RECORDS_BYTES_MAX,
            });
        }
        self.base_timestamp = Some(base_timestamp);
        self.max_timestamp = self.max_timestamp.max(timestamp);
        self.records_bytes = records_bytes;
        self.records.push(record);
        Ok(offset_delta)
    }

    /// Records appended so far.
    pub fn len(&self) -> usize {
        self.records.len()
    }

    /// Whether no record was appended yet.
    pub fn is_empty(&self) -> bool {
        self.records.is_empty()
    }

    /// Uncompressed size of the records section so far, in bytes: what the producer
    /// compares with `batch.size`.
    pub fn records_bytes(&self) -> usize {
        self.records_bytes
    }

    /// Seals the batch: base offset 0 and epoch -1 until a leader appends it, CreateTime.
    /// Refuses an empty batch, which Kafka's broker would refuse too.
    pub fn build(self) -> Result<RecordBatch, RecordError> {
        let Some(base_timestamp) = self.base_timestamp else {
            return Err(RecordError::InvalidField {
                field: "records_count",
                offset: RECORDS_COUNT_AT,
                value: 0,
                reason: "a batch holds at least one record",
            });
        };
        Ok(RecordBatch {
            base_offset: 0,
            partition_leader_epoch: -1,
            attributes: BatchAttributes {
                compression: self.options.compression,
                ..BatchAttributes::default()
            },
            base_timestamp,
            max_timestamp: self.max_timestamp,
            producer_id: self.options.producer_id,
            producer_epoch: self.options.producer_epoch,
            base_sequence: self.options.base_sequence,
            records: self.records,
        })
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn deltas_run_from_the_first_record() {
        let mut builder = BatchBuilder::new(BatchOptions::default());
        assert_eq!(
            builder.append(1_000, None, Some(Bytes::from_static(b"a")), vec![]),
            Ok(0)
        );
        assert_eq!(builder.append(990, None, None, vec![]), Ok(1));
        assert_eq!(builder.append(1_020, None, None, vec![]), Ok(2));
        assert_eq!(builder.len(), 3);
        let expected_bytes: usize = 8 + 7 + 7;
        assert_eq!(builder.records_bytes(), expected_bytes);
        let batch = builder.build().expect("build");
        assert_eq!((batch.base_timestamp, batch.max_timestamp), (1_000, 1_020));
        let deltas: Vec<(i32, i64)> = batch
            .records
            .iter()
            .map(|r| (r.offset_delta, r.timestamp_delta))
            .collect();
        assert_eq!(deltas, [(0, 0), (1, -10), (2, 20)]);
        assert_eq!(batch.last_offset_delta(), 2);
        assert_eq!(
            batch.encode().map(|bytes| bytes.len()),
            Ok(61 + expected_bytes)
        );
    }

    #[test]
    fn an_empty_batch_is_refused() {
        let builder = BatchBuilder::new(BatchOptions::default());
        assert!(builder.is_empty());
        let error = builder.build().expect_err("empty");
        assert_eq!(
            error.to_string(),
            "invalid header field: a batch holds at least one record. field=records_count offset=57 value=0"
        );
    }

    #[test]
    fn a_record_past_the_limit_leaves_the_batch_unchanged() {
        let mut builder = BatchBuilder::new(BatchOptions {
            compression: Compression::Zstd,
            ..BatchOptions::default()
        });
        let huge = Bytes::from(vec![0; RECORDS_BYTES_MAX]);
        let error = builder
            .append(5, None, Some(huge), vec![])
            .expect_err("over the limit");
        assert!(
            matches!(
                error,
                RecordError::RecordsTooLarge {
                    codec: Compression::Zstd,
                    ..
                }
            ),
            "{error}"
        );
        assert!(builder.is_empty());
        assert_eq!(builder.records_bytes(), 0);
        assert_eq!(builder.append(7, None, None, vec![]), Ok(0));
        assert_eq!(builder.build().map(|batch| batch.base_timestamp), Ok(7));
    }

    #[test]
    fn timestamps_at_the_extremes_wrap_like_kafka() {
        let mut builder = BatchBuilder::new(BatchOptions::default());
        builder
            .append(i64::MAX, None, None, vec![])
            .expect("append");
        builder
            .append(i64::MIN, None, None, vec![])
            .expect("append");
        let batch = builder.build().expect("build");
        let timestamps: Vec<i64> = batch
            .records
            .iter()
            .map(|record| batch.record_timestamp(record))
            .collect();
        assert_eq!(timestamps, [i64::MAX, i64::MIN]);
        let (decoded, _) = RecordBatch::decode(&batch.encode().expect("encode")).expect("decode");
        assert_eq!(decoded, batch);
    }
}
