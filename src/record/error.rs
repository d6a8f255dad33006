//! The one error type of the record format. Every variant names what was wrong: the field,
//! and the byte offset where it starts. Header offsets count from the start of the batch;
//! record offsets (`records_offset`) count from the start of the records section as decoded,
//! that is after decompression. For an uncompressed batch the byte sits at
//! `61 + records_offset` in the batch.

use super::compression::Compression;

/// Why bytes could not be read as a RecordBatch v2, or a value could not be written as one.
///
/// Decoding returns these for every malformed input and never panics, so a node that reads
/// a corrupt log or a hostile request reacts with a value, as Kafka answers with
/// `CORRUPT_MESSAGE` or `INVALID_RECORD`.
#[derive(Debug, Clone, PartialEq, Eq, Hash, thiserror::Error)]
pub enum RecordError {
    /// The buffer ends before the batch does: a torn write, a short read, or a length field
    /// corrupted upwards.
    #[error("truncated batch. field={field} needed={needed} available={available}")]
    Truncated {
        /// What was being read: `batch_header`, `batch` (the whole batch) or a field name.
        field: &'static str,
        /// Bytes the field or batch needs, counted from the start of the buffer.
        needed: usize,
        /// Bytes the buffer holds.
        available: usize,
    },
    /// The magic byte at offset 16 is not 2: not a v2 batch, or a corrupt byte outside the
    /// CRC.
    #[error("bad magic. offset=16 magic={magic}")]
    BadMagic {
        /// The magic byte found.
        magic: i8,
    },
    /// The CRC-32C stored at offset 17 does not match the bytes from offset 21 to the end:
    /// the batch was corrupted in the bytes the CRC covers (or in the CRC itself).
    #[error("crc mismatch. offset=17 stored={stored:#010x} computed={computed:#010x}")]
    CrcMismatch {
        /// The CRC stored in the batch.
        stored: u32,
        /// The CRC of the bytes the batch holds.
        computed: u32,
    },
    /// A header field holds a value the format forbids, or that disagrees with another field.
    #[error("invalid header field: {reason}. field={field} offset={offset} value={value}")]
    InvalidField {
        /// The field's name, as in Kafka's layout (`batch_length`, `records_count`, ...).
        field: &'static str,
        /// The field's byte offset in the batch.
        offset: usize,
        /// The value found (or, when encoding, the value that would have been written).
        value: i64,
        /// What the value breaks.
        reason: &'static str,
    },
    /// A varint in a record runs longer than 5 bytes (10 for a varlong) or past 32 (64) bits.
    #[error("varint overflow. record={record} field={field} records_offset={offset}")]
    VarintOverflow {
        /// Index of the record in the batch.
        record: usize,
        /// The field the varint encodes.
        field: &'static str,
        /// Where the varint starts.
        offset: usize,
    },
    /// A record field runs past the end of its record or of the records section.
    #[error(
        "truncated record. record={record} field={field} records_offset={offset} \
         needed={needed} available={available}"
    )]
    RecordTruncated {
        /// Index of the record in the batch.
        record: usize,
        /// The field being read.
        field: &'static str,
        /// Where the field starts.
        offset: usize,
        /// Bytes the field needs (for a varint: at least this many).
        needed: usize,
        /// Bytes left in the record or section.
        available: usize,
    },
    /// A length or count is negative where only -1 (null) is allowed, or where no negative
    /// value is (record length, header count, header key length).
    #[error(
        "invalid length. record={record} field={field} records_offset={offset} length={length}"
    )]
    InvalidLength {
        /// Index of the record in the batch.
        record: usize,
        /// The length or count field.
        field: &'static str,
        /// Where the field starts.
        offset: usize,
        /// The value found.
        length: i64,
    },
    /// A record's declared length disagrees with the bytes its fields took.
    #[error(
        "record length mismatch. record={record} records_offset={offset} declared={declared} \
         read={read}"
    )]
    RecordLengthMismatch {
        /// Index of the record in the batch.
        record: usize,
        /// Where the record's length field starts.
        offset: usize,
        /// The length the record declares.
        declared: i64,
        /// The bytes its fields took.
        read: usize,
    },
    /// A record's offset delta is not its index: Odradek never compacts, so a batch's
    /// offsets are contiguous and record `i` has offset delta `i`.
    #[error(
        "offset delta out of sequence. record={record} records_offset={offset} \
         expected={expected} found={found}"
    )]
    OffsetDeltaMismatch {
        /// Index of the record in the batch.
        record: usize,
        /// Where the record starts.
        offset: usize,
        /// The offset delta the record must have.
        expected: i32,
        /// The offset delta it has.
        found: i32,
    },
    /// A header key is not UTF-8; Kafka header keys are strings.
    #[error("header key not utf-8. record={record} header={header} records_offset={offset}")]
    HeaderKeyNotUtf8 {
        /// Index of the record in the batch.
        record: usize,
        /// Index of the header in the record.
        header: usize,
        /// Where the key's bytes start.
        offset: usize,
    },
    /// Bytes remain in the records section after `records_count` records: the count or a
    /// record length is wrong.
    #[error(
        "trailing bytes after records. records_count={records_count} records_offset={offset} \
         trailing={trailing}"
    )]
    TrailingBytes {
        /// The records count the header declares.
        records_count: i32,
        /// Where the trailing bytes start.
        offset: usize,
        /// How many bytes remain.
        trailing: usize,
    },
    /// The records section, uncompressed, is larger than the limit: a batch Odradek will not
    /// build, or a decompression bomb.
    #[error("records section over limit. codec={codec} size={size} limit={limit}")]
    RecordsTooLarge {
        /// The batch's codec.
        codec: Compression,
        /// The size seen; when decompressing, reading stops at the first byte over the limit.
        size: usize,
        /// The limit, normally `RECORDS_BYTES_MAX`.
        limit: usize,
    },
    /// The codec rejected the compressed records section.
    #[error("decompression failed. codec={codec}: {reason}")]
    Decompression {
        /// The batch's codec.
        codec: Compression,
        /// The codec's own message; for snappy's xerial framing it names the offset in the
        /// compressed section.
        reason: String,
    },
    /// The codec failed to compress the records section.
    #[error("compression failed. codec={codec}: {reason}")]
    Compression {
        /// The batch's codec.
        codec: Compression,
        /// The codec's own message.
        reason: String,
    },
}
