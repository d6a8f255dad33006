//! Snappy as Kafka's Java client writes it: snappy-java's ("xerial") stream, neither raw
//! snappy nor snappy's official framing format. A 16-byte header (magic, version 1,
//! compatible version 1), then blocks, each a big-endian `i32` compressed length and a raw
//! snappy block of at most 32 KiB of input, as snappy-java's default block size.
//!
//! On read, a section that starts with the xerial magic is read as xerial, anything else as
//! one raw snappy block, as librdkafka does. No valid raw block starts with the magic: after
//! the length varint `82 53`, the byte 'N' would be a copy element with nothing yet to copy.

use super::compression::Compression;
use super::error::RecordError;

/// The first 8 bytes of every xerial stream: `\x82SNAPPY\0`.
const XERIAL_MAGIC: [u8; 8] = [0x82, b'S', b'N', b'A', b'P', b'P', b'Y', 0];

/// The whole xerial header: magic, then version 1 and compatible version 1 (big-endian).
const XERIAL_HEADER: [u8; 16] = [
    0x82, b'S', b'N', b'A', b'P', b'P', b'Y', 0, 0, 0, 0, 1, 0, 0, 0, 1,
];

/// Input bytes per xerial block on write, snappy-java's default block size.
const XERIAL_BLOCK_BYTES: usize = 32 * 1024;

/// Bytes of a block's big-endian length prefix.
const BLOCK_LENGTH_BYTES: usize = 4;

const _: () = assert!(XERIAL_HEADER.len() == 16);
const _: () = assert!(XERIAL_BLOCK_BYTES as u64 <= i32::MAX as u64);

/// Compresses `data` as a xerial stream.
pub(super) fn compress(data: &[u8]) -> Result<Vec<u8>, RecordError> {
    let blocks = data.len().div_ceil(XERIAL_BLOCK_BYTES);
    let block_bytes_max = snap::raw::max_compress_len(XERIAL_BLOCK_BYTES);
    let mut out =
        Vec::with_capacity(XERIAL_HEADER.len() + blocks * (BLOCK_LENGTH_BYTES + block_bytes_max));
    out.extend_from_slice(&XERIAL_HEADER);
    let mut encoder = snap::raw::Encoder::new();
    for chunk in data.chunks(XERIAL_BLOCK_BYTES) {
        let length_at = out.len();
        out.extend_from_slice(&[0; BLOCK_LENGTH_BYTES]);
        let block_at = out.len();
        out.resize(block_at + snap::raw::max_compress_len(chunk.len()), 0);
        let written = encoder
            .compress(chunk, &mut out[block_at..])
            .map_err(|error| compression_failed(&error))?;
        out.truncate(block_at + written);
        let length = i32::try_from(written).map_err(|error| compression_failed(&error))?;
        out[length_at..block_at].copy_from_slice(&length.to_be_bytes());
    }
    Ok(out)
}

/// Decompresses a xerial stream or one raw snappy block, refusing more than `limit` bytes
/// of output before allocating them.
pub(super) fn decompress(data: &[u8], limit: usize) -> Result<Vec<u8>, RecordError> {
    if data.starts_with(&XERIAL_MAGIC) {
        decompress_xerial(data, limit)
    } else {
        let mut out = Vec::new();
        append_raw_block(data, 0, limit, &mut out)?;
        Ok(out)
    }
}

fn decompress_xerial(data: &[u8], limit: usize) -> Result<Vec<u8>, RecordError> {
    if data.len() < XERIAL_HEADER.len() {
        return Err(decompression_failed(format!(
            "xerial header truncated. needed={} available={}",
            XERIAL_HEADER.len(),
            data.len()
        )));
    }
    let mut out = Vec::new();
    let mut at = XERIAL_HEADER.len();
    while at < data.len() {
        let (length, block_at) = block_length(data, at)?;
        let block = data
            .get(block_at..block_at.saturating_add(length))
            .ok_or_else(|| {
                decompression_failed(format!(
                    "xerial block truncated. compressed_offset={at} needed={length} available={}",
                    data.len() - block_at
                ))
            })?;
        append_raw_block(block, block_at, limit, &mut out)?;
        at = block_at + length;
    }
    Ok(out)
}

/// Reads the length prefix of the block at `at`: the block's length and where it starts.
fn block_length(data: &[u8], at: usize) -> Result<(usize, usize), RecordError> {
    let prefix: [u8; BLOCK_LENGTH_BYTES] = data
        .get(at..at + BLOCK_LENGTH_BYTES)
        .and_then(|bytes| bytes.try_into().ok())
        .ok_or_else(|| {
            decompression_failed(format!(
                "xerial block length truncated. compressed_offset={at} available={}",
                data.len() - at
            ))
        })?;
    let length = i32::from_be_bytes(prefix);
    let length = usize::try_from(length).map_err(|_| {
        decompression_failed(format!(
            "negative xerial block length. compressed_offset={at} length={length}"
        ))
    })?;
    Ok((length, at + BLOCK_LENGTH_BYTES))
}

/// Decompresses one raw snappy block starting at `block_at` in the section onto `out`.
fn append_raw_block(
    block: &[u8],
    block_at: usize,
    limit: usize,
    out: &mut Vec<u8>,
) -> Result<(), RecordError> {
    let failed =
        |error: snap::Error| decompression_failed(format!("{error}. compressed_offset={block_at}"));
    let length = snap::raw::decompress_len(block).map_err(failed)?;
    let start = out.len();
    let size = start.saturating_add(length);
    if size > limit {
        return Err(RecordError::RecordsTooLarge {
            codec: Compression::Snappy,
            size,
            limit,
        });
    }
    out.resize(size, 0);
    let written = snap::raw::Decoder::new()
        .decompress(block, &mut out[start..])
        .map_err(failed)?;
    if written != length {
        return Err(decompression_failed(format!(
            "snappy block shorter than declared. compressed_offset={block_at} declared={length} written={written}"
        )));
    }
    Ok(())
}

fn decompression_failed(reason: String) -> RecordError {
    RecordError::Decompression {
        codec: Compression::Snappy,
        reason,
    }
}

fn compression_failed(error: &dyn std::error::Error) -> RecordError {
    RecordError::Compression {
        codec: Compression::Snappy,
        reason: error.to_string(),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn empty_input_is_a_bare_header() {
        let compressed = compress(&[]).expect("compress");
        assert_eq!(compressed, XERIAL_HEADER);
        assert_eq!(decompress(&compressed, 0), Ok(Vec::new()));
    }

    #[test]
    fn large_input_splits_into_32_kib_blocks() {
        let data: Vec<u8> = (0..100_000u32).map(|i| (i % 251) as u8).collect();
        let compressed = compress(&data).expect("compress");
        let mut blocks = 0;
        let mut at = XERIAL_HEADER.len();
        while at < compressed.len() {
            let (length, block_at) = block_length(&compressed, at).expect("block length");
            let block = &compressed[block_at..block_at + length];
            let expected = (data.len() - blocks * XERIAL_BLOCK_BYTES).min(XERIAL_BLOCK_BYTES);
            assert_eq!(
                snap::raw::decompress_len(block).expect("raw block"),
                expected
            );
            blocks += 1;
            at = block_at + length;
        }
        assert_eq!(blocks, 4);
        assert_eq!(decompress(&compressed, data.len()), Ok(data));
    }

    #[test]
    fn output_over_the_limit_is_refused_before_allocation() {
        let data = vec![7u8; 10_000];
        let xerial = compress(&data).expect("compress");
        let raw = snap::raw::Encoder::new().compress_vec(&data).expect("raw");
        for compressed in [xerial, raw] {
            assert_eq!(
                decompress(&compressed, 9_999),
                Err(RecordError::RecordsTooLarge {
                    codec: Compression::Snappy,
                    size: 10_000,
                    limit: 9_999
                })
            );
        }
    }

    #[test]
    fn broken_framing_names_the_offset() {
        let mut negative = XERIAL_HEADER.to_vec();
        negative.extend_from_slice(&(-2i32).to_be_bytes());
        let mut short = XERIAL_HEADER.to_vec();
        short.extend_from_slice(&[0, 0, 0, 9, 0x07]);
        let cases = [
            (
                XERIAL_HEADER[..12].to_vec(),
                "xerial header truncated. needed=16 available=12",
            ),
            (
                negative,
                "negative xerial block length. compressed_offset=16 length=-2",
            ),
            (
                short,
                "xerial block truncated. compressed_offset=16 needed=9 available=1",
            ),
        ];
        for (data, reason) in cases {
            let expected = RecordError::Decompression {
                codec: Compression::Snappy,
                reason: reason.to_owned(),
            };
            assert_eq!(decompress(&data, 1 << 20), Err(expected));
        }
    }
}
