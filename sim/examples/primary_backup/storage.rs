//! The replica's files: a log of fixed-size checksummed entries and a checksummed epoch.
//!
//! Every write is followed by a sync in the same handler, and handlers are atomic with
//! respect to crashes, so only a failed sync can leave data readable but not durable; the
//! replica halts then and recovery rewrites what it reads, making it durable again.

use odradek_sim::{Disk, DiskError};

/// The log: `ENTRY_BYTES` per entry.
pub const LOG: &str = "log";
/// Where recovery writes the log before renaming it over `LOG`.
pub const LOG_TMP: &str = "log.tmp";
/// The replica's epoch.
pub const EPOCH: &str = "epoch";
/// Present while the replica lacks data it once had: it must not lead until a primary has
/// given it a full log.
pub const CATCH_UP: &str = "catch-up";

/// Bytes of one log entry: epoch (4), value (8), checksum (4).
pub const ENTRY_BYTES: u64 = 16;
/// Bytes of the epoch file: epoch (4), checksum (4).
const EPOCH_BYTES: u64 = 8;

/// One log entry.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub struct Entry {
    /// The epoch of the primary that appended it.
    pub epoch: u32,
    /// The client's value.
    pub value: u64,
}

/// What recovery makes of a file.
#[derive(Debug)]
pub enum Damage {
    /// A checksum failed or a read failed: data that was there is gone.
    Corrupt,
    /// The disk failed otherwise; the replica must halt.
    Disk(DiskError),
}

impl From<DiskError> for Damage {
    fn from(error: DiskError) -> Self {
        match error {
            DiskError::ReadFailed { .. } => Damage::Corrupt,
            other => Damage::Disk(other),
        }
    }
}

/// 32-bit FNV-1a, enough to catch flipped bits in a 12-byte record.
fn checksum(bytes: &[u8]) -> u32 {
    bytes.iter().fold(0x811c_9dc5, |hash, &byte| {
        (hash ^ u32::from(byte)).wrapping_mul(0x0100_0193)
    })
}

/// The on-disk form of entries.
pub fn encode(entries: &[Entry]) -> Vec<u8> {
    let mut bytes = Vec::with_capacity(entries.len() * ENTRY_BYTES as usize);
    for entry in entries {
        let start = bytes.len();
        bytes.extend_from_slice(&entry.epoch.to_le_bytes());
        bytes.extend_from_slice(&entry.value.to_le_bytes());
        let sum = checksum(&bytes[start..]);
        bytes.extend_from_slice(&sum.to_le_bytes());
    }
    bytes
}

/// Reads the log. A trailing partial entry (never synced) is dropped; a bad checksum is
/// corruption.
pub fn read_log(disk: &dyn Disk) -> Result<Vec<Entry>, Damage> {
    if !disk.exists(LOG) {
        return Ok(Vec::new());
    }
    let bytes = disk.read_all(LOG)?;
    let whole = bytes.len() - bytes.len() % ENTRY_BYTES as usize;
    bytes[..whole]
        .chunks_exact(ENTRY_BYTES as usize)
        .map(|chunk| {
            let (body, sum) = chunk.split_at(12);
            if checksum(body) != u32::from_le_bytes(sum.try_into().expect("4 bytes")) {
                return Err(Damage::Corrupt);
            }
            Ok(Entry {
                epoch: u32::from_le_bytes(body[..4].try_into().expect("4 bytes")),
                value: u64::from_le_bytes(body[4..].try_into().expect("8 bytes")),
            })
        })
        .collect()
}

/// Replaces the log with `entries`, durably: a fresh file, synced, renamed over the old.
pub fn rewrite_log(disk: &mut dyn Disk, entries: &[Entry]) -> Result<(), DiskError> {
    if disk.exists(LOG_TMP) {
        disk.remove(LOG_TMP)?;
    }
    disk.create(LOG_TMP)?;
    disk.write_at(LOG_TMP, 0, &encode(entries))?;
    disk.sync(LOG_TMP)?;
    disk.rename(LOG_TMP, LOG)?;
    disk.sync_dir()
}

/// Makes the log, on disk and in memory, its first `prev_len` entries followed by
/// `entries`: truncates at the first difference, writes the rest, syncs. On an error the
/// memory still matches what reads of the disk return.
pub fn splice_log(
    disk: &mut dyn Disk,
    log: &mut Vec<Entry>,
    prev_len: usize,
    entries: &[Entry],
) -> Result<(), DiskError> {
    assert!(prev_len <= log.len(), "splice past the end of the log");
    let matching = log[prev_len..]
        .iter()
        .zip(entries)
        .take_while(|(a, b)| a == b)
        .count();
    let same = prev_len + matching;
    if same == log.len() && same == prev_len + entries.len() {
        return Ok(());
    }
    if log.len() > same {
        disk.set_len(LOG, same as u64 * ENTRY_BYTES)?;
        log.truncate(same);
    }
    let rest = &entries[matching..];
    disk.write_at(LOG, same as u64 * ENTRY_BYTES, &encode(rest))?;
    log.extend_from_slice(rest);
    disk.sync(LOG)
}

/// Reads the epoch; `None` if the replica never stored one.
pub fn read_epoch(disk: &dyn Disk) -> Result<Option<u32>, Damage> {
    if !disk.exists(EPOCH) {
        return Ok(None);
    }
    let bytes = disk.read_all(EPOCH)?;
    if bytes.len() as u64 != EPOCH_BYTES {
        return Err(Damage::Corrupt);
    }
    let (body, sum) = bytes.split_at(4);
    if checksum(body) != u32::from_le_bytes(sum.try_into().expect("4 bytes")) {
        return Err(Damage::Corrupt);
    }
    Ok(Some(u32::from_le_bytes(body.try_into().expect("4 bytes"))))
}

/// Stores the epoch durably.
pub fn store_epoch(disk: &mut dyn Disk, epoch: u32) -> Result<(), DiskError> {
    let fresh = !disk.exists(EPOCH);
    if fresh {
        disk.create(EPOCH)?;
    }
    let body = epoch.to_le_bytes();
    let mut bytes = body.to_vec();
    bytes.extend_from_slice(&checksum(&body).to_le_bytes());
    disk.write_at(EPOCH, 0, &bytes)?;
    disk.sync(EPOCH)?;
    if fresh {
        disk.sync_dir()?;
    }
    Ok(())
}

/// Marks the replica as lacking data, durably.
pub fn mark_catch_up(disk: &mut dyn Disk) -> Result<(), DiskError> {
    if !disk.exists(CATCH_UP) {
        disk.create(CATCH_UP)?;
        disk.sync_dir()?;
    }
    Ok(())
}

/// Clears the mark, durably.
pub fn clear_catch_up(disk: &mut dyn Disk) -> Result<(), DiskError> {
    disk.remove(CATCH_UP)?;
    disk.sync_dir()
}
