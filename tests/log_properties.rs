//! Properties of the partition log without crashes: reads return exactly the records that
//! were appended, at their offsets and epochs, within the limits asked for; and no content
//! of any file in the log's directory makes opening, reading, appending or truncating
//! panic, nor makes a read return a batch that fails its CRC.

use bytes::Bytes;
use odradek::log::{Log, LogConfig, LogError, ReadLimits};
use odradek::record::{
    set_base_offset, set_partition_leader_epoch, BatchBuilder, BatchHeader, BatchOptions,
    Compression, Header, Record, RecordBatch,
};
use odradek_sim::{Disk, SimDisk};
use proptest::collection::vec;
use proptest::prelude::*;

/// Cases of each property.
const CASES: u32 = 512;
const DIR: &str = "t-0";

#[derive(Debug, Clone)]
enum Op {
    /// Batches of (records, value bytes, key present), appended together.
    Append {
        batches: Vec<(u8, u8, bool)>,
        codec: Compression,
        new_epoch: bool,
        follower: bool,
    },
    /// Truncate to a point in [log start, log end], in thousandths.
    Truncate(u16),
    /// Delete below a point in [log start, log end] (with the high watermark there).
    DeleteBelow(u16),
    /// Read from a point in [log start, log end], with a byte limit and an end offset
    /// (thousandths of the way from the read's start to the log end, or none).
    Read {
        from: u16,
        bytes_max: usize,
        end: Option<u16>,
    },
}

fn codec() -> impl Strategy<Value = Compression> {
    prop::sample::select(Compression::ALL.to_vec())
}

fn op() -> impl Strategy<Value = Op> {
    let append = (
        vec((1..6u8, 0..200u8, any::<bool>()), 1..4),
        codec(),
        prop::bool::weighted(0.2),
        any::<bool>(),
    )
        .prop_map(|(batches, codec, new_epoch, follower)| Op::Append {
            batches,
            codec,
            new_epoch,
            follower,
        });
    let bytes_max = prop_oneof![Just(0), 0..3000usize, Just(usize::MAX)];
    let read = (0..=1000u16, bytes_max, proptest::option::of(0..=1000u16)).prop_map(
        |(from, bytes_max, end)| Op::Read {
            from,
            bytes_max,
            end,
        },
    );
    prop_oneof![
        6 => append,
        1 => (0..=1000u16).prop_map(Op::Truncate),
        1 => (0..=1000u16).prop_map(Op::DeleteBelow),
        4 => read,
    ]
}

fn config() -> impl Strategy<Value = LogConfig> {
    (1400..6000u32, 0..2000u32).prop_map(|(segment_bytes, index_interval_bytes)| LogConfig {
        segment_bytes,
        index_interval_bytes,
    })
}

/// An appended batch as a reader should see it.
#[derive(Debug, Clone)]
struct Expected {
    base: i64,
    epoch: i32,
    records: Vec<Record>,
    bytes_len: usize,
}

fn point(from: i64, to: i64, thousandths: u16) -> i64 {
    from + (to - from) * i64::from(thousandths) / 1000
}

fn build(
    serial: &mut u64,
    (records, value_len, keyed): (u8, u8, bool),
    codec: Compression,
) -> RecordBatch {
    let mut builder = BatchBuilder::new(BatchOptions {
        compression: codec,
        ..BatchOptions::default()
    });
    for _ in 0..records {
        *serial += 1;
        let text = format!("{serial:08}").repeat(usize::from(value_len) / 8 + 1);
        let key = keyed.then(|| Bytes::from(format!("k{serial}")));
        let headers = vec![Header {
            key: "n".to_string(),
            value: Some(Bytes::from(serial.to_string())),
        }];
        let value = Bytes::copy_from_slice(&text.as_bytes()[..usize::from(value_len)]);
        builder
            .append(
                1_700_000_000_000 + *serial as i64,
                key,
                Some(value),
                headers,
            )
            .expect("append record");
    }
    builder.build().expect("build")
}

fn run_reads(config: LogConfig, ops: Vec<Op>) -> Result<(), TestCaseError> {
    let mut disk = SimDisk::default();
    let (mut log, _) =
        Log::open(&mut disk, DIR, config).map_err(|e| TestCaseError::fail(e.to_string()))?;
    let mut model: Vec<Expected> = Vec::new();
    let mut epoch = 0;
    let mut serial = 0;
    for op in ops {
        match op {
            Op::Append {
                batches,
                codec,
                new_epoch,
                follower,
            } => {
                epoch += i32::from(new_epoch);
                let mut bytes = Vec::new();
                let mut next = log.log_end_offset();
                for shape in batches {
                    let batch = build(&mut serial, shape, codec);
                    let mut encoded = batch.encode().expect("encode").to_vec();
                    if follower {
                        set_base_offset(&mut encoded, next).expect("offset");
                        set_partition_leader_epoch(&mut encoded, epoch).expect("epoch");
                    }
                    model.push(Expected {
                        base: next,
                        epoch,
                        records: batch.records,
                        bytes_len: encoded.len(),
                    });
                    next += i64::from(shape.0);
                    bytes.extend_from_slice(&encoded);
                }
                let appended = match follower {
                    true => log.append_as_follower(&mut disk, &bytes),
                    false => log.append_as_leader(&mut disk, &bytes, epoch),
                };
                prop_assert_eq!(appended.map(|info| info.last_offset + 1), Ok(next));
            }
            Op::Truncate(at) => {
                let target = point(log.log_start_offset(), log.log_end_offset(), at);
                let end = log.truncate_to(&mut disk, target).expect("truncate");
                model.retain(|batch| batch.base < end);
                let boundary = model
                    .last()
                    .map_or(end, |batch| batch.base + batch.records.len() as i64);
                prop_assert_eq!(end, boundary);
            }
            Op::DeleteBelow(at) => {
                let target = point(log.log_start_offset(), log.log_end_offset(), at);
                log.set_high_watermark(log.log_end_offset());
                log.delete_below(&mut disk, target).expect("delete");
                prop_assert_eq!(log.log_start_offset(), target.max(log.log_start_offset()));
            }
            Op::Read {
                from,
                bytes_max,
                end,
            } => {
                let start = log.log_start_offset();
                let from = point(start, log.log_end_offset(), from);
                let end_offset = end.map(|end| point(from, log.log_end_offset(), end));
                let limits = ReadLimits {
                    bytes_max,
                    end_offset,
                };
                let read = log.read(&disk, from, limits).expect("read");
                check_read(&model, from, limits, log.log_end_offset(), &read)?;
            }
        }
    }
    Ok(())
}

/// The read holds the model's batches from the one holding `from`, whole, each with its
/// records, offsets and epoch, as many as the limits allow.
fn check_read(
    model: &[Expected],
    from: i64,
    limits: ReadLimits,
    log_end_offset: i64,
    read: &odradek::log::LogRead,
) -> Result<(), TestCaseError> {
    let end_offset = limits
        .end_offset
        .unwrap_or(log_end_offset)
        .min(log_end_offset);
    let first = model
        .iter()
        .position(|batch| batch.base + batch.records.len() as i64 > from);
    let mut expected = first.map_or(&[][..], |first| &model[first..]).iter();
    let mut bytes = &read.bytes[..];
    let mut next_offset = from;
    let mut budget_used = 0;
    let mut count = 0;
    while !bytes.is_empty() {
        let (batch, len) =
            RecordBatch::decode(bytes).map_err(|e| TestCaseError::fail(e.to_string()))?;
        let want = expected
            .next()
            .ok_or_else(|| TestCaseError::fail("served past the model"))?;
        prop_assert_eq!(batch.base_offset, want.base);
        prop_assert_eq!(batch.partition_leader_epoch, want.epoch);
        prop_assert_eq!(&batch.records, &want.records);
        prop_assert!(
            batch.next_offset() <= end_offset,
            "served past the end offset"
        );
        budget_used += len;
        count += 1;
        next_offset = batch.next_offset();
        bytes = &bytes[len..];
    }
    prop_assert_eq!(read.batch_count, count);
    prop_assert_eq!(read.next_offset, next_offset);
    prop_assert!(
        count <= 1 || budget_used <= limits.bytes_max,
        "over the byte limit"
    );
    // It stopped for a reason: the end offset, the byte limit, or the log end.
    if let Some(more) = expected.next() {
        let fits = budget_used + more.bytes_len <= limits.bytes_max;
        let ends_in_time = more.base + more.records.len() as i64 <= end_offset;
        prop_assert!(
            !(fits && ends_in_time) || from >= end_offset,
            "stopped early"
        );
    }
    Ok(())
}

/// A file mutation: which file (by index in the listing), what to do, where, with what.
#[derive(Debug, Clone)]
enum Mutation {
    Overwrite {
        file: usize,
        at: u16,
        bytes: Vec<u8>,
    },
    SetLen {
        file: usize,
        len: u16,
    },
    Replace {
        file: usize,
        bytes: Vec<u8>,
    },
    Remove {
        file: usize,
    },
    CreateSegment {
        base: u64,
        index: bool,
        bytes: Vec<u8>,
    },
}

fn mutation() -> impl Strategy<Value = Mutation> {
    let bytes = vec(any::<u8>(), 0..80);
    prop_oneof![
        4 => (any::<usize>(), any::<u16>(), bytes.clone()).prop_map(|(file, at, bytes)| Mutation::Overwrite { file, at, bytes }),
        2 => (any::<usize>(), any::<u16>()).prop_map(|(file, len)| Mutation::SetLen { file, len }),
        1 => (any::<usize>(), vec(any::<u8>(), 0..400)).prop_map(|(file, bytes)| Mutation::Replace { file, bytes }),
        1 => any::<usize>().prop_map(|file| Mutation::Remove { file }),
        1 => (prop_oneof![0..200u64, (i64::MAX as u64 - 200)..=(i64::MAX as u64)], any::<bool>(), vec(any::<u8>(), 0..200)).prop_map(|(base, index, bytes)| Mutation::CreateSegment { base, index, bytes }),
    ]
}

fn mutate(disk: &mut SimDisk, mutation: Mutation) {
    let names = disk.list();
    let pick = |file: usize| names[file % names.len()].clone();
    let done = match mutation {
        Mutation::Overwrite { file, at, bytes } => {
            let name = pick(file);
            let len = disk.len(&name).expect("len");
            let at = u64::from(at) % (len + 1);
            disk.write_at(&name, at, &bytes)
        }
        Mutation::SetLen { file, len } => disk.set_len(&pick(file), u64::from(len) % 2000),
        Mutation::Replace { file, bytes } => {
            let name = pick(file);
            disk.set_len(&name, 0)
                .and_then(|()| disk.write_at(&name, 0, &bytes))
        }
        Mutation::Remove { file } => disk.remove(&pick(file)),
        Mutation::CreateSegment { base, index, bytes } => {
            let name = format!("{DIR}/{base:020}.{}", if index { "index" } else { "log" });
            let created = if disk.exists(&name) {
                Ok(())
            } else {
                disk.create(&name)
            };
            created.and_then(|()| disk.write_at(&name, 0, &bytes))
        }
    };
    done.expect("mutations are valid disk operations");
}

/// Every batch a read served passes its own checks.
fn served_batches_are_valid(bytes: &[u8]) -> Result<(), TestCaseError> {
    let mut rest = bytes;
    while !rest.is_empty() {
        let header = BatchHeader::parse(rest).map_err(|e| TestCaseError::fail(e.to_string()))?;
        prop_assert!(
            header.verify_crc(rest).is_ok(),
            "served a batch failing its crc"
        );
        rest = &rest[header.total_len()..];
    }
    Ok(())
}

/// Opens, reads everything, appends, truncates and closes; errors are fine, panics and
/// corrupt bytes are not.
fn exercise(disk: &mut SimDisk, config: LogConfig) -> Result<(), TestCaseError> {
    let Ok((mut log, _)) = Log::open(disk, DIR, config) else {
        return Ok(());
    };
    let mut offset = log.log_start_offset();
    while offset < log.log_end_offset() {
        match log.read(disk, offset, ReadLimits::to_log_end(500)) {
            Ok(read) => {
                served_batches_are_valid(&read.bytes)?;
                prop_assert!(read.next_offset > offset);
                offset = read.next_offset;
            }
            Err(LogError::Corrupt { .. } | LogError::Disk(_)) => offset += 1,
            Err(error) => return Err(TestCaseError::fail(error.to_string())),
        }
    }
    for header in log
        .batch_headers(disk, log.log_start_offset())
        .map_err(|e| TestCaseError::fail(e.to_string()))?
    {
        let _ = header;
    }
    for epoch in -1..4 {
        let _ = log.end_offset_for_epoch(epoch);
    }
    let batch = build(&mut 0, (2, 10, true), Compression::None)
        .encode()
        .expect("encode");
    let epoch = log.latest_epoch().unwrap_or(0);
    let _ = log.append_as_leader(disk, &batch, epoch);
    let middle = log.log_start_offset() + (log.log_end_offset() - log.log_start_offset()) / 2;
    let _ = log.truncate_to(disk, middle);
    let _ = log.close(disk);
    Ok(())
}

fn valid_log(config: LogConfig, appends: &[(u8, u8, bool)], close: bool) -> SimDisk {
    let mut disk = SimDisk::default();
    let (mut log, _) = Log::open(&mut disk, DIR, config).expect("open");
    let mut serial = 0;
    for (index, shape) in appends.iter().enumerate() {
        let batch = build(&mut serial, *shape, Compression::None)
            .encode()
            .expect("encode");
        let epoch = i32::try_from(index / 3).expect("small");
        log.append_as_leader(&mut disk, &batch, epoch)
            .expect("append");
    }
    if close {
        log.close(&mut disk).expect("close");
    }
    disk
}

proptest! {
    #![proptest_config(ProptestConfig::with_cases(CASES))]

    #[test]
    fn reads_return_exactly_the_appended_records(config in config(), ops in vec(op(), 1..60)) {
        run_reads(config, ops)?;
    }

    #[test]
    fn no_file_content_makes_the_log_panic_or_serve_a_corrupt_batch(
        config in config(),
        appends in vec((1..4u8, 0..100u8, any::<bool>()), 0..20),
        close in any::<bool>(),
        mutations in vec(mutation(), 1..6),
    ) {
        let mut disk = valid_log(config, &appends, close);
        for mutation in mutations {
            if !disk.list().is_empty() {
                mutate(&mut disk, mutation);
            }
        }
        exercise(&mut disk, config)?;
        // Whatever the first open repaired, a second open of the result must work too.
        exercise(&mut disk, config)?;
    }
}
