//! 64-bit state fingerprints and the set of states seen.
//!
//! Fingerprints come from a fixed-key multiply-mix hasher, so they are the same on every
//! run and machine for the same `Hash` implementation. Two distinct states share a
//! fingerprint with probability about n²/2⁶⁵ for n states (under 10⁻⁵ at 10⁷ states);
//! like TLC, the explorer accepts that risk for a compact seen set.

use std::collections::HashMap;
use std::hash::{BuildHasherDefault, Hash, Hasher};
use std::sync::Mutex;

const SEED: u64 = 0x243f_6a88_85a3_08d3;
const MULTIPLIER: u64 = 0x9e37_79b9_7f4a_7c15;

/// Folds each word into the state with a 64x64->128 multiply (wyhash's "mum").
#[derive(Debug)]
pub(crate) struct FingerprintHasher(u64);

impl Default for FingerprintHasher {
    fn default() -> Self {
        Self(SEED)
    }
}

impl FingerprintHasher {
    fn mix(&mut self, word: u64) {
        let product = u128::from(self.0 ^ word) * u128::from(MULTIPLIER);
        self.0 = (product as u64) ^ ((product >> 64) as u64);
    }
}

impl Hasher for FingerprintHasher {
    fn write(&mut self, bytes: &[u8]) {
        for chunk in bytes.chunks(8) {
            let mut word = [0u8; 8];
            word[..chunk.len()].copy_from_slice(chunk);
            self.mix(u64::from_le_bytes(word));
        }
        self.mix(bytes.len() as u64);
    }

    fn write_u8(&mut self, i: u8) {
        self.mix(u64::from(i));
    }

    fn write_u16(&mut self, i: u16) {
        self.mix(u64::from(i));
    }

    fn write_u32(&mut self, i: u32) {
        self.mix(u64::from(i));
    }

    fn write_u64(&mut self, i: u64) {
        self.mix(i);
    }

    fn write_usize(&mut self, i: usize) {
        self.mix(i as u64);
    }

    fn finish(&self) -> u64 {
        // A final avalanche (murmur3's fmix64) so every input bit reaches the low bits the
        // seen set indexes by.
        let mut h = self.0;
        h ^= h >> 33;
        h = h.wrapping_mul(0xff51_afd7_ed55_8ccd);
        h ^= h >> 33;
        h = h.wrapping_mul(0xc4ce_b9fe_1a85_ec53);
        h ^ (h >> 33)
    }
}

/// The fingerprint of a state.
pub fn fingerprint<T: Hash + ?Sized>(value: &T) -> u64 {
    let mut hasher = FingerprintHasher::default();
    value.hash(&mut hasher);
    hasher.finish()
}

/// Fingerprints are already mixed; hashing them again would waste time.
#[derive(Default)]
pub(crate) struct IdentityHasher(u64);

impl Hasher for IdentityHasher {
    fn write(&mut self, _: &[u8]) {
        unreachable!("only u64 fingerprints are hashed");
    }

    fn write_u64(&mut self, i: u64) {
        self.0 = i;
    }

    fn finish(&self) -> u64 {
        self.0
    }
}

/// Fingerprint -> the fingerprint of the state it was first reached from (itself for an
/// initial state); enough to rebuild any path by replaying the model.
pub(crate) type ParentMap = HashMap<u64, u64, BuildHasherDefault<IdentityHasher>>;

/// Shards of the seen set for several threads. Shards are picked by middle bits, because
/// the map indexes by the low bits and tags by the high ones.
pub(crate) struct SharedSeen {
    shards: Vec<Mutex<ParentMap>>,
}

const SHARDS: usize = 256;

impl SharedSeen {
    pub(crate) fn new() -> Self {
        Self {
            shards: (0..SHARDS)
                .map(|_| Mutex::new(ParentMap::default()))
                .collect(),
        }
    }

    fn shard(&self, fp: u64) -> &Mutex<ParentMap> {
        &self.shards[((fp >> 32) as usize) % SHARDS]
    }

    /// Records `fp` as reached from `parent`; false if it was seen before.
    pub(crate) fn insert(&self, fp: u64, parent: u64) -> bool {
        let mut shard = self
            .shard(fp)
            .lock()
            .expect("no thread panics holding a shard");
        match shard.entry(fp) {
            std::collections::hash_map::Entry::Occupied(_) => false,
            std::collections::hash_map::Entry::Vacant(slot) => {
                slot.insert(parent);
                true
            }
        }
    }

    pub(crate) fn into_map(self) -> ParentMap {
        let mut map = ParentMap::default();
        for shard in self.shards {
            map.extend(
                shard
                    .into_inner()
                    .expect("no thread panics holding a shard"),
            );
        }
        map
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn fingerprints_are_stable_and_spread() {
        assert_eq!(fingerprint(&(1u8, 2u32)), fingerprint(&(1u8, 2u32)));
        assert_ne!(fingerprint(&(1u8, 2u32)), fingerprint(&(2u8, 1u32)));
        assert_ne!(fingerprint(&[0u64, 0][..]), fingerprint(&[0u64][..]));
        let low_bits: std::collections::BTreeSet<u64> =
            (0u64..1024).map(|i| fingerprint(&i) & 1023).collect();
        assert!(
            low_bits.len() > 600,
            "low bits must spread: {}",
            low_bits.len()
        );
    }
}
