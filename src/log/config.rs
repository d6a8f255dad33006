//! The log's settings, with Kafka's names where they mirror Kafka's, and its limits, with
//! units in their names.

use super::error::LogError;
use crate::record::BATCH_HEADER_BYTES;

/// Kafka's default `segment.bytes`: 1 GiB.
pub const SEGMENT_BYTES_DEFAULT: u32 = 1024 * 1024 * 1024;

/// The largest `segment.bytes`: Kafka's setting is an `int`, and offset index entries hold
/// 32-bit positions.
pub const SEGMENT_BYTES_MAX: u32 = i32::MAX as u32;

/// The smallest `segment.bytes`: a segment must hold at least one batch header.
pub const SEGMENT_BYTES_MIN: u32 = BATCH_HEADER_BYTES as u32;

/// Kafka's default `index.interval.bytes`: 4 KiB between offset index entries.
pub const INDEX_INTERVAL_BYTES_DEFAULT: u32 = 4096;

/// The largest checkpoint file the log reads, in bytes. A leader-epoch checkpoint holds one
/// short line per leader change; a larger file is damage, not a long history.
pub const CHECKPOINT_BYTES_MAX: u64 = 1024 * 1024;

/// Bytes of one offset index entry: relative offset and position, both 32-bit, as Kafka's.
pub const INDEX_ENTRY_BYTES: usize = 8;

const _: () = assert!(SEGMENT_BYTES_MIN <= SEGMENT_BYTES_DEFAULT);
const _: () = assert!(SEGMENT_BYTES_DEFAULT <= SEGMENT_BYTES_MAX);
const _: () = assert!(SEGMENT_BYTES_MAX as u64 <= u32::MAX as u64);

/// How a partition's log lays out its segments.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub struct LogConfig {
    /// Kafka's `segment.bytes`: an append that would take the active segment past this
    /// size rolls a new segment first. A batch larger than this is refused.
    pub segment_bytes: u32,
    /// Kafka's `index.interval.bytes`: a batch gets an offset index entry once more than
    /// this many bytes were appended since the last entry, so a read scans at most about
    /// this many bytes past its index hint.
    pub index_interval_bytes: u32,
}

impl Default for LogConfig {
    fn default() -> LogConfig {
        LogConfig {
            segment_bytes: SEGMENT_BYTES_DEFAULT,
            index_interval_bytes: INDEX_INTERVAL_BYTES_DEFAULT,
        }
    }
}

impl LogConfig {
    /// Checks the settings against the limits.
    pub fn validate(&self) -> Result<(), LogError> {
        if !(SEGMENT_BYTES_MIN..=SEGMENT_BYTES_MAX).contains(&self.segment_bytes) {
            return Err(LogError::InvalidConfig {
                field: "segment_bytes",
                value: self.segment_bytes.into(),
                reason: "must lie in [SEGMENT_BYTES_MIN, SEGMENT_BYTES_MAX]",
            });
        }
        Ok(())
    }
}
