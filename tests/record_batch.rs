//! RecordBatch v2 against fixed vectors: the CRC-32C check value, every header field at its
//! offset in Kafka's layout, the xerial "foobar\n" stream, batches written by an independent
//! implementation (kafka-python), restamping, truncation, the format's documented limits,
//! decompression bombs, and a hex snapshot of one batch.

use bytes::Bytes;
use odradek::record::{
    set_base_offset, set_partition_leader_epoch, BatchAttributes, BatchBuilder, BatchHeader,
    BatchOptions, Compression, Header, RecordBatch, RecordError, TimestampType, RECORDS_BYTES_MAX,
};

/// CRC-32C written out bit by bit (reflected Castagnoli polynomial), independent of the
/// `crc32c` crate the module uses.
fn crc32c_bitwise(data: &[u8]) -> u32 {
    let mut crc = !0u32;
    for &byte in data {
        crc ^= u32::from(byte);
        for _ in 0..8 {
            crc = if crc & 1 != 0 {
                (crc >> 1) ^ 0x82f6_3b78
            } else {
                crc >> 1
            };
        }
    }
    !crc
}

fn unhex(hex: &str) -> Vec<u8> {
    assert!(hex.len() % 2 == 0, "odd hex length");
    (0..hex.len())
        .step_by(2)
        .map(|at| u8::from_str_radix(&hex[at..at + 2], 16).expect("hex digit"))
        .collect()
}

/// 16 bytes a line, each line led by its offset.
fn hexdump(bytes: &[u8]) -> String {
    let lines: Vec<String> = bytes
        .chunks(16)
        .enumerate()
        .map(|(line, chunk)| {
            let hex: Vec<String> = chunk.iter().map(|byte| format!("{byte:02x}")).collect();
            format!("{:04x}: {}", line * 16, hex.join(" "))
        })
        .collect();
    lines.join("\n") + "\n"
}

fn be_i64(bytes: &[u8], at: usize) -> i64 {
    i64::from_be_bytes(bytes[at..at + 8].try_into().expect("8 bytes"))
}

fn be_i32(bytes: &[u8], at: usize) -> i32 {
    i32::from_be_bytes(bytes[at..at + 4].try_into().expect("4 bytes"))
}

fn be_i16(bytes: &[u8], at: usize) -> i16 {
    i16::from_be_bytes(bytes[at..at + 2].try_into().expect("2 bytes"))
}

/// The three records the kafka-python vectors hold: a keyed record with a header, a
/// null-key record with a compressible value, and a null value with a null-valued header.
fn three_records(compression: Compression) -> RecordBatch {
    let options = BatchOptions {
        compression,
        producer_id: 4242,
        producer_epoch: 3,
        base_sequence: 17,
    };
    let mut builder = BatchBuilder::new(options);
    let trace = vec![Header {
        key: "trace".to_owned(),
        value: Some(Bytes::from_static(b"abc")),
    }];
    builder
        .append(
            1_700_000_000_000,
            Some(Bytes::from_static(b"key-0")),
            Some(Bytes::from_static(b"value-0")),
            trace,
        )
        .expect("append");
    builder
        .append(
            1_700_000_000_005,
            None,
            Some(Bytes::from("odradek ".repeat(8))),
            vec![],
        )
        .expect("append");
    let headers = vec![
        Header {
            key: "h".to_owned(),
            value: None,
        },
        Header {
            key: "h2".to_owned(),
            value: Some(Bytes::new()),
        },
    ];
    builder
        .append(
            1_699_999_999_990,
            Some(Bytes::from_static(b"k2")),
            None,
            headers,
        )
        .expect("append");
    builder.build().expect("build")
}

/// The same three records written by kafka-python 3.0.12's `DefaultRecordBatchBuilder`
/// (producer 4242, epoch 3, base sequence 17; kafka-python writes partition leader epoch 0),
/// with python-snappy, lz4 and zstandard for the codecs. One per codec, in code order.
const KAFKA_PYTHON_BATCHES: [&str; 5] = [
    "0000000000000000000000a70000000002a7dd072d0000000000020000018bcfe568000000018bcfe56805000000000000109200030000001100000003380000000a6b65792d300e76616c75652d30020a7472616365066162638e01000a020180016f64726164656b206f64726164656b206f64726164656b206f64726164656b206f64726164656b206f64726164656b206f64726164656b206f64726164656b20001e001304046b32010402680104683200",
    "0000000000000000000000850000000002239341470001000000020000018bcfe568000000018bcfe568050000000000001092000300000011000000031f8b08005e58076b02ffb3606060e0ca4eadd435e02b4bcc294dd53560e22a294a4c4e654b4c4aee6364e062626c60cc4f294a4c49cd562097669063106661c936626461ca6064c930620000114562d476000000",
    "0000000000000000000000890000000002eeff9e800002000000020000018bcfe568000000018bcfe5680500000000000010920003000000110000000382534e415050590000000001000000010000004476b0380000000a6b65792d300e76616c75652d30020a7472616365066162638e01000a020180016f64726164656b20de080040001e001304046b32010402680104683200",
    "00000000000000000000008d0000000002371429c90003000000020000018bcfe568000000018bcfe5680500000000000010920003000000110000000304224d18684076000000000000003b45000000ff1e380000000a6b65792d300e76616c75652d30020a7472616365066162638e01000a020180016f64726164656b20080025f002001e001304046b3201040268010468320000000000",
    "0000000000000000000000800000000002715904960004000000020000018bcfe568000000018bcfe5680500000000000010920003000000110000000328b52ffd2076350200e403380000000a6b65792d300e76616c75652d30020a7472616365066162638e01000a020180016f64726164656b20001e001304046b320104026801046832000100edce5206",
];

#[test]
fn crc32c_check_value_of_123456789_is_e3069283() {
    assert_eq!(crc32c_bitwise(b"123456789"), 0xe306_9283);
    assert_eq!(crc32c::crc32c(b"123456789"), 0xe306_9283);
}

#[test]
fn every_header_field_sits_at_its_offset() {
    let mut batch = three_records(Compression::None);
    batch.base_offset = 0x0102_0304_0506_0708;
    batch.partition_leader_epoch = 0x1112_1314;
    batch.attributes = BatchAttributes {
        compression: Compression::None,
        timestamp_type: TimestampType::LogAppendTime,
        is_transactional: true,
        is_control: false,
    };
    batch.base_timestamp = 0x5152_5354_5556_5758;
    batch.max_timestamp = 0x6162_6364_6566_6768;
    batch.producer_id = 0x2122_2324_2526_2728;
    batch.producer_epoch = 0x3132;
    batch.base_sequence = 0x4142_4344;
    let bytes = batch.encode().expect("encode");

    assert_eq!(be_i64(&bytes, 0), 0x0102_0304_0506_0708, "baseOffset");
    assert_eq!(
        be_i32(&bytes, 8),
        i32::try_from(bytes.len() - 12).expect("fits"),
        "batchLength"
    );
    assert_eq!(be_i32(&bytes, 12), 0x1112_1314, "partitionLeaderEpoch");
    assert_eq!(bytes[16], 2, "magic");
    assert_eq!(
        be_i32(&bytes, 17) as u32,
        crc32c_bitwise(&bytes[21..]),
        "crc"
    );
    assert_eq!(
        be_i16(&bytes, 21),
        0b0001_1000,
        "attributes: LogAppendTime, transactional"
    );
    assert_eq!(be_i32(&bytes, 23), 2, "lastOffsetDelta");
    assert_eq!(be_i64(&bytes, 27), 0x5152_5354_5556_5758, "baseTimestamp");
    assert_eq!(be_i64(&bytes, 35), 0x6162_6364_6566_6768, "maxTimestamp");
    assert_eq!(be_i64(&bytes, 43), 0x2122_2324_2526_2728, "producerId");
    assert_eq!(be_i16(&bytes, 51), 0x3132, "producerEpoch");
    assert_eq!(be_i32(&bytes, 53), 0x4142_4344, "baseSequence");
    assert_eq!(be_i32(&bytes, 57), 3, "recordsCount");
    assert_eq!(
        bytes[61..65],
        [0x38, 0x00, 0x00, 0x00],
        "first record: length 28, attributes, deltas 0"
    );

    let header = BatchHeader::parse(&bytes).expect("parse");
    assert_eq!(header.total_len(), bytes.len());
    assert_eq!(
        (header.last_offset(), header.next_offset()),
        (0x0102_0304_0506_070a, 0x0102_0304_0506_070b)
    );
    assert_eq!(header.last_sequence(), 0x4142_4346);
    assert_eq!(header.verify_crc(&bytes), Ok(()));
}

#[test]
fn uncompressed_batch_matches_kafka_python_byte_for_byte() {
    let mut ours = three_records(Compression::None)
        .encode()
        .expect("encode")
        .to_vec();
    set_partition_leader_epoch(&mut ours, 0).expect("restamp");
    assert_eq!(hexdump(&ours), hexdump(&unhex(KAFKA_PYTHON_BATCHES[0])));
}

#[test]
fn kafka_python_batches_decode_to_the_same_records_with_every_codec() {
    for (codec, hex) in Compression::ALL.into_iter().zip(KAFKA_PYTHON_BATCHES) {
        let bytes = unhex(hex);
        let (decoded, consumed) =
            RecordBatch::decode(&bytes).unwrap_or_else(|error| panic!("codec={codec}: {error}"));
        let mut expected = three_records(codec);
        expected.partition_leader_epoch = 0;
        assert_eq!(decoded, expected, "codec={codec}");
        assert_eq!(consumed, bytes.len(), "codec={codec}");
    }
}

#[test]
fn fixed_batch_bytes_match_the_snapshot() {
    let mut bytes = three_records(Compression::None)
        .encode()
        .expect("encode")
        .to_vec();
    set_base_offset(&mut bytes, 1_000).expect("restamp");
    set_partition_leader_epoch(&mut bytes, 7).expect("restamp");
    insta::assert_snapshot!("fixed_batch_hex", hexdump(&bytes));
}

#[test]
fn xerial_snappy_of_foobar_matches_kafkas_vector() {
    let expected = unhex("82534e41505059000000000100000001000000090718666f6f6261720a");
    assert_eq!(
        Compression::Snappy.compress(b"foobar\n"),
        Ok(expected.clone())
    );
    assert_eq!(
        Compression::Snappy.decompress(&expected, 7),
        Ok(b"foobar\n".to_vec())
    );
}

#[test]
fn raw_snappy_is_accepted_on_read() {
    let raw = unhex("0718666f6f6261720a");
    assert_eq!(
        Compression::Snappy.decompress(&raw, 7),
        Ok(b"foobar\n".to_vec())
    );
}

#[test]
fn restamping_keeps_the_crc_valid() {
    let mut bytes = three_records(Compression::Lz4)
        .encode()
        .expect("encode")
        .to_vec();
    set_base_offset(&mut bytes, 5_000).expect("restamp");
    set_partition_leader_epoch(&mut bytes, 9).expect("restamp");
    let (decoded, _) = RecordBatch::decode(&bytes).expect("decode");
    assert_eq!(
        (decoded.base_offset, decoded.partition_leader_epoch),
        (5_000, 9)
    );
    assert_eq!(
        (decoded.last_offset(), decoded.next_offset()),
        (5_002, 5_003)
    );
    let offsets: Vec<i64> = decoded
        .records
        .iter()
        .map(|record| decoded.record_offset(record))
        .collect();
    assert_eq!(offsets, [5_000, 5_001, 5_002]);
    let timestamps: Vec<i64> = decoded
        .records
        .iter()
        .map(|record| decoded.record_timestamp(record))
        .collect();
    assert_eq!(
        timestamps,
        [1_700_000_000_000, 1_700_000_000_005, 1_699_999_999_990]
    );
}

#[test]
fn restamping_refuses_values_decoding_would_refuse() {
    let original = three_records(Compression::None)
        .encode()
        .expect("encode")
        .to_vec();
    let mut bytes = original.clone();
    assert_eq!(
        set_base_offset(&mut bytes, -1).map_err(|error| error.to_string()),
        Err(
            "invalid header field: must not be negative. field=base_offset offset=0 value=-1"
                .to_owned()
        )
    );
    assert!(
        set_base_offset(&mut bytes, i64::MAX - 1).is_err(),
        "last offset would overflow"
    );
    assert_eq!(
        set_partition_leader_epoch(&mut bytes, -2).map_err(|error| error.to_string()),
        Err("invalid header field: must be -1 or an epoch. field=partition_leader_epoch offset=12 value=-2".to_owned())
    );
    assert_eq!(bytes, original, "a refused restamp leaves the bytes alone");
    assert!(
        set_base_offset(&mut bytes[..60], 1).is_err(),
        "needs a whole header"
    );
}

#[test]
fn every_prefix_of_a_batch_is_truncated() {
    let bytes = three_records(Compression::Zstd).encode().expect("encode");
    for len in 0..bytes.len() {
        let expected = if len < 61 {
            RecordError::Truncated {
                field: "batch_header",
                needed: 61,
                available: len,
            }
        } else {
            RecordError::Truncated {
                field: "batch",
                needed: bytes.len(),
                available: len,
            }
        };
        assert_eq!(
            RecordBatch::decode(&bytes[..len]),
            Err(expected),
            "len={len}"
        );
    }
}

#[test]
fn batches_decode_back_to_back() {
    let first = three_records(Compression::Gzip);
    let mut second = three_records(Compression::Snappy);
    second.base_offset = 3;
    let mut log = first.encode().expect("encode").to_vec();
    log.extend_from_slice(&second.encode().expect("encode"));
    let (decoded, consumed) = RecordBatch::decode(&log).expect("first");
    assert_eq!(decoded, first);
    let (decoded, rest) = RecordBatch::decode(&log[consumed..]).expect("second");
    assert_eq!(decoded, second);
    assert_eq!(consumed + rest, log.len());
}

#[test]
fn outside_crc_corruptions_name_field_and_offset() {
    let bytes = three_records(Compression::None)
        .encode()
        .expect("encode")
        .to_vec();
    let corrupt = |at: usize, value: u8| {
        let mut copy = bytes.clone();
        copy[at] = value;
        RecordBatch::decode(&copy).expect_err("corrupt").to_string()
    };
    assert_eq!(corrupt(16, 3), "bad magic. offset=16 magic=3");
    assert_eq!(
        corrupt(0, 0x80),
        format!(
            "invalid header field: must not be negative. field=base_offset offset=0 value={}",
            i64::MIN
        )
    );
    assert_eq!(
        corrupt(15, 0xfe),
        "invalid header field: must be -1 or an epoch. field=partition_leader_epoch offset=12 value=-2"
    );
    assert_eq!(
        corrupt(8, 0x80),
        format!(
            "invalid header field: must be at least 49. field=batch_length offset=8 value={}",
            i32::MIN | i32::try_from(bytes.len() - 12).expect("fits")
        )
    );
    let longer = bytes.len() + 1 - 12;
    let mut copy = bytes.clone();
    copy[8..12].copy_from_slice(&i32::try_from(longer).expect("fits").to_be_bytes());
    assert_eq!(
        RecordBatch::decode(&copy),
        Err(RecordError::Truncated {
            field: "batch",
            needed: bytes.len() + 1,
            available: bytes.len()
        })
    );
}

#[test]
fn crc_covered_corruption_reports_both_crcs() {
    let mut bytes = three_records(Compression::None)
        .encode()
        .expect("encode")
        .to_vec();
    let stored = crc32c_bitwise(&bytes[21..]);
    bytes[70] ^= 0x01;
    let computed = crc32c_bitwise(&bytes[21..]);
    assert_eq!(
        RecordBatch::decode(&bytes),
        Err(RecordError::CrcMismatch { stored, computed })
    );
    assert_eq!(
        RecordBatch::decode(&bytes).expect_err("crc").to_string(),
        format!("crc mismatch. offset=17 stored={stored:#010x} computed={computed:#010x}")
    );
}

/// Pins the format's documented limit: `baseOffset` and `partitionLeaderEpoch` sit outside
/// the CRC, so a corruption to another plausible value decodes. Only the log, which knows
/// the neighbouring batches, can catch it.
#[test]
fn plausible_base_offset_and_epoch_corruption_is_undetectable_by_the_format() {
    let mut bytes = three_records(Compression::None)
        .encode()
        .expect("encode")
        .to_vec();
    set_partition_leader_epoch(&mut bytes, 5).expect("restamp");
    bytes[7] ^= 0x04; // base offset 0 -> 4
    bytes[15] ^= 0x01; // epoch 5 -> 4
    let (decoded, _) = RecordBatch::decode(&bytes).expect("plausible values decode");
    assert_eq!(
        (decoded.base_offset, decoded.partition_leader_epoch),
        (4, 4)
    );
}

#[test]
fn gzip_and_zstd_bombs_stop_at_the_records_limit() {
    let zeros = vec![0u8; RECORDS_BYTES_MAX + 1];
    for codec in [Compression::Gzip, Compression::Zstd] {
        let section = codec.compress(&zeros).expect("compress");
        let mut bytes = three_records(codec).encode().expect("encode")[..61].to_vec();
        bytes.extend_from_slice(&section);
        let batch_length = i32::try_from(bytes.len() - 12).expect("fits");
        bytes[8..12].copy_from_slice(&batch_length.to_be_bytes());
        let crc = crc32c_bitwise(&bytes[21..]);
        bytes[17..21].copy_from_slice(&crc.to_be_bytes());
        assert_eq!(
            RecordBatch::decode(&bytes),
            Err(RecordError::RecordsTooLarge {
                codec,
                size: RECORDS_BYTES_MAX + 1,
                limit: RECORDS_BYTES_MAX
            }),
            "codec={codec}"
        );
    }
}
