//! Checkpoints that hold one offset: the high watermark and the log start offset. Kafka
//! keeps each in one file per data directory for all its partitions
//! (`replication-offset-checkpoint`, `log-start-offset-checkpoint`); Odradek keeps one per
//! partition directory, with the checksum of [`checkpoint`](super::checkpoint).

use odradek_sim::{Disk, DiskError};

use super::checkpoint::{self, CheckpointError, Loaded};

/// Loads the offset stored in `name`.
pub(super) fn load(disk: &dyn Disk, name: &str) -> Result<Loaded<i64>, DiskError> {
    let loaded = checkpoint::load::<1>(disk, name)?;
    Ok(loaded.and_then(|entries| match entries.as_slice() {
        [[offset]] if *offset >= 0 => Ok(*offset),
        _ => Err(CheckpointError::Malformed {
            line: 3,
            reason: "expected one non-negative offset",
        }),
    }))
}

/// Stores `offset` in `name`, durably.
pub(super) fn write(disk: &mut dyn Disk, name: &str, offset: i64) -> Result<(), DiskError> {
    debug_assert!(offset >= 0);
    checkpoint::write(disk, name, &[[offset]])
}
