//! Checkpoint files: Kafka's text format (a version line, an entry count, one line per entry
//! with space-separated numbers) plus a last line `crc32c <8 hex digits>` over every byte
//! before it, which Kafka's files lack. Damage anywhere in the file is detected, so the
//! owner can rebuild what the file held instead of trusting it.
//!
//! A checkpoint is replaced atomically, as Kafka's `CheckpointFile` does: write
//! `<name>.tmp`, sync it, rename it over `<name>`, sync the directory. When `write` returns,
//! the new content is durable, and a crash at any point leaves the old or the new file
//! whole.

use odradek_sim::{Disk, DiskError};

use super::config::CHECKPOINT_BYTES_MAX;

/// The version line Odradek writes and reads (Kafka's current checkpoint version).
const CHECKPOINT_VERSION: &str = "0";

/// How the checksum line starts.
const CHECKSUM_PREFIX: &str = "crc32c ";

/// Why a checkpoint file's content was not trusted.
#[derive(Debug, Clone, PartialEq, Eq, Hash, thiserror::Error)]
pub enum CheckpointError {
    /// The file is larger than any checkpoint the log writes.
    #[error("checkpoint too large. len={len} max={max}")]
    TooLarge {
        /// The file's length.
        len: u64,
        /// [`CHECKPOINT_BYTES_MAX`].
        max: u64,
    },
    /// The stored checksum does not match the content: the file was damaged.
    #[error("checkpoint checksum mismatch. stored={stored:#010x} computed={computed:#010x}")]
    ChecksumMismatch {
        /// The checksum the file stores.
        stored: u32,
        /// The checksum of the content.
        computed: u32,
    },
    /// The content does not follow the format, or its entries break the owner's rules.
    #[error("malformed checkpoint: {reason}. line={line}")]
    Malformed {
        /// 1-based line number.
        line: usize,
        /// What is wrong.
        reason: &'static str,
    },
}

/// A checkpoint as found on disk.
#[derive(Debug, Clone, PartialEq, Eq, Hash)]
pub(super) enum Loaded<T> {
    /// No file of that name.
    Missing,
    /// The content, checksum verified.
    Intact(T),
    /// The file exists but is not to be trusted.
    Damaged(CheckpointError),
}

impl<T> Loaded<T> {
    /// Interprets intact content, which may still break the owner's rules.
    pub(super) fn and_then<U>(self, f: impl FnOnce(T) -> Result<U, CheckpointError>) -> Loaded<U> {
        match self {
            Loaded::Missing => Loaded::Missing,
            Loaded::Intact(content) => match f(content) {
                Ok(value) => Loaded::Intact(value),
                Err(error) => Loaded::Damaged(error),
            },
            Loaded::Damaged(error) => Loaded::Damaged(error),
        }
    }
}

/// Encodes entries of `N` numbers each.
pub(super) fn encode<const N: usize>(entries: &[[i64; N]]) -> Vec<u8> {
    let mut text = format!("{CHECKPOINT_VERSION}\n{}\n", entries.len());
    for entry in entries {
        let fields: Vec<String> = entry.iter().map(i64::to_string).collect();
        text.push_str(&fields.join(" "));
        text.push('\n');
    }
    let checksum = crc32c::crc32c(text.as_bytes());
    text.push_str(&format!("{CHECKSUM_PREFIX}{checksum:08x}\n"));
    text.into_bytes()
}

/// Decodes what [`encode`] wrote; any other content is an error, never a panic.
pub(super) fn decode<const N: usize>(bytes: &[u8]) -> Result<Vec<[i64; N]>, CheckpointError> {
    let malformed = |line, reason| CheckpointError::Malformed { line, reason };
    let body_and_sum = bytes
        .strip_suffix(b"\n")
        .ok_or(malformed(0, "no final newline"))?;
    let sum_at = body_and_sum
        .iter()
        .rposition(|&byte| byte == b'\n')
        .map_or(0, |at| at + 1);
    let (body, sum_line) = body_and_sum.split_at(sum_at);
    let stored = parse_checksum(sum_line).ok_or(malformed(0, "bad checksum line"))?;
    let computed = crc32c::crc32c(body);
    if stored != computed {
        return Err(CheckpointError::ChecksumMismatch { stored, computed });
    }
    let text = std::str::from_utf8(body).map_err(|_| malformed(0, "not utf-8"))?;
    let mut lines = text.lines();
    if lines.next() != Some(CHECKPOINT_VERSION) {
        return Err(malformed(1, "unsupported version"));
    }
    let count: usize = lines
        .next()
        .and_then(|line| line.parse().ok())
        .ok_or(malformed(2, "bad entry count"))?;
    let entries: Vec<[i64; N]> = lines
        .enumerate()
        .map(|(index, line)| parse_entry::<N>(line).ok_or(malformed(index + 3, "bad entry")))
        .collect::<Result<_, _>>()?;
    if entries.len() != count {
        return Err(malformed(2, "entry count disagrees with the entries"));
    }
    Ok(entries)
}

fn parse_checksum(line: &[u8]) -> Option<u32> {
    let hex = std::str::from_utf8(line)
        .ok()?
        .strip_prefix(CHECKSUM_PREFIX)?;
    // Exactly as written: 8 lowercase digits, so no flip (say of the case bit) parses.
    let canonical = |byte: u8| byte.is_ascii_digit() || (b'a'..=b'f').contains(&byte);
    if hex.len() != 8 || !hex.bytes().all(canonical) {
        return None;
    }
    u32::from_str_radix(hex, 16).ok()
}

fn parse_entry<const N: usize>(line: &str) -> Option<[i64; N]> {
    let mut entry = [0; N];
    let mut fields = line.split(' ');
    for slot in &mut entry {
        *slot = fields.next()?.parse().ok()?;
    }
    fields.next().is_none().then_some(entry)
}

/// Reads and decodes the checkpoint `name`. A missing file is [`Loaded::Missing`]; only a
/// disk failure is an error.
pub(super) fn load<const N: usize>(
    disk: &dyn Disk,
    name: &str,
) -> Result<Loaded<Vec<[i64; N]>>, DiskError> {
    let len = match disk.len(name) {
        Ok(len) => len,
        Err(DiskError::NotFound { .. }) => return Ok(Loaded::Missing),
        Err(error) => return Err(error),
    };
    if len > CHECKPOINT_BYTES_MAX {
        return Ok(Loaded::Damaged(CheckpointError::TooLarge {
            len,
            max: CHECKPOINT_BYTES_MAX,
        }));
    }
    let bytes = disk.read_all(name)?;
    Ok(match decode(&bytes) {
        Ok(entries) => Loaded::Intact(entries),
        Err(error) => Loaded::Damaged(error),
    })
}

/// Replaces the checkpoint `name` with `entries`, durably (see the module doc).
pub(super) fn write<const N: usize>(
    disk: &mut dyn Disk,
    name: &str,
    entries: &[[i64; N]],
) -> Result<(), DiskError> {
    let bytes = encode(entries);
    debug_assert!(bytes.len() as u64 <= CHECKPOINT_BYTES_MAX);
    let tmp = format!("{name}.tmp");
    if disk.exists(&tmp) {
        disk.remove(&tmp)?;
    }
    disk.create(&tmp)?;
    disk.write_at(&tmp, 0, &bytes)?;
    disk.sync(&tmp)?;
    disk.rename(&tmp, name)?;
    disk.sync_dir()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn encoding_is_kafkas_text_plus_a_checksum_line() {
        let bytes = encode(&[[0, 0], [3, 150]]);
        let text = String::from_utf8(bytes.clone()).expect("utf-8");
        let sum = crc32c::crc32c(b"0\n2\n0 0\n3 150\n");
        assert_eq!(text, format!("0\n2\n0 0\n3 150\ncrc32c {sum:08x}\n"));
        assert_eq!(decode::<2>(&bytes), Ok(vec![[0, 0], [3, 150]]));
    }

    #[test]
    fn every_single_bit_flip_is_detected() {
        let bytes = encode(&[[7], [-1]]);
        for at in 0..bytes.len() {
            for bit in 0..8 {
                let mut flipped = bytes.clone();
                flipped[at] ^= 1 << bit;
                assert!(decode::<1>(&flipped).is_err(), "flip at {at} bit {bit}");
            }
        }
    }

    #[test]
    fn truncated_or_wrongly_shaped_content_is_refused() {
        let bytes = encode(&[[1, 2]]);
        for len in 0..bytes.len() {
            assert!(decode::<2>(&bytes[..len]).is_err(), "prefix of {len} bytes");
        }
        assert!(
            decode::<1>(&bytes).is_err(),
            "two fields where one is expected"
        );
        assert!(
            decode::<3>(&bytes).is_err(),
            "two fields where three are expected"
        );
    }
}
