//! The 61-byte header of a RecordBatch v2, read without touching the records: what the log
//! needs to recover a segment (offsets, epoch, length, CRC) and the broker to check a
//! producer's sequence, without decompressing anything. Also the in-place restamping of the
//! two fields the leader assigns on append, which the CRC does not cover.

use super::attributes::BatchAttributes;
use super::error::RecordError;

/// Bytes of a v2 batch header; the records section starts here.
pub const BATCH_HEADER_BYTES: usize = 61;

/// The magic byte of the v2 format, the only format Odradek reads or writes.
pub const MAGIC_V2: i8 = 2;

/// Bytes before `batchLength` counts: `baseOffset` and `batchLength` itself (Kafka's
/// `LOG_OVERHEAD`).
pub(super) const LOG_OVERHEAD: usize = 12;

/// The smallest `batchLength`: a header with an empty records section.
pub(super) const BATCH_LENGTH_MIN: usize = BATCH_HEADER_BYTES - LOG_OVERHEAD;

pub(super) const BASE_OFFSET_AT: usize = 0;
pub(super) const BATCH_LENGTH_AT: usize = 8;
pub(super) const PARTITION_LEADER_EPOCH_AT: usize = 12;
pub(super) const MAGIC_AT: usize = 16;
pub(super) const CRC_AT: usize = 17;
/// The CRC covers the batch from here to its end.
pub(super) const ATTRIBUTES_AT: usize = 21;
pub(super) const LAST_OFFSET_DELTA_AT: usize = 23;
pub(super) const BASE_TIMESTAMP_AT: usize = 27;
pub(super) const MAX_TIMESTAMP_AT: usize = 35;
pub(super) const PRODUCER_ID_AT: usize = 43;
pub(super) const PRODUCER_EPOCH_AT: usize = 51;
pub(super) const BASE_SEQUENCE_AT: usize = 53;
pub(super) const RECORDS_COUNT_AT: usize = 57;

const _: () = assert!(BATCH_LENGTH_AT == BASE_OFFSET_AT + 8);
const _: () = assert!(PARTITION_LEADER_EPOCH_AT == BATCH_LENGTH_AT + 4);
const _: () = assert!(MAGIC_AT == PARTITION_LEADER_EPOCH_AT + 4);
const _: () = assert!(CRC_AT == MAGIC_AT + 1);
const _: () = assert!(ATTRIBUTES_AT == CRC_AT + 4);
const _: () = assert!(LAST_OFFSET_DELTA_AT == ATTRIBUTES_AT + 2);
const _: () = assert!(BASE_TIMESTAMP_AT == LAST_OFFSET_DELTA_AT + 4);
const _: () = assert!(MAX_TIMESTAMP_AT == BASE_TIMESTAMP_AT + 8);
const _: () = assert!(PRODUCER_ID_AT == MAX_TIMESTAMP_AT + 8);
const _: () = assert!(PRODUCER_EPOCH_AT == PRODUCER_ID_AT + 8);
const _: () = assert!(BASE_SEQUENCE_AT == PRODUCER_EPOCH_AT + 2);
const _: () = assert!(RECORDS_COUNT_AT == BASE_SEQUENCE_AT + 4);
const _: () = assert!(BATCH_HEADER_BYTES == RECORDS_COUNT_AT + 4);
const _: () = assert!(BATCH_LENGTH_MIN == 49);

/// A batch's header fields, parsed and checked for consistency (see [`BatchHeader::parse`]).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub struct BatchHeader {
    /// Offset of the first record (offset 0); assigned by the leader on append.
    pub base_offset: i64,
    /// Bytes after this field to the batch's end: total length - 12 (offset 8).
    pub batch_length: i32,
    /// The leader's epoch when it appended the batch, -1 before (offset 12).
    pub partition_leader_epoch: i32,
    /// The format's magic byte, always 2 once parsed (offset 16).
    pub magic: i8,
    /// CRC-32C of the bytes from offset 21 to the end, as stored (offset 17).
    pub crc: u32,
    /// Codec, timestamp type, transactional and control flags (offset 21).
    pub attributes: BatchAttributes,
    /// Offset delta of the last record: records count - 1 (offset 23).
    pub last_offset_delta: i32,
    /// Timestamp of the first record (offset 27).
    pub base_timestamp: i64,
    /// Largest record timestamp, or the append time under LogAppendTime (offset 35).
    pub max_timestamp: i64,
    /// Idempotent producer's id, -1 when not idempotent (offset 43).
    pub producer_id: i64,
    /// Idempotent producer's epoch, -1 when not idempotent (offset 51).
    pub producer_epoch: i16,
    /// Sequence of the first record, -1 when not idempotent (offset 53).
    pub base_sequence: i32,
    /// Number of records (offset 57).
    pub records_count: i32,
}

/// The first 61 bytes of a batch with the fields outside the CRC checked: enough to find
/// the batch's end and verify its CRC before trusting any field the CRC covers.
pub(super) struct Frame<'a> {
    header: &'a [u8; BATCH_HEADER_BYTES],
}

impl<'a> Frame<'a> {
    /// Checks, in order: a whole header, magic 2, `batchLength` at least 49, `baseOffset`
    /// not negative, `partitionLeaderEpoch` at least -1.
    pub(super) fn parse(buf: &'a [u8]) -> Result<Frame<'a>, RecordError> {
        let header: &[u8; BATCH_HEADER_BYTES] =
            buf.first_chunk().ok_or(RecordError::Truncated {
                field: "batch_header",
                needed: BATCH_HEADER_BYTES,
                available: buf.len(),
            })?;
        let magic = header[MAGIC_AT] as i8;
        if magic != MAGIC_V2 {
            return Err(RecordError::BadMagic { magic });
        }
        let batch_length = read_i32(header, BATCH_LENGTH_AT);
        if usize::try_from(batch_length).map_or(true, |length| length < BATCH_LENGTH_MIN) {
            return Err(RecordError::InvalidField {
                field: "batch_length",
                offset: BATCH_LENGTH_AT,
                value: batch_length.into(),
                reason: "must be at least 49",
            });
        }
        check_base_offset(read_i64(header, BASE_OFFSET_AT), 0)?;
        check_partition_leader_epoch(read_i32(header, PARTITION_LEADER_EPOCH_AT))?;
        Ok(Frame { header })
    }

    /// The batch's length in bytes, header included.
    pub(super) fn total_len(&self) -> usize {
        total_len(read_i32(self.header, BATCH_LENGTH_AT))
    }

    /// Checks the stored CRC against `batch`, which starts with this frame.
    pub(super) fn verify_crc(&self, batch: &[u8]) -> Result<(), RecordError> {
        verify_crc(
            batch,
            self.total_len(),
            read_i32(self.header, CRC_AT) as u32,
        )
    }

    /// Reads every field and checks those the CRC covers: known attributes, at least one
    /// record, `lastOffsetDelta` = records count - 1, a last offset that fits an `i64`.
    pub(super) fn header(&self) -> Result<BatchHeader, RecordError> {
        let header = self.header;
        let parsed = BatchHeader {
            base_offset: read_i64(header, BASE_OFFSET_AT),
            batch_length: read_i32(header, BATCH_LENGTH_AT),
            partition_leader_epoch: read_i32(header, PARTITION_LEADER_EPOCH_AT),
            magic: header[MAGIC_AT] as i8,
            crc: read_i32(header, CRC_AT) as u32,
            attributes: BatchAttributes::from_i16(read_i16(header, ATTRIBUTES_AT))?,
            last_offset_delta: read_i32(header, LAST_OFFSET_DELTA_AT),
            base_timestamp: read_i64(header, BASE_TIMESTAMP_AT),
            max_timestamp: read_i64(header, MAX_TIMESTAMP_AT),
            producer_id: read_i64(header, PRODUCER_ID_AT),
            producer_epoch: read_i16(header, PRODUCER_EPOCH_AT),
            base_sequence: read_i32(header, BASE_SEQUENCE_AT),
            records_count: read_i32(header, RECORDS_COUNT_AT),
        };
        check_records_count(parsed.records_count, parsed.last_offset_delta)?;
        check_base_offset(parsed.base_offset, parsed.last_offset_delta)?;
        Ok(parsed)
    }
}

impl BatchHeader {
    /// Parses the header at the front of `buf`, which needs only [`BATCH_HEADER_BYTES`]
    /// bytes, not the whole batch, and checks what a header alone can check. First the
    /// fields outside the CRC: magic 2, `batchLength` at least 49, `baseOffset` not
    /// negative, `partitionLeaderEpoch` at least -1. Then fields the CRC covers: known
    /// attributes, at least one record, `lastOffsetDelta` = records count - 1, a last offset
    /// that fits an `i64`; an error there may as well be a corruption the CRC would catch.
    /// The CRC is checked by [`BatchHeader::verify_crc`], once the whole batch is at hand.
    pub fn parse(buf: &[u8]) -> Result<BatchHeader, RecordError> {
        Frame::parse(buf)?.header()
    }

    /// The batch's length in bytes, header included: how far to skip to the next batch.
    pub fn total_len(&self) -> usize {
        total_len(self.batch_length)
    }

    /// Offset of the batch's last record.
    pub fn last_offset(&self) -> i64 {
        self.base_offset
            .saturating_add(self.last_offset_delta.into())
    }

    /// Offset the next batch in the log starts at.
    pub fn next_offset(&self) -> i64 {
        self.last_offset().saturating_add(1)
    }

    /// Sequence of the batch's last record, wrapping past `i32::MAX` to 0 as Kafka's
    /// sequences do; -1 when the batch carries no sequence.
    pub fn last_sequence(&self) -> i32 {
        last_sequence(self.base_sequence, self.last_offset_delta)
    }

    /// Checks the CRC-32C over `batch[21..total_len]`, where `batch` starts with this header
    /// and holds at least the whole batch.
    pub fn verify_crc(&self, batch: &[u8]) -> Result<(), RecordError> {
        verify_crc(batch, self.total_len(), self.crc)
    }
}

fn total_len(batch_length: i32) -> usize {
    LOG_OVERHEAD + usize::try_from(batch_length).unwrap_or(0)
}

/// Checks `stored` against the CRC-32C of `batch[21..total]`.
fn verify_crc(batch: &[u8], total: usize, stored: u32) -> Result<(), RecordError> {
    let total = total.max(BATCH_HEADER_BYTES);
    let covered = batch
        .get(ATTRIBUTES_AT..total)
        .ok_or(RecordError::Truncated {
            field: "batch",
            needed: total,
            available: batch.len(),
        })?;
    let computed = crc32c::crc32c(covered);
    if computed != stored {
        return Err(RecordError::CrcMismatch { stored, computed });
    }
    Ok(())
}

/// Sets `baseOffset` in an encoded batch, in place. The CRC does not cover it, so the leader
/// assigns offsets on append without re-encoding or recompressing the batch.
pub fn set_base_offset(batch: &mut [u8], base_offset: i64) -> Result<(), RecordError> {
    let header = BatchHeader::parse(batch)?;
    check_base_offset(base_offset, header.last_offset_delta)?;
    batch[BASE_OFFSET_AT..BASE_OFFSET_AT + 8].copy_from_slice(&base_offset.to_be_bytes());
    Ok(())
}

/// Sets `partitionLeaderEpoch` in an encoded batch, in place: the leader stamps its epoch on
/// append, outside the CRC, as Kafka's leader does.
pub fn set_partition_leader_epoch(
    batch: &mut [u8],
    partition_leader_epoch: i32,
) -> Result<(), RecordError> {
    BatchHeader::parse(batch)?;
    check_partition_leader_epoch(partition_leader_epoch)?;
    let at = PARTITION_LEADER_EPOCH_AT;
    batch[at..at + 4].copy_from_slice(&partition_leader_epoch.to_be_bytes());
    Ok(())
}

/// `baseSequence + lastOffsetDelta`, wrapping past `i32::MAX` to 0; -1 without a sequence.
pub(super) fn last_sequence(base_sequence: i32, last_offset_delta: i32) -> i32 {
    if base_sequence < 0 {
        return -1;
    }
    let modulus = i64::from(i32::MAX) + 1;
    let last = (i64::from(base_sequence) + i64::from(last_offset_delta)).rem_euclid(modulus);
    i32::try_from(last).unwrap_or(-1)
}

/// A base offset is never negative, and the batch's last offset must fit an `i64`.
pub(super) fn check_base_offset(
    base_offset: i64,
    last_offset_delta: i32,
) -> Result<(), RecordError> {
    let invalid = |reason| RecordError::InvalidField {
        field: "base_offset",
        offset: BASE_OFFSET_AT,
        value: base_offset,
        reason,
    };
    if base_offset < 0 {
        return Err(invalid("must not be negative"));
    }
    if base_offset.checked_add(last_offset_delta.into()).is_none() {
        return Err(invalid("last offset overflows i64"));
    }
    Ok(())
}

/// A partition leader epoch is -1 (not yet appended by a leader) or an epoch.
pub(super) fn check_partition_leader_epoch(partition_leader_epoch: i32) -> Result<(), RecordError> {
    if partition_leader_epoch < -1 {
        return Err(RecordError::InvalidField {
            field: "partition_leader_epoch",
            offset: PARTITION_LEADER_EPOCH_AT,
            value: partition_leader_epoch.into(),
            reason: "must be -1 or an epoch",
        });
    }
    Ok(())
}

/// A batch holds at least one record (Kafka's broker refuses empty batches from clients),
/// and, since Odradek never compacts, its offsets are contiguous:
/// `lastOffsetDelta = recordsCount - 1`.
pub(super) fn check_records_count(
    records_count: i32,
    last_offset_delta: i32,
) -> Result<(), RecordError> {
    if records_count < 1 {
        return Err(RecordError::InvalidField {
            field: "records_count",
            offset: RECORDS_COUNT_AT,
            value: records_count.into(),
            reason: "a batch holds at least one record",
        });
    }
    if i64::from(last_offset_delta) != i64::from(records_count) - 1 {
        return Err(RecordError::InvalidField {
            field: "last_offset_delta",
            offset: LAST_OFFSET_DELTA_AT,
            value: last_offset_delta.into(),
            reason: "must be records_count - 1",
        });
    }
    Ok(())
}

fn read_i16(header: &[u8; BATCH_HEADER_BYTES], at: usize) -> i16 {
    i16::from_be_bytes([header[at], header[at + 1]])
}

fn read_i32(header: &[u8; BATCH_HEADER_BYTES], at: usize) -> i32 {
    i32::from_be_bytes([header[at], header[at + 1], header[at + 2], header[at + 3]])
}

fn read_i64(header: &[u8; BATCH_HEADER_BYTES], at: usize) -> i64 {
    let mut bytes = [0; 8];
    bytes.copy_from_slice(&header[at..at + 8]);
    i64::from_be_bytes(bytes)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn last_sequence_wraps_past_i32_max_to_zero() {
        assert_eq!(last_sequence(-1, 4), -1);
        assert_eq!(last_sequence(0, 4), 4);
        assert_eq!(last_sequence(i32::MAX - 2, 2), i32::MAX);
        assert_eq!(last_sequence(i32::MAX - 2, 3), 0);
        assert_eq!(last_sequence(i32::MAX, 5), 4);
    }

    #[test]
    fn outside_crc_fields_are_range_checked() {
        assert!(check_base_offset(0, 0).is_ok());
        assert!(check_base_offset(i64::MAX - 4, 4).is_ok());
        assert_eq!(
            check_base_offset(i64::MAX - 3, 4).map_err(|error| error.to_string()),
            Err(format!(
                "invalid header field: last offset overflows i64. field=base_offset offset=0 value={}",
                i64::MAX - 3
            ))
        );
        assert!(check_base_offset(-1, 0).is_err());
        assert!(check_partition_leader_epoch(-1).is_ok());
        assert!(check_partition_leader_epoch(i32::MAX).is_ok());
        assert!(check_partition_leader_epoch(-2).is_err());
    }

    #[test]
    fn records_count_and_last_offset_delta_agree() {
        assert!(check_records_count(1, 0).is_ok());
        assert!(check_records_count(i32::MAX, i32::MAX - 1).is_ok());
        assert!(check_records_count(0, -1).is_err());
        assert!(check_records_count(i32::MIN, i32::MAX).is_err());
        assert!(check_records_count(3, 3).is_err());
    }

    #[test]
    fn a_short_buffer_is_a_truncated_header() {
        assert_eq!(
            BatchHeader::parse(&[0; 60]),
            Err(RecordError::Truncated {
                field: "batch_header",
                needed: 61,
                available: 60
            })
        );
    }
}
