//! The five codecs of a v2 batch's records section, with real codec crates: gzip (flate2),
//! snappy in Kafka's xerial framing (snap), lz4 in the LZ4 frame format (lz4_flex) and zstd
//! (zstd). Each compresses the whole records section as one stream.
//!
//! Decompression reads untrusted bytes, so it stops at a caller's limit (normally
//! `RECORDS_BYTES_MAX`) instead of trusting any size the stream claims: a decompression
//! bomb costs at most the limit in memory.

use std::fmt;
use std::io::{Read, Write};

use super::error::RecordError;
use super::snappy_xerial;
use super::RECORDS_BYTES_MAX;

/// The codec of a batch's records section: bits 0-2 of the batch attributes.
///
/// Names and codes are Kafka's (`compression.type`), so configurations and hex dumps read
/// the same as in Kafka.
#[derive(
    Debug,
    Clone,
    Copy,
    PartialEq,
    Eq,
    Hash,
    PartialOrd,
    Ord,
    Default,
    serde::Serialize,
    serde::Deserialize,
)]
#[serde(rename_all = "snake_case")]
pub enum Compression {
    /// No compression (code 0), Kafka's default.
    #[default]
    None,
    /// gzip (code 1), level 6 as Java's `GZIPOutputStream` default.
    Gzip,
    /// snappy (code 2), written in snappy-java's xerial framing; raw snappy is read too.
    Snappy,
    /// lz4 (code 3), in the LZ4 frame format with independent 64 KiB blocks.
    Lz4,
    /// zstd (code 4), level 3 as Kafka's default.
    Zstd,
}

/// gzip level Kafka uses unless configured (`Deflater.DEFAULT_COMPRESSION`).
const GZIP_LEVEL: u32 = 6;

/// zstd level Kafka uses unless configured.
const ZSTD_LEVEL: i32 = 3;

/// Largest zstd window the decoder accepts, as a power of two: no larger than the records
/// limit, so a hostile frame header cannot make the decoder allocate more than the limit.
const ZSTD_WINDOW_LOG_MAX: u32 = RECORDS_BYTES_MAX.ilog2();

const _: () = assert!(1usize << ZSTD_WINDOW_LOG_MAX <= RECORDS_BYTES_MAX);

impl Compression {
    /// Every codec, in code order: for tests and configuration listings.
    pub const ALL: [Compression; 5] = [
        Compression::None,
        Compression::Gzip,
        Compression::Snappy,
        Compression::Lz4,
        Compression::Zstd,
    ];

    /// The codec's code in bits 0-2 of the batch attributes.
    pub fn code(self) -> u8 {
        match self {
            Compression::None => 0,
            Compression::Gzip => 1,
            Compression::Snappy => 2,
            Compression::Lz4 => 3,
            Compression::Zstd => 4,
        }
    }

    /// The codec with `code`, or `None` for the codes Kafka leaves unassigned (5-7).
    pub fn from_code(code: u8) -> Option<Compression> {
        Compression::ALL
            .into_iter()
            .find(|codec| codec.code() == code)
    }

    /// Kafka's name for the codec, as in `compression.type`.
    pub fn name(self) -> &'static str {
        match self {
            Compression::None => "none",
            Compression::Gzip => "gzip",
            Compression::Snappy => "snappy",
            Compression::Lz4 => "lz4",
            Compression::Zstd => "zstd",
        }
    }

    /// Compresses a records section as one stream of this codec.
    pub fn compress(self, data: &[u8]) -> Result<Vec<u8>, RecordError> {
        let failed = |error: std::io::Error| RecordError::Compression {
            codec: self,
            reason: error.to_string(),
        };
        match self {
            Compression::None => Ok(data.to_vec()),
            Compression::Gzip => {
                let level = flate2::Compression::new(GZIP_LEVEL);
                let mut encoder = flate2::write::GzEncoder::new(Vec::new(), level);
                encoder.write_all(data).map_err(failed)?;
                encoder.finish().map_err(failed)
            }
            Compression::Snappy => snappy_xerial::compress(data),
            Compression::Lz4 => {
                let frame = lz4_flex::frame::FrameInfo::new()
                    .block_size(lz4_flex::frame::BlockSize::Max64KB)
                    .block_mode(lz4_flex::frame::BlockMode::Independent);
                let mut encoder = lz4_flex::frame::FrameEncoder::with_frame_info(frame, Vec::new());
                encoder.write_all(data).map_err(failed)?;
                encoder.finish().map_err(|error| failed(error.into()))
            }
            Compression::Zstd => zstd::stream::encode_all(data, ZSTD_LEVEL).map_err(failed),
        }
    }

    /// Decompresses a records section, refusing more than `limit` bytes of output with
    /// [`RecordError::RecordsTooLarge`]. Without compression the section itself must fit
    /// the limit, so the rule is one for every codec.
    pub fn decompress(self, data: &[u8], limit: usize) -> Result<Vec<u8>, RecordError> {
        let failed = |error: std::io::Error| RecordError::Decompression {
            codec: self,
            reason: error.to_string(),
        };
        match self {
            Compression::None => {
                if data.len() > limit {
                    return Err(RecordError::RecordsTooLarge {
                        codec: self,
                        size: data.len(),
                        limit,
                    });
                }
                Ok(data.to_vec())
            }
            Compression::Gzip => self.read_capped(flate2::read::MultiGzDecoder::new(data), limit),
            Compression::Snappy => snappy_xerial::decompress(data, limit),
            Compression::Lz4 => self.read_capped(lz4_flex::frame::FrameDecoder::new(data), limit),
            Compression::Zstd => {
                let mut decoder = zstd::stream::read::Decoder::with_buffer(data).map_err(failed)?;
                decoder
                    .window_log_max(ZSTD_WINDOW_LOG_MAX)
                    .map_err(failed)?;
                self.read_capped(decoder, limit)
            }
        }
    }

    /// Reads a decompressing stream to its end or to one byte past `limit`.
    fn read_capped(self, decoder: impl Read, limit: usize) -> Result<Vec<u8>, RecordError> {
        let mut out = Vec::new();
        let cap = u64::try_from(limit).unwrap_or(u64::MAX).saturating_add(1);
        decoder
            .take(cap)
            .read_to_end(&mut out)
            .map_err(|error| RecordError::Decompression {
                codec: self,
                reason: error.to_string(),
            })?;
        if out.len() > limit {
            return Err(RecordError::RecordsTooLarge {
                codec: self,
                size: out.len(),
                limit,
            });
        }
        Ok(out)
    }
}

impl fmt::Display for Compression {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.name())
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn sample() -> Vec<u8> {
        (0..50_000u32).map(|i| (i % 97) as u8).collect()
    }

    #[test]
    fn codes_round_trip_and_5_to_7_are_unassigned() {
        for codec in Compression::ALL {
            assert_eq!(Compression::from_code(codec.code()), Some(codec));
        }
        for code in 5..=7 {
            assert_eq!(Compression::from_code(code), None);
        }
    }

    #[test]
    fn every_codec_round_trips() {
        let data = sample();
        for codec in Compression::ALL {
            let compressed = codec.compress(&data).expect("compress");
            if codec != Compression::None {
                assert!(
                    compressed.len() < data.len(),
                    "codec={codec} did not compress"
                );
            }
            assert_eq!(
                codec.decompress(&compressed, data.len()),
                Ok(data.clone()),
                "codec={codec}"
            );
        }
    }

    #[test]
    fn every_codec_stops_one_byte_past_the_limit() {
        let data = sample();
        let limit = data.len() - 1;
        for codec in Compression::ALL {
            let compressed = codec.compress(&data).expect("compress");
            let result = codec.decompress(&compressed, limit);
            match result {
                Err(RecordError::RecordsTooLarge {
                    codec: seen,
                    size,
                    limit: seen_limit,
                }) => {
                    assert_eq!((seen, seen_limit), (codec, limit));
                    assert!(size > limit, "codec={codec} size={size}");
                }
                other => panic!("codec={codec} expected RecordsTooLarge, got {other:?}"),
            }
        }
    }

    #[test]
    fn garbage_is_a_decompression_error_naming_the_codec() {
        let garbage = [0x05, 0xff, 0xff, 0xff, 0xff, 0xff, 0x00, 0x11];
        for codec in [
            Compression::Gzip,
            Compression::Snappy,
            Compression::Lz4,
            Compression::Zstd,
        ] {
            match codec.decompress(&garbage, 1 << 20) {
                Err(error @ RecordError::Decompression { .. }) => {
                    let prefix = format!("decompression failed. codec={codec}: ");
                    assert!(error.to_string().starts_with(&prefix), "{error}");
                }
                other => panic!("codec={codec} expected Decompression, got {other:?}"),
            }
        }
    }

    #[test]
    fn lz4_frames_use_independent_blocks() {
        let compressed = Compression::Lz4.compress(b"odradek").expect("compress");
        assert_eq!(compressed[..4], [0x04, 0x22, 0x4d, 0x18], "lz4 frame magic");
        let flags = compressed[4];
        assert_eq!(flags >> 6, 0b01, "frame version 1");
        assert_ne!(flags & 0b0010_0000, 0, "block independence flag");
    }
}
