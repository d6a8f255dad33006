//! Kafka's record format: records, RecordBatch v2 byte for byte as Kafka writes it, CRC-32C,
//! and the five codecs (none, gzip, snappy in Kafka's xerial framing, lz4, zstd).
//!
//! Producers build batches with [`BatchBuilder`]; the leader restamps `baseOffset` and
//! `partitionLeaderEpoch` in the encoded bytes ([`set_base_offset`],
//! [`set_partition_leader_epoch`]) since the CRC does not cover them; the log recovers
//! segments from headers alone ([`BatchHeader::parse`], [`BatchHeader::verify_crc`]);
//! fetchers decode whole batches ([`RecordBatch::decode`]).
//!
//! Decoding never panics and never allocates from an untrusted length: every malformed input
//! is a [`RecordError`] naming the field and the byte offset. What the format cannot detect
//! (a plausible corrupt `baseOffset` or `partitionLeaderEpoch`, outside the CRC) is stated
//! on [`RecordBatch::decode`] and left to the log's recovery.

mod attributes;
mod batch;
mod batch_header;
mod builder;
mod compression;
mod error;
mod producer_record;
mod records;
mod snappy_xerial;
mod varint;

pub use attributes::{BatchAttributes, TimestampType};
pub use batch::RecordBatch;
pub use batch_header::{
    set_base_offset, set_partition_leader_epoch, BatchHeader, BATCH_HEADER_BYTES, MAGIC_V2,
};
pub use builder::{BatchBuilder, BatchOptions};
pub use compression::Compression;
pub use error::RecordError;
pub use producer_record::ProducerRecord;
pub use records::{Header, Record};

/// The largest records section Odradek builds or decodes, uncompressed, in bytes. Kafka's
/// format has no such limit (`message.max.bytes` bounds batches, compressed, per broker);
/// this one caps what a decompression bomb can cost. 64 MiB is 64 times Kafka's default
/// `max.request.size`.
pub const RECORDS_BYTES_MAX: usize = 64 * 1024 * 1024;

const _: () = assert!(RECORDS_BYTES_MAX <= i32::MAX as usize);
