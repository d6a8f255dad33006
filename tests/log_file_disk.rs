//! The partition log on real files (`FileDisk`, the real mode's disk): what it recovers
//! after a clean close, after a process that died without closing, and after a torn tail
//! cut from the segment file behind its back, as it does on the simulated disk.
#![cfg(unix)]

use bytes::Bytes;
use odradek::log::{Log, LogConfig, ReadLimits};
use odradek::record::{BatchBuilder, BatchOptions, RecordBatch};
use odradek_sim::{Disk, FileDisk};

const DIR: &str = "t-0";

/// Small segments, so twenty batches roll several.
fn config() -> LogConfig {
    LogConfig {
        segment_bytes: 600,
        index_interval_bytes: 100,
    }
}

fn batch(value: &str) -> Vec<u8> {
    let mut builder = BatchBuilder::new(BatchOptions::default());
    let value = Bytes::copy_from_slice(value.as_bytes());
    (builder.append(1_700_000_000_000, None, Some(value), Vec::new())).expect("append");
    builder
        .build()
        .expect("build")
        .encode()
        .expect("encode")
        .to_vec()
}

fn values(log: &Log, disk: &dyn Disk) -> Vec<(i64, String)> {
    let from = log.log_start_offset();
    let read = (log.read(disk, from, ReadLimits::to_log_end(usize::MAX))).expect("read");
    let mut rest = &read.bytes[..];
    let mut values = Vec::new();
    while !rest.is_empty() {
        let (batch, used) = RecordBatch::decode(rest).expect("decode");
        for record in &batch.records {
            let value = record.value.as_deref().expect("a value");
            let value = String::from_utf8(value.to_vec()).expect("utf-8");
            values.push((batch.record_offset(record), value));
        }
        rest = &rest[used..];
    }
    values
}

/// A fresh directory, removed when dropped.
struct Scratch(std::path::PathBuf);

impl Scratch {
    fn new(name: &str) -> Self {
        let dir = std::env::temp_dir().join(format!("odradek-{name}-{}", std::process::id()));
        let _ = std::fs::remove_dir_all(&dir);
        Self(dir)
    }
}

impl Drop for Scratch {
    fn drop(&mut self) {
        let _ = std::fs::remove_dir_all(&self.0);
    }
}

fn twenty_batches(disk: &mut FileDisk) -> Log {
    let (mut log, report) = Log::open(disk, DIR, config()).expect("open");
    assert!(!report.clean_shutdown);
    for i in 0..20 {
        let epoch = if i < 10 { 1 } else { 3 };
        (log.append_as_leader(disk, &batch(&format!("v{i}")), epoch)).expect("append");
    }
    log
}

#[test]
fn a_clean_close_on_real_files_reopens_without_recovery() {
    let scratch = Scratch::new("log-clean");
    let mut disk = FileDisk::open(&scratch.0).expect("a directory");
    let mut log = twenty_batches(&mut disk);
    log.set_high_watermark(17);
    let before = values(&log, &disk);
    log.close(&mut disk).expect("close");
    assert!(disk.list().len() > 3, "segments rolled: {:?}", disk.list());
    drop(disk);
    let mut disk = FileDisk::open(&scratch.0).expect("opened again");
    let (log, report) = Log::open(&mut disk, DIR, config()).expect("open");
    assert!(report.clean_shutdown);
    assert_eq!(report.segments_recovered, 0);
    assert_eq!(log.high_watermark(), 17);
    assert_eq!(values(&log, &disk), before);
    assert_eq!(before.len(), 20);
}

#[test]
fn a_log_left_open_on_real_files_is_recovered_whole_and_a_torn_tail_is_cut() {
    let scratch = Scratch::new("log-unclean");
    let mut disk = FileDisk::open(&scratch.0).expect("a directory");
    let mut log = twenty_batches(&mut disk);
    log.flush(&mut disk).expect("flush");
    (log.append_as_leader(&mut disk, &batch("unsynced"), 3)).expect("append");
    // The process dies: nothing closes the log, the files stay as the kernel has them.
    drop((log, disk));
    let mut disk = FileDisk::open(&scratch.0).expect("opened again");
    let (log, report) = Log::open(&mut disk, DIR, config()).expect("open");
    assert!(!report.clean_shutdown);
    assert!(report.segments_recovered >= 1, "{report:?}");
    assert_eq!(log.log_end_offset(), 21);
    assert_eq!(values(&log, &disk).last(), Some(&(20, "unsynced".into())));
    drop((log, disk));
    // A power loss tore the last batch: a few of its bytes are gone from the file.
    let active = std::fs::read_dir(scratch.0.join(DIR))
        .expect("the partition's directory")
        .map(|entry| entry.expect("an entry").path())
        .filter(|path| path.extension().is_some_and(|e| e == "log"))
        .max()
        .expect("a segment");
    let len = std::fs::metadata(&active).expect("metadata").len();
    let file = std::fs::OpenOptions::new().write(true).open(&active);
    file.and_then(|f| f.set_len(len - 5)).expect("torn");
    let mut disk = FileDisk::open(&scratch.0).expect("opened again");
    let (log, report) = Log::open(&mut disk, DIR, config()).expect("open");
    assert!(!report.clean_shutdown);
    assert_eq!(
        log.log_end_offset(),
        20,
        "the torn batch is cut: {report:?}"
    );
    assert_eq!(values(&log, &disk).last(), Some(&(19, "v19".into())));
}
