//! A segment's sparse offset index: Kafka's `.index` layout, 8 bytes per entry (offset
//! relative to the segment's base, then byte position, both big-endian `u32`), one entry per
//! `index_interval_bytes` appended. Unlike Kafka, which indexes a batch's last offset, an
//! entry holds the batch's base offset, so a read can check that the batch at the position
//! starts where the entry says.
//!
//! Entries are hints. The index is synced with its segment but never checksummed: a read
//! verifies the entry it uses and falls back to the start of the segment when the entry is
//! wrong, and recovery rebuilds an index that is not well formed.

use super::config::INDEX_ENTRY_BYTES;

/// One index entry: the batch starting at `position` has base offset
/// `segment base + relative_offset`.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub(super) struct IndexEntry {
    pub(super) relative_offset: u32,
    pub(super) position: u32,
}

impl IndexEntry {
    pub(super) fn to_bytes(self) -> [u8; INDEX_ENTRY_BYTES] {
        let mut bytes = [0; INDEX_ENTRY_BYTES];
        bytes[..4].copy_from_slice(&self.relative_offset.to_be_bytes());
        bytes[4..].copy_from_slice(&self.position.to_be_bytes());
        bytes
    }

    fn from_bytes(bytes: &[u8; INDEX_ENTRY_BYTES]) -> IndexEntry {
        let [o0, o1, o2, o3, p0, p1, p2, p3] = *bytes;
        IndexEntry {
            relative_offset: u32::from_be_bytes([o0, o1, o2, o3]),
            position: u32::from_be_bytes([p0, p1, p2, p3]),
        }
    }
}

/// Entries in file order: relative offsets and positions both strictly increasing.
#[derive(Debug, Clone, Default, PartialEq, Eq, Hash)]
pub(super) struct OffsetIndex {
    entries: Vec<IndexEntry>,
}

impl OffsetIndex {
    /// Reads an index file, or `None` when it is not well formed for a segment of
    /// `segment_len` bytes: a partial entry, entries out of order, or a position past the
    /// segment (Kafka's `sanityCheck`).
    pub(super) fn decode(bytes: &[u8], segment_len: u64) -> Option<OffsetIndex> {
        let chunks = bytes.chunks_exact(INDEX_ENTRY_BYTES);
        if !chunks.remainder().is_empty() {
            return None;
        }
        let mut index = OffsetIndex::default();
        for chunk in chunks {
            let entry = IndexEntry::from_bytes(chunk.try_into().ok()?);
            let ordered = index.entries.last().is_none_or(|last| {
                last.relative_offset < entry.relative_offset && last.position < entry.position
            });
            if !ordered || u64::from(entry.position) >= segment_len {
                return None;
            }
            index.entries.push(entry);
        }
        Some(index)
    }

    /// The whole index file's content.
    pub(super) fn encode(&self) -> Vec<u8> {
        self.entries
            .iter()
            .flat_map(|entry| entry.to_bytes())
            .collect()
    }

    /// Bytes the index file holds.
    pub(super) fn len_bytes(&self) -> u64 {
        (self.entries.len() * INDEX_ENTRY_BYTES) as u64
    }

    pub(super) fn last(&self) -> Option<IndexEntry> {
        self.entries.last().copied()
    }

    /// The entry with the largest relative offset not above `relative_offset`.
    pub(super) fn lookup(&self, relative_offset: u64) -> Option<IndexEntry> {
        let after = self
            .entries
            .partition_point(|entry| u64::from(entry.relative_offset) <= relative_offset);
        after.checked_sub(1).map(|at| self.entries[at])
    }

    pub(super) fn push(&mut self, entry: IndexEntry) {
        assert!(
            self.entries.last().is_none_or(|last| {
                last.relative_offset < entry.relative_offset && last.position < entry.position
            }),
            "index entries must increase: {:?} after {:?}",
            entry,
            self.entries.last()
        );
        self.entries.push(entry);
    }

    /// Keeps the entries below both `position` and `relative_offset`: where a segment is
    /// cut and the offset its next batch gets. A loaded entry may be damaged; dropping by
    /// both keeps every later entry, which starts at or past both, above the last.
    pub(super) fn truncate(&mut self, position: u32, relative_offset: u64) {
        self.entries.retain(|entry| {
            entry.position < position && u64::from(entry.relative_offset) < relative_offset
        });
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn entry(relative_offset: u32, position: u32) -> IndexEntry {
        IndexEntry {
            relative_offset,
            position,
        }
    }

    #[test]
    fn decode_refuses_partial_unordered_or_out_of_segment_entries() {
        let mut index = OffsetIndex::default();
        index.push(entry(3, 100));
        index.push(entry(9, 300));
        let bytes = index.encode();
        assert_eq!(OffsetIndex::decode(&bytes, 301), Some(index.clone()));
        assert_eq!(
            OffsetIndex::decode(&bytes, 300),
            None,
            "position past segment"
        );
        assert_eq!(
            OffsetIndex::decode(&bytes[..12], 301),
            None,
            "partial entry"
        );
        let swapped = [entry(9, 300).to_bytes(), entry(3, 100).to_bytes()].concat();
        assert_eq!(OffsetIndex::decode(&swapped, 301), None, "out of order");
    }

    #[test]
    fn lookup_finds_the_floor_entry() {
        let mut index = OffsetIndex::default();
        index.push(entry(3, 100));
        index.push(entry(9, 300));
        assert_eq!(index.lookup(2), None);
        assert_eq!(index.lookup(3), Some(entry(3, 100)));
        assert_eq!(index.lookup(8), Some(entry(3, 100)));
        assert_eq!(index.lookup(u64::MAX), Some(entry(9, 300)));
        index.truncate(301, 9);
        assert_eq!(index.last(), Some(entry(3, 100)), "cut by offset");
        index.push(entry(9, 300));
        index.truncate(300, 10);
        assert_eq!(index.last(), Some(entry(3, 100)), "cut by position");
    }
}
