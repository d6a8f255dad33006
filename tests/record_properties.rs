//! Properties of RecordBatch v2 over generated batches and bytes: every codec round-trips
//! null keys, null values and headers; decoding random, mutated or forged bytes never
//! panics; a flip in the bytes the CRC covers, in the magic or in the batch length is always
//! an error; truncation is always an error; and whatever decodes re-encodes to the same
//! batch.

use bytes::Bytes;
use odradek::record::{
    set_base_offset, set_partition_leader_epoch, BatchBuilder, BatchHeader, BatchOptions,
    Compression, Header, RecordBatch, RecordError,
};
use proptest::collection::vec;
use proptest::option;
use proptest::prelude::*;

/// Cases for properties that encode and decode whole batches.
const ROUND_TRIP_CASES: u32 = 512;

/// Cases for the never-panics and always-rejected properties: cheap, so many.
const MALFORMED_CASES: u32 = 8192;

/// A record before it is appended: timestamp, key, value, headers.
type Draft = (i64, Option<Vec<u8>>, Option<Vec<u8>>, Vec<Header>);

fn payload(len_max: usize) -> impl Strategy<Value = Vec<u8>> {
    prop_oneof![
        vec(any::<u8>(), 0..len_max),
        (any::<u8>(), 0..len_max * 4).prop_map(|(byte, len)| vec![byte; len]),
    ]
}

fn header() -> impl Strategy<Value = Header> {
    ("\\PC{0,8}", option::of(payload(16))).prop_map(|(key, value)| Header {
        key,
        value: value.map(Bytes::from),
    })
}

fn draft() -> impl Strategy<Value = Draft> {
    let timestamp = prop_oneof![1_600_000_000_000i64..1_800_000_000_000, any::<i64>()];
    (
        timestamp,
        option::of(payload(32)),
        option::of(payload(128)),
        vec(header(), 0..4),
    )
}

fn codec() -> impl Strategy<Value = Compression> {
    prop::sample::select(Compression::ALL.to_vec())
}

fn options() -> impl Strategy<Value = BatchOptions> {
    let idempotent = (0..i64::MAX, 0..i16::MAX, 0..i32::MAX);
    let producer = prop_oneof![Just((-1, -1, -1)), idempotent];
    (codec(), producer).prop_map(
        |(compression, (producer_id, producer_epoch, base_sequence))| BatchOptions {
            compression,
            producer_id,
            producer_epoch,
            base_sequence,
        },
    )
}

fn build(options: BatchOptions, drafts: Vec<Draft>) -> RecordBatch {
    let mut builder = BatchBuilder::new(options);
    for (timestamp, key, value, headers) in drafts {
        builder
            .append(
                timestamp,
                key.map(Bytes::from),
                value.map(Bytes::from),
                headers,
            )
            .expect("append");
    }
    builder.build().expect("build")
}

/// A built batch as a producer sends it (base offset 0, epoch -1) or as a leader stamped it.
fn batch() -> impl Strategy<Value = RecordBatch> {
    let stamp = prop_oneof![Just((0, -1)), (0..i64::MAX / 2, -1..i32::MAX)];
    (options(), vec(draft(), 1..12), stamp).prop_map(|(options, drafts, (base_offset, epoch))| {
        let mut batch = build(options, drafts);
        batch.base_offset = base_offset;
        batch.partition_leader_epoch = epoch;
        batch
    })
}

/// Puts `section` behind `header` (a valid batch's first 61 bytes) with a matching batch
/// length and CRC, so decoding gets past the CRC to the codec and the records.
fn forge(header: &[u8], section: &[u8]) -> Vec<u8> {
    let mut bytes = header[..61].to_vec();
    bytes.extend_from_slice(section);
    let batch_length = i32::try_from(bytes.len() - 12).expect("small batch");
    bytes[8..12].copy_from_slice(&batch_length.to_be_bytes());
    let crc = crc32c::crc32c(&bytes[21..]);
    bytes[17..21].copy_from_slice(&crc.to_be_bytes());
    bytes
}

/// Whatever decodes must encode again and decode to the same batch.
fn assert_decoded_is_canonical(bytes: &[u8]) -> Result<(), TestCaseError> {
    if let Ok((decoded, consumed)) = RecordBatch::decode(bytes) {
        prop_assert!(consumed <= bytes.len());
        let encoded = decoded
            .encode()
            .map_err(|error| TestCaseError::fail(error.to_string()))?;
        let (again, _) = RecordBatch::decode(&encoded)
            .map_err(|error| TestCaseError::fail(error.to_string()))?;
        prop_assert_eq!(again, decoded);
    }
    Ok(())
}

proptest! {
    #![proptest_config(ProptestConfig::with_cases(ROUND_TRIP_CASES))]

    #[test]
    fn every_codec_round_trips_null_keys_null_values_and_headers(
        options in options(),
        drafts in vec(draft(), 1..12),
    ) {
        let batch = build(options, drafts.clone());
        let bytes = batch.encode().map_err(|error| TestCaseError::fail(error.to_string()))?;
        let (decoded, consumed) = RecordBatch::decode(&bytes).map_err(|error| TestCaseError::fail(error.to_string()))?;
        prop_assert_eq!(consumed, bytes.len());
        prop_assert_eq!(&decoded, &batch);
        prop_assert_eq!(decoded.attributes.compression, options.compression);
        for (record, (timestamp, key, value, headers)) in decoded.records.iter().zip(drafts) {
            prop_assert_eq!(decoded.record_timestamp(record), timestamp);
            prop_assert_eq!(record.key.as_deref(), key.as_deref());
            prop_assert_eq!(record.value.as_deref(), value.as_deref());
            prop_assert_eq!(&record.headers, &headers);
        }
    }

    #[test]
    fn header_view_agrees_with_the_decoded_batch(batch in batch()) {
        let bytes = batch.encode().map_err(|error| TestCaseError::fail(error.to_string()))?;
        let header = BatchHeader::parse(&bytes).map_err(|error| TestCaseError::fail(error.to_string()))?;
        prop_assert_eq!(header.verify_crc(&bytes), Ok(()));
        prop_assert_eq!(header.total_len(), bytes.len());
        prop_assert_eq!(header.base_offset, batch.base_offset);
        prop_assert_eq!(header.partition_leader_epoch, batch.partition_leader_epoch);
        prop_assert_eq!(header.attributes, batch.attributes);
        prop_assert_eq!((header.base_timestamp, header.max_timestamp), (batch.base_timestamp, batch.max_timestamp));
        prop_assert_eq!((header.producer_id, header.producer_epoch), (batch.producer_id, batch.producer_epoch));
        prop_assert_eq!(header.base_sequence, batch.base_sequence);
        prop_assert_eq!(usize::try_from(header.records_count).ok(), Some(batch.records.len()));
        prop_assert_eq!((header.last_offset(), header.next_offset()), (batch.last_offset(), batch.next_offset()));
        prop_assert_eq!(header.last_sequence(), batch.last_sequence());
    }

    #[test]
    fn restamped_offset_and_epoch_decode_without_reencoding(
        batch in batch(),
        base_offset in 0..i64::MAX / 2,
        epoch in -1..i32::MAX,
    ) {
        let mut bytes = batch.encode().map_err(|error| TestCaseError::fail(error.to_string()))?.to_vec();
        set_base_offset(&mut bytes, base_offset).map_err(|error| TestCaseError::fail(error.to_string()))?;
        set_partition_leader_epoch(&mut bytes, epoch).map_err(|error| TestCaseError::fail(error.to_string()))?;
        let (decoded, _) = RecordBatch::decode(&bytes).map_err(|error| TestCaseError::fail(error.to_string()))?;
        let mut expected = batch;
        expected.base_offset = base_offset;
        expected.partition_leader_epoch = epoch;
        prop_assert_eq!(decoded, expected);
    }

    #[test]
    fn bytes_after_a_batch_are_left_for_the_next(batch in batch(), tail in vec(any::<u8>(), 0..64)) {
        let bytes = batch.encode().map_err(|error| TestCaseError::fail(error.to_string()))?;
        let mut buffer = bytes.to_vec();
        buffer.extend_from_slice(&tail);
        let (decoded, consumed) = RecordBatch::decode(&buffer).map_err(|error| TestCaseError::fail(error.to_string()))?;
        prop_assert_eq!(consumed, bytes.len());
        prop_assert_eq!(decoded, batch);
    }

    #[test]
    fn mutated_records_behind_a_forged_crc_never_panic(
        batch in batch(),
        edits in vec((any::<prop::sample::Index>(), any::<u8>()), 1..8),
    ) {
        let bytes = batch.encode().map_err(|error| TestCaseError::fail(error.to_string()))?;
        let mut section = bytes[61..].to_vec();
        for (index, byte) in edits {
            let at = index.index(section.len());
            section[at] = byte;
        }
        assert_decoded_is_canonical(&forge(&bytes, &section))?;
    }
}

proptest! {
    #![proptest_config(ProptestConfig::with_cases(MALFORMED_CASES))]

    #[test]
    fn decoding_random_bytes_never_panics(bytes in vec(any::<u8>(), 0..256)) {
        let _ = BatchHeader::parse(&bytes);
        assert_decoded_is_canonical(&bytes)?;
    }

    #[test]
    fn decoding_random_bytes_behind_a_plausible_header_never_panics(
        mut header in vec(any::<u8>(), 61),
        tail in vec(any::<u8>(), 0..192),
    ) {
        header[16] = 2;
        let mut bytes = header;
        bytes.extend_from_slice(&tail);
        let batch_length = i32::try_from(bytes.len() - 12).expect("small batch");
        bytes[8..12].copy_from_slice(&batch_length.to_be_bytes());
        assert_decoded_is_canonical(&bytes)?;
    }

    #[test]
    fn random_records_behind_a_forged_crc_never_panic(
        codec in codec(),
        records_count in prop_oneof![1..4i32, any::<i32>()],
        section in prop_oneof![vec(any::<u8>(), 0..256), payload(64)],
    ) {
        let mut header = vec![0u8; 61];
        header[16] = 2;
        header[21..23].copy_from_slice(&i16::from(codec.code()).to_be_bytes());
        header[23..27].copy_from_slice(&records_count.wrapping_sub(1).to_be_bytes());
        header[57..61].copy_from_slice(&records_count.to_be_bytes());
        assert_decoded_is_canonical(&forge(&header, &section))?;
    }

    #[test]
    fn flipped_crc_covered_bit_is_rejected(batch in batch(), bit in any::<prop::sample::Index>()) {
        let mut bytes = batch.encode().map_err(|error| TestCaseError::fail(error.to_string()))?.to_vec();
        // The magic byte (16), the CRC itself (17..21) and everything it covers (21..).
        let covered_bits = (bytes.len() - 16) * 8;
        let flip = 16 * 8 + bit.index(covered_bits);
        bytes[flip / 8] ^= 1 << (flip % 8);
        let result = RecordBatch::decode(&bytes);
        if flip < 17 * 8 {
            prop_assert!(matches!(result, Err(RecordError::BadMagic { .. })), "bit {}: {:?}", flip, result);
        } else {
            prop_assert!(matches!(result, Err(RecordError::CrcMismatch { .. })), "bit {}: {:?}", flip, result);
        }
    }

    /// A changed batch length moves the end of the CRC's range: the batch is truncated, or
    /// the CRC fails short of a 2^-32 coincidence (documented in the batch module).
    #[test]
    fn flipped_batch_length_bit_is_rejected(batch in batch(), bit in 0usize..32) {
        let mut bytes = batch.encode().map_err(|error| TestCaseError::fail(error.to_string()))?.to_vec();
        bytes[8 + bit / 8] ^= 1 << (bit % 8);
        prop_assert!(RecordBatch::decode(&bytes).is_err(), "batch length bit {} flipped and the batch still decoded", bit);
    }

    #[test]
    fn truncated_batch_is_rejected(batch in batch(), cut in any::<prop::sample::Index>()) {
        let bytes = batch.encode().map_err(|error| TestCaseError::fail(error.to_string()))?;
        let len = cut.index(bytes.len());
        let result = RecordBatch::decode(&bytes[..len]);
        prop_assert!(matches!(result, Err(RecordError::Truncated { .. })), "len {}: {:?}", len, result);
    }
}
