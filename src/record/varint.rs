//! Zig-zag varints, as Kafka writes every length, count and delta inside a record (the
//! protobuf encoding: zig-zag maps small negative numbers to small unsigned ones, then 7 bits
//! a byte, low bits first, high bit set on every byte but the last).
//!
//! Reading is strict where Kafka's Java reader is lenient: a varint longer than 5 bytes
//! (varlong: 10) or with bits beyond 32 (64) is an overflow, never silently truncated.

/// Why a varint could not be read.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(super) enum VarintError {
    /// The buffer ended before the last byte of the varint.
    Truncated,
    /// The varint has more bytes or bits than its type holds.
    Overflow,
}

/// Appends `value` as a zig-zag varint.
pub(super) fn put_varint(out: &mut Vec<u8>, value: i32) {
    put_unsigned(out, u64::from(zigzag32(value)));
}

/// Appends `value` as a zig-zag varlong.
pub(super) fn put_varlong(out: &mut Vec<u8>, value: i64) {
    put_unsigned(out, zigzag64(value));
}

/// Appends a length or count. Kafka writes them as varints; a varlong of a value within
/// `i32` is byte for byte the same varint, so this never narrows. Callers bound lengths by
/// `RECORDS_BYTES_MAX`, which fits an `i32`.
pub(super) fn put_length(out: &mut Vec<u8>, length: usize) {
    debug_assert!(i32::try_from(length).is_ok(), "length {length} exceeds i32");
    put_unsigned(out, zigzag64(i64::try_from(length).unwrap_or(i64::MAX)));
}

/// Bytes `value` takes as a zig-zag varint.
pub(super) fn varint_len(value: i32) -> usize {
    unsigned_len(u64::from(zigzag32(value)))
}

/// Bytes `value` takes as a zig-zag varlong.
pub(super) fn varlong_len(value: i64) -> usize {
    unsigned_len(zigzag64(value))
}

/// Bytes a length or count takes, as [`put_length`] writes it.
pub(super) fn length_len(length: usize) -> usize {
    unsigned_len(zigzag64(i64::try_from(length).unwrap_or(i64::MAX)))
}

/// Reads a zig-zag varint from the front of `buf`: the value and the bytes it took.
pub(super) fn read_varint(buf: &[u8]) -> Result<(i32, usize), VarintError> {
    let (raw, len) = read_unsigned(buf, 32)?;
    let raw = u32::try_from(raw).map_err(|_| VarintError::Overflow)?;
    Ok((unzigzag32(raw), len))
}

/// Reads a zig-zag varlong from the front of `buf`: the value and the bytes it took.
pub(super) fn read_varlong(buf: &[u8]) -> Result<(i64, usize), VarintError> {
    let (raw, len) = read_unsigned(buf, 64)?;
    Ok((unzigzag64(raw), len))
}

fn zigzag32(value: i32) -> u32 {
    ((value << 1) ^ (value >> 31)) as u32
}

fn zigzag64(value: i64) -> u64 {
    ((value << 1) ^ (value >> 63)) as u64
}

fn unzigzag32(raw: u32) -> i32 {
    ((raw >> 1) as i32) ^ -((raw & 1) as i32)
}

fn unzigzag64(raw: u64) -> i64 {
    ((raw >> 1) as i64) ^ -((raw & 1) as i64)
}

fn put_unsigned(out: &mut Vec<u8>, mut raw: u64) {
    while raw >= 0x80 {
        out.push((raw as u8) | 0x80);
        raw >>= 7;
    }
    out.push(raw as u8);
}

fn unsigned_len(raw: u64) -> usize {
    let bits = (u64::BITS - raw.leading_zeros()).max(1);
    bits.div_ceil(7) as usize
}

/// Reads an unsigned varint of at most `bits` bits (32 or 64).
fn read_unsigned(buf: &[u8], bits: u32) -> Result<(u64, usize), VarintError> {
    let bytes_max = bits.div_ceil(7) as usize;
    let mut raw = 0u64;
    let mut shift = 0u32;
    for (index, &byte) in buf.iter().take(bytes_max).enumerate() {
        let payload = u64::from(byte & 0x7f);
        if bits - shift < 7 && payload >> (bits - shift) != 0 {
            return Err(VarintError::Overflow);
        }
        raw |= payload << shift;
        if byte & 0x80 == 0 {
            return Ok((raw, index + 1));
        }
        shift += 7;
    }
    if buf.len() >= bytes_max {
        Err(VarintError::Overflow)
    } else {
        Err(VarintError::Truncated)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn varint_bytes(value: i32) -> Vec<u8> {
        let mut out = Vec::new();
        put_varint(&mut out, value);
        out
    }

    fn varlong_bytes(value: i64) -> Vec<u8> {
        let mut out = Vec::new();
        put_varlong(&mut out, value);
        out
    }

    #[test]
    fn varints_match_the_zigzag_encoding() {
        let cases: &[(i32, &[u8])] = &[
            (0, &[0x00]),
            (-1, &[0x01]),
            (1, &[0x02]),
            (-64, &[0x7f]),
            (64, &[0x80, 0x01]),
            (300, &[0xd8, 0x04]),
            (i32::MAX, &[0xfe, 0xff, 0xff, 0xff, 0x0f]),
            (i32::MIN, &[0xff, 0xff, 0xff, 0xff, 0x0f]),
        ];
        for &(value, bytes) in cases {
            assert_eq!(varint_bytes(value), bytes, "value={value}");
            assert_eq!(varint_len(value), bytes.len(), "value={value}");
            assert_eq!(
                read_varint(bytes),
                Ok((value, bytes.len())),
                "value={value}"
            );
        }
    }

    #[test]
    fn varlongs_match_the_zigzag_encoding() {
        let max = [0xfe, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0x01];
        let min = [0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0x01];
        let cases: &[(i64, &[u8])] = &[
            (0, &[0x00]),
            (-1, &[0x01]),
            (i64::MAX, &max),
            (i64::MIN, &min),
        ];
        for &(value, bytes) in cases {
            assert_eq!(varlong_bytes(value), bytes, "value={value}");
            assert_eq!(varlong_len(value), bytes.len(), "value={value}");
            assert_eq!(
                read_varlong(bytes),
                Ok((value, bytes.len())),
                "value={value}"
            );
        }
    }

    #[test]
    fn lengths_write_the_same_bytes_as_varints() {
        for length in [0usize, 1, 63, 64, 8191, 8192, 1 << 20, i32::MAX as usize] {
            let mut out = Vec::new();
            put_length(&mut out, length);
            let as_i32 = i32::try_from(length).expect("test lengths fit i32");
            assert_eq!(out, varint_bytes(as_i32), "length={length}");
            assert_eq!(length_len(length), out.len(), "length={length}");
        }
    }

    #[test]
    fn overlong_or_overwide_varints_overflow() {
        assert_eq!(
            read_varint(&[0x80, 0x80, 0x80, 0x80, 0x80, 0x00]),
            Err(VarintError::Overflow)
        );
        assert_eq!(
            read_varint(&[0xff, 0xff, 0xff, 0xff, 0x10]),
            Err(VarintError::Overflow)
        );
        assert_eq!(read_varlong(&[0xff; 10]), Err(VarintError::Overflow));
        assert_eq!(
            read_varlong(&[0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0x02]),
            Err(VarintError::Overflow)
        );
    }

    #[test]
    fn unfinished_varints_are_truncated() {
        assert_eq!(read_varint(&[]), Err(VarintError::Truncated));
        assert_eq!(read_varint(&[0x80, 0x80]), Err(VarintError::Truncated));
        assert_eq!(read_varlong(&[0xff; 9]), Err(VarintError::Truncated));
    }
}
