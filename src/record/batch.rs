//! RecordBatch v2, encoded and decoded byte for byte as Kafka lays it out (big-endian):
//!
//! | offset | field | covered by the CRC |
//! | --- | --- | --- |
//! | 0 | baseOffset `i64` | no |
//! | 8 | batchLength `i32` (total length - 12) | no |
//! | 12 | partitionLeaderEpoch `i32` | no |
//! | 16 | magic `i8` (2) | no |
//! | 17 | crc `u32`: CRC-32C of [21, end) | itself |
//! | 21 | attributes `i16` | yes |
//! | 23 | lastOffsetDelta `i32` | yes |
//! | 27 | baseTimestamp `i64` | yes |
//! | 35 | maxTimestamp `i64` | yes |
//! | 43 | producerId `i64` | yes |
//! | 51 | producerEpoch `i16` | yes |
//! | 53 | baseSequence `i32` | yes |
//! | 57 | recordsCount `i32` | yes |
//! | 61 | records, compressed as one stream when a codec is set | yes |
//!
//! # What decoding catches, and what it cannot
//!
//! Any change to the bytes from offset 17 on is caught: CRC-32C detects every single-bit
//! error and every burst of up to 32 bits, and other corruptions with probability
//! 1 - 2^-32. Decoding then checks the records themselves (lengths, varints, offset deltas
//! 0..n-1, record count, no trailing bytes), so even a batch with a forged CRC cannot make
//! the decoder panic or allocate past [`RECORDS_BYTES_MAX`](super::RECORDS_BYTES_MAX).
//!
//! The first 17 bytes are outside the CRC, because the leader rewrites `baseOffset` and
//! `partitionLeaderEpoch` on append. They are checked for consistency:
//!
//! - `magic` must be 2: every corruption of it is caught.
//! - `batchLength` must be at least 49 and fit the buffer; a changed length moves the end
//!   of the range the CRC covers, so a corrupt length fails the CRC (or is truncated), short
//!   of a 2^-32 coincidence.
//! - `baseOffset` must not be negative, and the last offset must fit an `i64`.
//! - `partitionLeaderEpoch` must be -1 or an epoch (not below -1).
//!
//! That is all the format allows. A corruption that turns `baseOffset` or
//! `partitionLeaderEpoch` into another plausible value (any base offset from 0, any epoch
//! from -1) decodes without error: this is a limit of Kafka's format, not of this decoder.
//! Catching it needs context the batch does not hold: the log's recovery checks that
//! offsets are contiguous from batch to batch and that leader epochs never decrease.

use bytes::Bytes;

use super::attributes::{BatchAttributes, TimestampType};
use super::batch_header::{
    check_base_offset, check_partition_leader_epoch, check_records_count, BatchHeader, Frame,
    ATTRIBUTES_AT, BASE_OFFSET_AT, BASE_SEQUENCE_AT, BASE_TIMESTAMP_AT, BATCH_HEADER_BYTES,
    BATCH_LENGTH_AT, CRC_AT, LAST_OFFSET_DELTA_AT, LOG_OVERHEAD, MAGIC_AT, MAGIC_V2,
    MAX_TIMESTAMP_AT, PARTITION_LEADER_EPOCH_AT, PRODUCER_EPOCH_AT, PRODUCER_ID_AT,
    RECORDS_COUNT_AT,
};
use super::compression::Compression;
use super::error::RecordError;
use super::records::{decode_records, encode_records, Record, RECORD_BYTES_MIN};
use super::RECORDS_BYTES_MAX;

/// A batch of records with its header fields: what a producer sends, a leader appends and a
/// follower or consumer fetches. `batchLength`, `magic`, `crc`, `lastOffsetDelta` and
/// `recordsCount` are not stored; they follow from the rest on [`RecordBatch::encode`].
#[derive(Debug, Clone, PartialEq, Eq, Hash)]
pub struct RecordBatch {
    /// Offset of the first record; 0 from a producer, assigned by the leader on append.
    pub base_offset: i64,
    /// The leader's epoch when it appended the batch; -1 from a producer.
    pub partition_leader_epoch: i32,
    /// Codec, timestamp type, transactional and control flags.
    pub attributes: BatchAttributes,
    /// Timestamp of the first record; record timestamps are deltas from it.
    pub base_timestamp: i64,
    /// Largest record timestamp, or the append time under LogAppendTime.
    pub max_timestamp: i64,
    /// Idempotent producer's id, -1 when not idempotent.
    pub producer_id: i64,
    /// Idempotent producer's epoch, -1 when not idempotent.
    pub producer_epoch: i16,
    /// Sequence of the first record, -1 when not idempotent.
    pub base_sequence: i32,
    /// The records; record `i` has offset delta `i`, and there is at least one.
    pub records: Vec<Record>,
}

/// The header fields that follow from the encoded records rather than from the batch value.
struct HeaderFields {
    batch_length: i32,
    last_offset_delta: i32,
    records_count: i32,
}

const _: () = assert!(RECORDS_BYTES_MAX / RECORD_BYTES_MIN <= i32::MAX as usize);

impl RecordBatch {
    /// Encodes the batch as Kafka's bytes: header, records compressed with the batch's
    /// codec, `batchLength` = total length - 12 and the CRC-32C of [21, end).
    ///
    /// Refuses what decoding would refuse: no records, offset deltas other than 0..n-1, a
    /// negative base offset, an epoch below -1, or records over
    /// [`RECORDS_BYTES_MAX`](super::RECORDS_BYTES_MAX) uncompressed.
    pub fn encode(&self) -> Result<Bytes, RecordError> {
        let codec = self.attributes.compression;
        let records_bytes: usize = self.records.iter().map(Record::encoded_len).sum();
        if records_bytes > RECORDS_BYTES_MAX {
            return Err(RecordError::RecordsTooLarge {
                codec,
                size: records_bytes,
                limit: RECORDS_BYTES_MAX,
            });
        }
        // Every record takes at least RECORD_BYTES_MIN bytes, so the count fits an i32.
        let records_count =
            i32::try_from(self.records.len()).expect("count bounded by RECORDS_BYTES_MAX");
        let last_offset_delta = records_count - 1;
        check_records_count(records_count, last_offset_delta)?;
        check_base_offset(self.base_offset, last_offset_delta)?;
        check_partition_leader_epoch(self.partition_leader_epoch)?;

        let mut out = vec![0; BATCH_HEADER_BYTES];
        if codec == Compression::None {
            out.reserve(records_bytes);
            encode_records(&self.records, &mut out)?;
        } else {
            let mut section = Vec::with_capacity(records_bytes);
            encode_records(&self.records, &mut section)?;
            out.extend_from_slice(&codec.compress(&section)?);
        }
        let batch_length =
            i32::try_from(out.len() - LOG_OVERHEAD).map_err(|_| RecordError::InvalidField {
                field: "batch_length",
                offset: BATCH_LENGTH_AT,
                value: i64::try_from(out.len() - LOG_OVERHEAD).unwrap_or(i64::MAX),
                reason: "compressed batch over i32::MAX",
            })?;
        self.write_header(
            &mut out,
            HeaderFields {
                batch_length,
                last_offset_delta,
                records_count,
            },
        );
        debug_assert_eq!(
            BatchHeader::parse(&out).map(|header| header.total_len()),
            Ok(out.len())
        );
        Ok(Bytes::from(out))
    }

    fn write_header(&self, out: &mut [u8], fields: HeaderFields) {
        put(out, BASE_OFFSET_AT, &self.base_offset.to_be_bytes());
        put(out, BATCH_LENGTH_AT, &fields.batch_length.to_be_bytes());
        put(
            out,
            PARTITION_LEADER_EPOCH_AT,
            &self.partition_leader_epoch.to_be_bytes(),
        );
        put(out, MAGIC_AT, &MAGIC_V2.to_be_bytes());
        put(out, ATTRIBUTES_AT, &self.attributes.to_i16().to_be_bytes());
        put(
            out,
            LAST_OFFSET_DELTA_AT,
            &fields.last_offset_delta.to_be_bytes(),
        );
        put(out, BASE_TIMESTAMP_AT, &self.base_timestamp.to_be_bytes());
        put(out, MAX_TIMESTAMP_AT, &self.max_timestamp.to_be_bytes());
        put(out, PRODUCER_ID_AT, &self.producer_id.to_be_bytes());
        put(out, PRODUCER_EPOCH_AT, &self.producer_epoch.to_be_bytes());
        put(out, BASE_SEQUENCE_AT, &self.base_sequence.to_be_bytes());
        put(out, RECORDS_COUNT_AT, &fields.records_count.to_be_bytes());
        let crc = crc32c::crc32c(&out[ATTRIBUTES_AT..]);
        put(out, CRC_AT, &crc.to_be_bytes());
    }

    /// Decodes the batch at the front of `buf`: the batch and the bytes it took, so a
    /// caller can decode the next batch from `&buf[consumed..]`.
    ///
    /// Checks, in order: the fields outside the CRC (magic 2, `batchLength` at least 49,
    /// `baseOffset` not negative, `partitionLeaderEpoch` at least -1), that the buffer holds
    /// the whole batch, the CRC, the header fields the CRC covers, the codec (output capped
    /// at [`RECORDS_BYTES_MAX`](super::RECORDS_BYTES_MAX)), then every record. So a flip in
    /// any byte the CRC covers is a [`RecordError::CrcMismatch`]. Never panics: every
    /// malformed input is a [`RecordError`] naming the field and offset.
    ///
    /// What no check can catch is a corrupt `baseOffset` or `partitionLeaderEpoch` that is
    /// still plausible (any offset >= 0, any epoch >= -1): they sit outside the CRC, a limit
    /// of Kafka's format. The log catches it from context (contiguous offsets across
    /// batches, non-decreasing epochs).
    pub fn decode(buf: &[u8]) -> Result<(RecordBatch, usize), RecordError> {
        let frame = Frame::parse(buf)?;
        frame.verify_crc(buf)?;
        let header = frame.header()?;
        let total = header.total_len();
        let compressed = &buf[BATCH_HEADER_BYTES..total];
        let section = Bytes::from(
            header
                .attributes
                .compression
                .decompress(compressed, RECORDS_BYTES_MAX)?,
        );
        let records = decode_records(&section, header.records_count)?;
        debug_assert_eq!(
            records.len(),
            usize::try_from(header.records_count).unwrap_or(0)
        );
        let batch = RecordBatch {
            base_offset: header.base_offset,
            partition_leader_epoch: header.partition_leader_epoch,
            attributes: header.attributes,
            base_timestamp: header.base_timestamp,
            max_timestamp: header.max_timestamp,
            producer_id: header.producer_id,
            producer_epoch: header.producer_epoch,
            base_sequence: header.base_sequence,
            records,
        };
        Ok((batch, total))
    }

    /// Offset delta of the last record: records count - 1 (-1 with no records).
    pub fn last_offset_delta(&self) -> i32 {
        i32::try_from(self.records.len()).map_or(i32::MAX, |count| count - 1)
    }

    /// Offset of the last record.
    pub fn last_offset(&self) -> i64 {
        self.base_offset
            .saturating_add(self.last_offset_delta().into())
    }

    /// Offset the next batch in the log starts at.
    pub fn next_offset(&self) -> i64 {
        self.last_offset().saturating_add(1)
    }

    /// Sequence of the last record, wrapping past `i32::MAX` to 0; -1 without a sequence.
    pub fn last_sequence(&self) -> i32 {
        super::batch_header::last_sequence(self.base_sequence, self.last_offset_delta())
    }

    /// Absolute offset of one of this batch's records.
    pub fn record_offset(&self, record: &Record) -> i64 {
        self.base_offset.saturating_add(record.offset_delta.into())
    }

    /// Absolute timestamp of one of this batch's records: the base timestamp plus its delta
    /// (wrapping, as Kafka's Java does), or the batch's `max_timestamp` under LogAppendTime.
    pub fn record_timestamp(&self, record: &Record) -> i64 {
        match self.attributes.timestamp_type {
            TimestampType::CreateTime => self.base_timestamp.wrapping_add(record.timestamp_delta),
            TimestampType::LogAppendTime => self.max_timestamp,
        }
    }
}

fn put(out: &mut [u8], at: usize, bytes: &[u8]) {
    out[at..at + bytes.len()].copy_from_slice(bytes);
}
