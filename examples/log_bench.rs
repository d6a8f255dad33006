//! Append and read throughput of the partition log on `SimDisk`: 1 KiB records in 16 KiB
//! batches (16 records), uncompressed, lz4 and zstd, with Kafka's default `segment.bytes`
//! and `index.interval.bytes`. Not a test: it prints a table for BENCHMARKS.md.
//!
//! Batches are encoded (and compressed) before the clock starts, as a producer would have
//! done. "append" is `append_as_leader` (validation, CRC-32C, offset and epoch stamping,
//! the write); "read" is 1 MiB fetches from offset 0 to the end, every batch CRC-checked;
//! "read+decode" also decodes (and decompresses) every batch, as a consumer does. MB/s counts
//! record payload (value bytes), 10^6 bytes per MB; each figure is the median of `RUNS`.
//!
//! Run: `cargo run --release --example log_bench`

use std::time::{Duration, Instant};

use bytes::Bytes;
use odradek::log::{Log, LogConfig, ReadLimits};
use odradek::record::{BatchBuilder, BatchOptions, Compression, RecordBatch};
use odradek_sim::SimDisk;

/// Bytes of each record's value.
const RECORD_BYTES: usize = 1024;
/// Records per batch: 16 KiB of values, Kafka's default `batch.size`.
const RECORDS_PER_BATCH: usize = 16;
/// Batches appended per run: 128 MiB of values.
const BATCHES: usize = 8192;
/// Kafka's default `max.partition.fetch.bytes`.
const FETCH_BYTES_MAX: usize = 1024 * 1024;
/// Runs per figure; the median is reported.
const RUNS: usize = 3;

/// Values that compress like text: words drawn from a small vocabulary (xorshift).
fn value(seed: &mut u64) -> Bytes {
    const WORDS: [&str; 16] = [
        "order",
        "customer",
        "amount",
        "status",
        "shipped",
        "pending",
        "price",
        "quantity",
        "warehouse",
        "region",
        "eu-west",
        "us-east",
        "true",
        "false",
        "null",
        "sku",
    ];
    let mut text = String::with_capacity(RECORD_BYTES + 16);
    while text.len() < RECORD_BYTES {
        *seed ^= *seed << 13;
        *seed ^= *seed >> 7;
        *seed ^= *seed << 17;
        text.push_str(WORDS[(*seed % 16) as usize]);
        text.push_str(if *seed % 5 == 0 { "\":" } else { " " });
        if *seed % 3 == 0 {
            text.push_str(&(*seed % 100_000).to_string());
        }
    }
    text.truncate(RECORD_BYTES);
    Bytes::from(text)
}

fn batches(compression: Compression) -> Vec<Vec<u8>> {
    let mut seed = 0x9e37_79b9_7f4a_7c15;
    (0..BATCHES)
        .map(|index| {
            let mut builder = BatchBuilder::new(BatchOptions {
                compression,
                ..BatchOptions::default()
            });
            for record in 0..RECORDS_PER_BATCH {
                let timestamp = 1_700_000_000_000 + (index * RECORDS_PER_BATCH + record) as i64;
                builder
                    .append(timestamp, None, Some(value(&mut seed)), Vec::new())
                    .expect("append record");
            }
            let batch = builder.build().expect("build");
            batch.encode().expect("encode").to_vec()
        })
        .collect()
}

struct Figures {
    append: Duration,
    read: Duration,
    read_decode: Duration,
    stored_bytes: usize,
}

fn run(encoded: &[Vec<u8>]) -> Figures {
    let mut disk = SimDisk::default();
    let (mut log, _) = Log::open(&mut disk, "t-0", LogConfig::default()).expect("open");
    let start = Instant::now();
    for batch in encoded {
        log.append_as_leader(&mut disk, batch, 0).expect("append");
    }
    let append = start.elapsed();

    let start = Instant::now();
    let mut offset = 0;
    let mut read_batches = 0;
    while offset < log.log_end_offset() {
        let read = log
            .read(&disk, offset, ReadLimits::to_log_end(FETCH_BYTES_MAX))
            .expect("read");
        read_batches += read.batch_count;
        offset = read.next_offset;
    }
    let read = start.elapsed();
    assert_eq!(read_batches, encoded.len());

    let start = Instant::now();
    let mut offset = 0;
    let mut records = 0;
    while offset < log.log_end_offset() {
        let read = log
            .read(&disk, offset, ReadLimits::to_log_end(FETCH_BYTES_MAX))
            .expect("read");
        let mut bytes = &read.bytes[..];
        while !bytes.is_empty() {
            let (batch, len) = RecordBatch::decode(bytes).expect("decode");
            records += batch.records.len();
            bytes = &bytes[len..];
        }
        offset = read.next_offset;
    }
    let read_decode = start.elapsed();
    assert_eq!(records, encoded.len() * RECORDS_PER_BATCH);
    Figures {
        append,
        read,
        read_decode,
        stored_bytes: encoded.iter().map(Vec::len).sum(),
    }
}

fn median(mut durations: Vec<Duration>) -> Duration {
    durations.sort();
    durations[durations.len() / 2]
}

fn main() {
    let payload_bytes = (BATCHES * RECORDS_PER_BATCH * RECORD_BYTES) as f64;
    println!(
        "{BATCHES} batches x {RECORDS_PER_BATCH} records x {RECORD_BYTES} B values, \
         median of {RUNS} runs; MB/s of record payload (10^6 B)\n"
    );
    println!(
        "| codec | stored MiB | append MB/s | append batches/s | read MB/s | read batches/s \
         | read+decode MB/s | read+decode batches/s |"
    );
    println!("| --- | ---: | ---: | ---: | ---: | ---: | ---: | ---: |");
    for compression in [Compression::None, Compression::Lz4, Compression::Zstd] {
        let encoded = batches(compression);
        let runs: Vec<Figures> = (0..RUNS).map(|_| run(&encoded)).collect();
        let stored_mib = runs[0].stored_bytes as f64 / (1024.0 * 1024.0);
        let rate = |pick: fn(&Figures) -> Duration| {
            let seconds = median(runs.iter().map(pick).collect()).as_secs_f64();
            (payload_bytes / seconds / 1e6, BATCHES as f64 / seconds)
        };
        let (append_mb, append_batches) = rate(|figures| figures.append);
        let (read_mb, read_batches) = rate(|figures| figures.read);
        let (decode_mb, decode_batches) = rate(|figures| figures.read_decode);
        println!(
            "| {compression} | {stored_mib:.1} | {append_mb:.0} | {append_batches:.0} | \
             {read_mb:.0} | {read_batches:.0} | {decode_mb:.0} | {decode_batches:.0} |"
        );
    }
}
