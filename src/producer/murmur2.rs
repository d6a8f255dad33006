//! Kafka's key hash: `Utils.murmur2` (MurmurHash2, 32-bit, seed `0x9747b28c`) and
//! `Utils.toPositive`, bit for bit, so a key lands on the partition a Java producer picks.

/// Kafka's murmur2 seed.
const SEED: u32 = 0x9747_b28c;
/// MurmurHash2's multiplier.
const M: u32 = 0x5bd1_e995;
/// MurmurHash2's shift.
const R: u32 = 24;

/// Kafka's `Utils.murmur2` of `data`, as the `int` Java returns.
pub fn murmur2(data: &[u8]) -> i32 {
    // Java folds the length into an int; keys are far below 2^32 bytes.
    let mut h = SEED ^ data.len() as u32;
    let mut blocks = data.chunks_exact(4);
    for block in &mut blocks {
        let mut k = u32::from_le_bytes([block[0], block[1], block[2], block[3]]);
        k = k.wrapping_mul(M);
        k ^= k >> R;
        k = k.wrapping_mul(M);
        h = h.wrapping_mul(M);
        h ^= k;
    }
    let tail = blocks.remainder();
    if !tail.is_empty() {
        for (i, byte) in tail.iter().enumerate().rev() {
            h ^= u32::from(*byte) << (8 * i);
        }
        h = h.wrapping_mul(M);
    }
    h ^= h >> 13;
    h = h.wrapping_mul(M);
    h ^= h >> 15;
    h as i32
}

/// Kafka's `Utils.toPositive`: clears the sign bit (not `abs`, which overflows on
/// `i32::MIN`).
pub fn to_positive(value: i32) -> i32 {
    value & 0x7fff_ffff
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn to_positive_clears_only_the_sign_bit() {
        assert_eq!(to_positive(i32::MIN), 0);
        assert_eq!(to_positive(-1), i32::MAX);
        assert_eq!(to_positive(17), 17);
    }
}
