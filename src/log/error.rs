//! The log's errors: what an operation refused, what a disk did, and what corruption a read
//! or recovery found. A node never panics on the log's account: every malformed input and
//! every damaged file ends here as a value.

use odradek_sim::DiskError;

use crate::record::RecordError;

/// Why a log operation failed.
#[derive(Debug, Clone, PartialEq, Eq, Hash, thiserror::Error)]
pub enum LogError {
    /// The disk failed. After a failed write or sync the disk may hold more than the log
    /// believes, so the caller must halt and reopen, as Kafka takes the log directory
    /// offline on an I/O error.
    #[error("disk error: {0}")]
    Disk(#[from] DiskError),
    /// A setting is outside what the log can honour.
    #[error("invalid log config: {reason}. field={field} value={value}")]
    InvalidConfig {
        /// The setting, with Kafka's name where it mirrors one.
        field: &'static str,
        /// The value given.
        value: u64,
        /// What it breaks.
        reason: &'static str,
    },
    /// An offset outside `[log_start_offset, log_end_offset]`: Kafka's OFFSET_OUT_OF_RANGE.
    #[error(
        "offset out of range. offset={offset} log_start_offset={log_start_offset} \
         log_end_offset={log_end_offset}"
    )]
    OffsetOutOfRange {
        /// The offset asked for.
        offset: i64,
        /// The log's first readable offset.
        log_start_offset: i64,
        /// The offset the next append gets.
        log_end_offset: i64,
    },
    /// Stored bytes failed validation; they are not served. Recovery truncates such a
    /// batch when it lies past the last clean point; below it, every read of it fails.
    #[error(
        "corrupt batch in log. segment={segment} position={position} offset={offset}: {corruption}"
    )]
    Corrupt {
        /// The segment file.
        segment: String,
        /// Byte position of the batch in the segment.
        position: u64,
        /// The offset the batch should start at.
        offset: i64,
        /// What is wrong with it.
        corruption: Corruption,
    },
    /// An appended batch is malformed: bad input from a producer or a leader. Nothing of
    /// the append was written.
    #[error("invalid batch in append. batch={batch} position={position}: {source}")]
    InvalidBatch {
        /// Index of the batch in the appended bytes.
        batch: usize,
        /// Byte position of the batch in the appended bytes.
        position: usize,
        /// What the record format rejects.
        source: RecordError,
    },
    /// An append carried no batch; Kafka refuses empty produce and fetch data too.
    #[error("empty append. batches=0")]
    EmptyAppend,
    /// A follower's batch does not start where the log (or the previous batch) ends.
    #[error("follower batch not at the log end. batch={batch} expected={expected} found={found}")]
    UnexpectedOffset {
        /// Index of the batch in the appended bytes.
        batch: usize,
        /// The offset the batch must start at.
        expected: i64,
        /// The base offset it carries.
        found: i64,
    },
    /// A leader epoch below one the log already holds: a stale leader, or a follower that
    /// did not truncate by leader epoch first.
    #[error("stale leader epoch. epoch={epoch} latest={latest}")]
    StaleEpoch {
        /// The epoch given or carried.
        epoch: i32,
        /// The lowest epoch the log accepts now.
        latest: i32,
    },
    /// A batch whose partitionLeaderEpoch is -1: every stored batch carries its leader's
    /// epoch, so the epoch cache can describe it.
    #[error("batch carries no leader epoch. batch={batch} epoch={epoch}")]
    MissingEpoch {
        /// Index of the batch in the appended bytes.
        batch: usize,
        /// The epoch found.
        epoch: i32,
    },
    /// A batch larger than a segment may hold.
    #[error("batch larger than a segment. size={size} segment_bytes={segment_bytes}")]
    BatchTooLarge {
        /// The batch's length in bytes.
        size: usize,
        /// The configured `segment_bytes`.
        segment_bytes: u32,
    },
    /// Offsets would run past `i64::MAX`.
    #[error("offset overflow. base_offset={base_offset} last_offset_delta={last_offset_delta}")]
    OffsetOverflow {
        /// Where the batch would start.
        base_offset: i64,
        /// Its offset span.
        last_offset_delta: i32,
    },
    /// `delete_below` asked to move the log start offset past the high watermark, which
    /// would delete records not known to be committed.
    #[error("log start offset above high watermark. requested={requested} high_watermark={high_watermark}")]
    LogStartAboveHighWatermark {
        /// The log start offset asked for.
        requested: i64,
        /// The log's high watermark.
        high_watermark: i64,
    },
}

/// What is wrong with a stored batch. Reads return it inside [`LogError::Corrupt`];
/// recovery reports it as the cause of a truncation.
#[derive(Debug, Clone, PartialEq, Eq, Hash, thiserror::Error)]
pub enum Corruption {
    /// The record format rejects the bytes: a torn or zeroed tail, a bad magic, a length
    /// out of range, or a CRC-32C mismatch.
    #[error("unreadable batch: {0}")]
    Batch(#[from] RecordError),
    /// The batch's base offset (outside the CRC) does not continue the previous batch.
    #[error("offsets not contiguous. expected={expected} found={found}")]
    OffsetGap {
        /// The offset the batch must start at.
        expected: i64,
        /// The base offset it carries.
        found: i64,
    },
    /// The batch runs past the offset its segment is known to end at.
    #[error("batch runs past its segment's end. segment_end={segment_end} batch_end={batch_end}")]
    PastSegmentEnd {
        /// The segment's next offset.
        segment_end: i64,
        /// The batch's next offset.
        batch_end: i64,
    },
    /// The batch's leader epoch (outside the CRC) is lower than the previous batch's.
    #[error("leader epoch decreases. previous={previous} found={found}")]
    EpochDecrease {
        /// The previous batch's epoch.
        previous: i32,
        /// This batch's epoch.
        found: i32,
    },
    /// The batch's leader epoch disagrees with the leader-epoch cache (or its checkpoint),
    /// which was written before the batch: the epoch field was corrupted.
    #[error("leader epoch disagrees with the epoch cache. expected={expected} found={found}")]
    EpochMismatch {
        /// The epoch the cache assigns to the batch's offset, -1 when none.
        expected: i32,
        /// The epoch the batch carries.
        found: i32,
    },
    /// The batch carries epoch -1, which no append stores.
    #[error("batch carries no leader epoch. found={found}")]
    EpochMissing {
        /// The epoch found.
        found: i32,
    },
    /// A segment does not start where its predecessor ends: a segment went missing or a
    /// tail was lost.
    #[error("segment does not continue its predecessor. expected={expected} found={found}")]
    SegmentGap {
        /// Where the previous segment ends.
        expected: i64,
        /// Where this segment starts.
        found: i64,
    },
    /// A batch would take its segment past the largest size a segment may have.
    #[error("segment over its size limit. position={position} batch_len={batch_len}")]
    SegmentTooLarge {
        /// Where the batch starts.
        position: u64,
        /// Its length.
        batch_len: usize,
    },
}
