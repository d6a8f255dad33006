//! The partition log against crashes. Random appends (as leader and as follower, any codec),
//! flushes, truncations, deletions, high-watermark checkpoints and reads, interleaved with
//! clean closes, process crashes and power losses in every `SimDisk` mode (torn writes
//! among them), with bit flips in any file, running or crashed. After every reopen:
//!
//! - the recovered log is a prefix of what was appended, and recovery cut something only if
//!   something was damaged;
//! - it holds every batch before the first byte range `SimDisk` reports as damaged, so
//!   every batch synced before the crash (and a power loss never damages a synced batch);
//! - offsets are contiguous and reads return exactly the stored batches, or a typed error
//!   at or past the first damage, never other bytes;
//! - the epoch cache agrees with the batches, and the checkpoints are trusted unless a flip
//!   hit them.
//!
//! The run is one deterministic `TestRunner` with a fixed seed that counts what happened
//! across cases and asserts that faults fired and recovery cut logs, so a run that injected
//! nothing cannot pass.

use std::cell::RefCell;
use std::fmt::Display;

use bytes::Bytes;
use odradek::log::{CheckpointStatus, EpochEntry, Log, LogConfig, LogError, ReadLimits};
use odradek::record::{
    set_base_offset, set_partition_leader_epoch, BatchBuilder, BatchHeader, BatchOptions,
    Compression,
};
use odradek_sim::{ByteRange, Disk, FaultKind, FaultReport, PowerLoss, SimDisk, SimDiskOptions};
use proptest::collection::vec;
use proptest::prelude::*;
use proptest::test_runner::{Config, RngAlgorithm, TestCaseError, TestRng, TestRunner};

/// Cases of the crash property.
const CASES: u32 = 2048;
/// Operations per case.
const OPS_MAX: usize = 80;
/// The runner's seed: the run is the same every time.
const SEED: [u8; 32] = *b"odradek partition log crash test";
const DIR: &str = "t-0";
const EPOCH_CHECKPOINT: &str = "t-0/leader-epoch-checkpoint";
const HIGH_WATERMARK_CHECKPOINT: &str = "t-0/high-watermark-checkpoint";
const LOG_START_CHECKPOINT: &str = "t-0/log-start-offset-checkpoint";
/// Bytes 12..16 of a batch: partitionLeaderEpoch, outside the CRC.
const EPOCH_FIELD: std::ops::Range<usize> = 12..16;

#[derive(Debug, Clone)]
enum Op {
    /// Batches of (records, value bytes), all in one append.
    Append {
        batches: Vec<(u8, u8)>,
        codec: Compression,
        new_epoch: bool,
        follower: bool,
    },
    Flush,
    /// To a point in [log start, log end], in thousandths.
    Truncate(u16),
    /// To a point in [log start, high watermark], in thousandths.
    DeleteBelow(u16),
    /// Set and checkpoint, at a point in [log start, log end], in thousandths.
    HighWatermark(u16),
    StartLeaderEpoch,
    Read {
        from: u16,
        bytes_max: usize,
    },
    /// A bit flip in a chosen file while the log runs.
    FlipBit(u64),
    Close,
    ProcessCrash,
    PowerLoss {
        mode: PowerLoss,
        seed: u64,
        flips: u8,
    },
}

fn op() -> impl Strategy<Value = Op> {
    let codec = prop::sample::select(vec![
        Compression::None,
        Compression::None,
        Compression::Gzip,
        Compression::Snappy,
        Compression::Lz4,
        Compression::Zstd,
    ]);
    let append = (
        vec((1..5u8, 0..120u8), 1..3),
        codec,
        prop::bool::weighted(0.15),
        any::<bool>(),
    )
        .prop_map(|(batches, codec, new_epoch, follower)| Op::Append {
            batches,
            codec,
            new_epoch,
            follower,
        });
    let power_loss = (
        prop::sample::select(PowerLoss::ALL.to_vec()),
        any::<u64>(),
        0..3u8,
    )
        .prop_map(|(mode, seed, flips)| Op::PowerLoss { mode, seed, flips });
    prop_oneof![
        12 => append,
        3 => Just(Op::Flush),
        1 => (0..=1000u16).prop_map(Op::Truncate),
        1 => (0..=1000u16).prop_map(Op::DeleteBelow),
        2 => (0..=1000u16).prop_map(Op::HighWatermark),
        1 => Just(Op::StartLeaderEpoch),
        2 => (0..=1000u16, prop::sample::select(vec![0, 200, 2000, usize::MAX]))
            .prop_map(|(from, bytes_max)| Op::Read { from, bytes_max }),
        1 => any::<u64>().prop_map(Op::FlipBit),
        1 => Just(Op::Close),
        1 => Just(Op::ProcessCrash),
        4 => power_loss,
    ]
}

fn log_config() -> impl Strategy<Value = (LogConfig, u64)> {
    let block_size = prop::sample::select(vec![64u64, 128, 512]);
    (700..3000u32, 0..600u32, block_size).prop_map(
        |(segment_bytes, index_interval_bytes, block)| {
            let config = LogConfig {
                segment_bytes,
                index_interval_bytes,
            };
            (config, block)
        },
    )
}

/// What happened in a case, summed over the run.
#[derive(Debug, Default, Clone)]
struct Stats {
    cases: u32,
    reopens: u32,
    power_losses: [u32; 6],
    /// Power-loss reports (ranges that read differently afterwards) per mode.
    power_loss_damage: [u32; 6],
    bit_flips: u32,
    /// Recoveries that cut the log.
    truncations: u32,
    /// Cases with at least one cut.
    cases_truncated: u32,
    epoch_checkpoints_rebuilt: u32,
    corrupt_reads: u32,
    batches_appended: u32,
}

impl Stats {
    fn add(&mut self, case: &Stats) {
        self.cases += case.cases;
        self.reopens += case.reopens;
        for mode in 0..6 {
            self.power_losses[mode] += case.power_losses[mode];
            self.power_loss_damage[mode] += case.power_loss_damage[mode];
        }
        self.bit_flips += case.bit_flips;
        self.truncations += case.truncations;
        self.cases_truncated += u32::from(case.truncations > 0);
        self.epoch_checkpoints_rebuilt += case.epoch_checkpoints_rebuilt;
        self.corrupt_reads += case.corrupt_reads;
        self.batches_appended += case.batches_appended;
    }
}

fn mode_index(mode: PowerLoss) -> usize {
    PowerLoss::ALL
        .iter()
        .position(|m| *m == mode)
        .expect("a mode")
}

/// A batch as the log should hold it.
#[derive(Debug, Clone)]
struct Stored {
    base: i64,
    next: i64,
    bytes: Vec<u8>,
    /// A fault touched its bytes.
    damaged: bool,
}

/// What the log should hold.
#[derive(Debug, Default)]
struct Model {
    /// Every batch in the log's segments, in offset order.
    batches: Vec<Stored>,
    log_end_offset: i64,
    log_start_offset: i64,
    high_watermark: i64,
    high_watermark_checkpoint: i64,
    epoch: i32,
    /// Flips hit these checkpoints since the last open.
    flipped: [bool; 3],
    /// The epoch checkpoint was rebuilt from batches at some reopen: a damaged batch's
    /// epoch field, outside the CRC, may since be served as the batches had it.
    epochs_rebuilt: bool,
}

impl Model {
    fn first_damage(&self) -> Option<usize> {
        self.batches.iter().position(|batch| batch.damaged)
    }

    fn holding(&self, offset: i64) -> Option<usize> {
        self.batches
            .iter()
            .position(|batch| batch.base <= offset && offset < batch.next)
    }

    fn truncate(&mut self, end: i64) {
        self.batches.retain(|batch| batch.base < end);
        debug_assert!(self.batches.last().is_none_or(|batch| batch.next == end));
        self.log_end_offset = end;
        self.high_watermark = self.high_watermark.min(end);
        self.log_start_offset = self.log_start_offset.min(end);
    }

    /// Batches the log deleted with their segment.
    fn forget_below(&mut self, first_base: i64) {
        self.batches.retain(|batch| batch.base >= first_base);
    }
}

fn fail(what: &str, error: impl Display) -> TestCaseError {
    TestCaseError::fail(format!("{what}: {error}"))
}

/// A deterministic chooser for `SimDisk`'s choices (xorshift).
fn chooser(seed: u64) -> impl FnMut(usize) -> usize {
    let mut state = seed | 1;
    move |n| {
        state ^= state << 13;
        state ^= state >> 7;
        state ^= state << 17;
        (state % n as u64) as usize
    }
}

fn segment_bases(disk: &SimDisk) -> Vec<i64> {
    disk.list()
        .iter()
        .filter_map(|name| {
            let digits = name.strip_prefix("t-0/")?.strip_suffix(".log")?;
            digits.parse().ok()
        })
        .collect()
}

/// Positions where two byte strings differ, for failure messages.
fn differing_bytes(a: &[u8], b: &[u8]) -> Vec<usize> {
    let differ = a.iter().zip(b).enumerate().filter(|(_, (x, y))| x != y);
    differ.map(|(at, _)| at).collect()
}

fn segment_name(base: i64) -> String {
    format!("t-0/{base:020}.log")
}

struct Case {
    disk: SimDisk,
    config: LogConfig,
    log: Option<Log>,
    model: Model,
    stats: Stats,
    serial: u64,
}

impl Case {
    fn new(config: LogConfig, block_size: u64) -> Result<Case, TestCaseError> {
        let mut case = Case {
            disk: SimDisk::new(SimDiskOptions { block_size }),
            config,
            log: None,
            model: Model::default(),
            stats: Stats {
                cases: 1,
                ..Stats::default()
            },
            serial: 0,
        };
        case.reopen(false)?;
        Ok(case)
    }

    fn log(&mut self) -> &mut Log {
        self.log.as_mut().expect("log open")
    }

    /// Where each batch lies: (segment file, byte range), in model order.
    fn layout(&self) -> Vec<(String, ByteRange)> {
        let bases = segment_bases(&self.disk);
        let mut layout = Vec::new();
        let mut position = 0;
        let mut current = None;
        for batch in &self.model.batches {
            let base = *bases
                .iter()
                .rev()
                .find(|base| **base <= batch.base)
                .expect("a batch lies in a segment");
            if current != Some(base) {
                current = Some(base);
                position = 0;
            }
            let end = position + batch.bytes.len() as u64;
            layout.push((segment_name(base), ByteRange::new(position, end)));
            position = end;
        }
        layout
    }

    /// Marks what `reports` touched. `synced_below`: the log's recovery point before a
    /// power loss, below which a power loss must damage nothing.
    fn absorb(
        &mut self,
        layout: &[(String, ByteRange)],
        reports: Vec<FaultReport>,
        synced_below: Option<i64>,
    ) -> Result<(), TestCaseError> {
        for report in reports {
            match report.kind {
                FaultKind::PowerLoss(mode) => self.stats.power_loss_damage[mode_index(mode)] += 1,
                FaultKind::BitFlip => self.stats.bit_flips += 1,
                FaultKind::ReadError | FaultKind::SyncFailed => {}
            }
            let power_loss = matches!(report.kind, FaultKind::PowerLoss(_));
            let checkpoints = [
                EPOCH_CHECKPOINT,
                HIGH_WATERMARK_CHECKPOINT,
                LOG_START_CHECKPOINT,
            ];
            if let Some(which) = checkpoints.iter().position(|name| *name == report.name) {
                prop_assert!(!power_loss, "a power loss changed a checkpoint: {report:?}");
                self.model.flipped[which] = true;
                continue;
            }
            for (index, (name, range)) in layout.iter().enumerate() {
                if *name != report.name || !range.overlaps(&report.range) {
                    continue;
                }
                let batch = &mut self.model.batches[index];
                if let (true, Some(synced_below)) = (power_loss, synced_below) {
                    prop_assert!(
                        batch.base >= synced_below,
                        "power loss damaged a synced batch. base={} recovery_point={synced_below} \
                         report={report:?}",
                        batch.base
                    );
                }
                batch.damaged = true;
            }
        }
        Ok(())
    }

    fn apply(&mut self, op: Op) -> Result<(), TestCaseError> {
        match op {
            Op::Append {
                batches,
                codec,
                new_epoch,
                follower,
            } => self.append(&batches, codec, new_epoch, follower)?,
            Op::Flush => {
                let log = self.log.as_mut().expect("log open");
                let flushed = log.flush(&mut self.disk).map_err(|e| fail("flush", e))?;
                prop_assert_eq!(flushed, self.model.log_end_offset);
            }
            Op::Truncate(point) => self.truncate(point)?,
            Op::DeleteBelow(point) => {
                let model = &self.model;
                let span = model.high_watermark - model.log_start_offset;
                let target = model.log_start_offset + span * i64::from(point) / 1000;
                let log = self.log.as_mut().expect("log open");
                log.delete_below(&mut self.disk, target)
                    .map_err(|e| fail("delete", e))?;
                self.model.log_start_offset = self.model.log_start_offset.max(target);
                let first_base = segment_bases(&self.disk)[0];
                self.model.forget_below(first_base);
            }
            Op::HighWatermark(point) => {
                let model = &self.model;
                let span = model.log_end_offset - model.log_start_offset;
                let target = model.log_start_offset + span * i64::from(point) / 1000;
                let log = self.log.as_mut().expect("log open");
                prop_assert_eq!(log.set_high_watermark(target), target);
                log.checkpoint_high_watermark(&mut self.disk)
                    .map_err(|e| fail("checkpoint", e))?;
                self.model.high_watermark = target;
                self.model.high_watermark_checkpoint = target;
                self.model.flipped[1] = false;
            }
            Op::StartLeaderEpoch => {
                self.model.epoch += 1;
                let epoch = self.model.epoch;
                let log = self.log.as_mut().expect("log open");
                log.start_leader_epoch(&mut self.disk, epoch)
                    .map_err(|e| fail("start epoch", e))?;
            }
            Op::Read { from, bytes_max } => {
                let model = &self.model;
                let span = model.log_end_offset - model.log_start_offset;
                let offset = model.log_start_offset + span * i64::from(from) / 1000;
                let log = self.log.as_ref().expect("log open");
                let read = log.read(&self.disk, offset, ReadLimits::to_log_end(bytes_max));
                self.check_read(offset, read)?;
            }
            Op::FlipBit(seed) => {
                let layout = self.layout();
                self.disk.flip_bit(&mut chooser(seed));
                let reports = self.disk.take_reports();
                self.absorb(&layout, reports, None)?;
            }
            Op::Close => {
                let log = self.log.take().expect("log open");
                log.close(&mut self.disk).map_err(|e| fail("close", e))?;
                self.model.high_watermark_checkpoint = self.model.high_watermark;
                self.model.flipped[1] = false;
                self.reopen(true)?;
            }
            Op::ProcessCrash => {
                self.log = None;
                self.reopen(false)?;
            }
            Op::PowerLoss { mode, seed, flips } => {
                let recovery_point = self.log().recovery_point();
                self.log = None;
                let layout = self.layout();
                let mut choose = chooser(seed);
                self.disk.power_loss(mode, &mut choose);
                self.stats.power_losses[mode_index(mode)] += 1;
                let reports = self.disk.take_reports();
                self.absorb(&layout, reports, Some(recovery_point))?;
                for _ in 0..flips {
                    self.disk.flip_bit(&mut choose);
                }
                let reports = self.disk.take_reports();
                self.absorb(&layout, reports, None)?;
                self.reopen(false)?;
            }
        }
        self.check_offsets()
    }

    fn append(
        &mut self,
        batches: &[(u8, u8)],
        codec: Compression,
        new_epoch: bool,
        follower: bool,
    ) -> Result<(), TestCaseError> {
        if new_epoch {
            self.model.epoch += 1;
        }
        let epoch = self.model.epoch;
        let mut bytes = Vec::new();
        let mut stored = Vec::new();
        let mut next = self.model.log_end_offset;
        for &(records, value_len) in batches {
            let mut batch = self.encode(records, value_len, codec);
            set_base_offset(&mut batch, next).expect("stamp offset");
            set_partition_leader_epoch(&mut batch, epoch).expect("stamp epoch");
            let header = BatchHeader::parse(&batch).expect("header");
            stored.push(Stored {
                base: next,
                next: header.next_offset(),
                bytes: batch.clone(),
                damaged: false,
            });
            next = header.next_offset();
            if !follower {
                // A producer's batch: offset 0, no epoch; the leader stamps both.
                set_base_offset(&mut batch, 0).expect("stamp offset");
                set_partition_leader_epoch(&mut batch, -1).expect("stamp epoch");
            }
            bytes.extend_from_slice(&batch);
        }
        let disk = &mut self.disk;
        let log = self.log.as_mut().expect("log open");
        let appended = match follower {
            true => log.append_as_follower(disk, &bytes),
            false => log.append_as_leader(disk, &bytes, epoch),
        }
        .map_err(|e| fail("append", e))?;
        prop_assert_eq!(appended.first_offset, self.model.log_end_offset);
        prop_assert_eq!(appended.last_offset, next - 1);
        self.stats.batches_appended += stored.len() as u32;
        self.model.batches.extend(stored);
        self.model.log_end_offset = next;
        Ok(())
    }

    fn encode(&mut self, records: u8, value_len: u8, compression: Compression) -> Vec<u8> {
        let mut builder = BatchBuilder::new(BatchOptions {
            compression,
            ..BatchOptions::default()
        });
        for _ in 0..records {
            self.serial += 1;
            let text = format!("{:08}|", self.serial).repeat(usize::from(value_len) / 9 + 1);
            let value = Bytes::copy_from_slice(&text.as_bytes()[..usize::from(value_len)]);
            builder
                .append(1_700_000_000_000, None, Some(value), Vec::new())
                .expect("append record");
        }
        builder
            .build()
            .expect("build")
            .encode()
            .expect("encode")
            .to_vec()
    }

    fn truncate(&mut self, point: u16) -> Result<(), TestCaseError> {
        let model = &self.model;
        let span = model.log_end_offset - model.log_start_offset;
        let target = model.log_start_offset + span * i64::from(point) / 1000;
        let boundary = model
            .holding(target)
            .map_or(target, |index| model.batches[index].base);
        let log = self.log.as_mut().expect("log open");
        let new_end = log
            .truncate_to(&mut self.disk, target)
            .map_err(|e| fail("truncate", e))?;
        let cut_at_damage = self
            .model
            .batches
            .iter()
            .any(|batch| batch.damaged && batch.base == new_end && batch.base <= target);
        prop_assert!(
            new_end == boundary || cut_at_damage,
            "truncate_to({target}) returned {new_end}, expected {boundary}"
        );
        self.model.truncate(new_end);
        Ok(())
    }

    fn reopen(&mut self, clean: bool) -> Result<(), TestCaseError> {
        debug_assert!(self.log.is_none());
        let (log, report) =
            Log::open(&mut self.disk, DIR, self.config).map_err(|e| fail("open", e))?;
        self.stats.reopens += 1;
        prop_assert_eq!(report.clean_shutdown, clean);
        let model = &mut self.model;
        let first_damage = model.first_damage();
        let must_hold =
            first_damage.map_or(model.log_end_offset, |index| model.batches[index].base);
        let end = log.log_end_offset();
        prop_assert!(
            must_hold <= end && end <= model.log_end_offset,
            "recovered log end {end} outside [{must_hold}, {}]: {report:?}",
            model.log_end_offset
        );
        let boundary = end == model.log_end_offset || model.batches.iter().any(|b| b.base == end);
        prop_assert!(boundary, "recovered log end {end} inside a batch");
        // Lost batches need no cut (the file just ends earlier), but a cut needs damage.
        if let Some(truncation) = &report.truncation {
            prop_assert!(
                first_damage.is_some(),
                "cut with nothing damaged: {report:?}"
            );
            prop_assert_eq!(truncation.offset, end);
            self.stats.truncations += 1;
        }
        model.truncate(end);
        let first_base = segment_bases(&self.disk)[0];
        model.forget_below(first_base);

        let damaged = |status: &CheckpointStatus| matches!(status, CheckpointStatus::Damaged(_));
        let start_damaged = damaged(&report.log_start_offset_checkpoint);
        prop_assert!(
            !start_damaged || model.flipped[2],
            "log start checkpoint: {report:?}"
        );
        let start = model.log_start_offset.clamp(first_base, end);
        // Rebuilt from the epochs (as it was, or the log end when none), else the first
        // segment.
        let rebuilt = start_damaged && [first_base, end].contains(&log.log_start_offset());
        prop_assert!(
            log.log_start_offset() == start || rebuilt,
            "log start: {report:?}"
        );
        let start = log.log_start_offset();
        model.log_start_offset = start;

        let high_watermark_damaged = damaged(&report.high_watermark_checkpoint);
        prop_assert!(
            !high_watermark_damaged || model.flipped[1],
            "hw checkpoint: {report:?}"
        );
        let high_watermark = match high_watermark_damaged {
            true => start,
            false => model.high_watermark_checkpoint.clamp(start, end),
        };
        prop_assert_eq!(log.high_watermark(), high_watermark);
        model.high_watermark = high_watermark;
        model.high_watermark_checkpoint = high_watermark;

        let epochs_damaged = damaged(&report.leader_epoch_checkpoint);
        prop_assert!(
            !epochs_damaged || model.flipped[0],
            "epoch checkpoint: {report:?}"
        );
        if epochs_damaged {
            model.epochs_rebuilt = true;
            self.stats.epoch_checkpoints_rebuilt += 1;
        }
        model.flipped = [false; 3];
        // A flipped epoch field (outside the CRC) in the last batch, rebuilt into the cache
        // with a damaged epoch checkpoint, can raise the latest epoch: two faults the format
        // cannot tell from a real epoch. Appends follow the log's latest epoch.
        model.epoch = model.epoch.max(log.latest_epoch().unwrap_or(0));
        prop_assert_eq!(log.recovery_point(), end);
        self.log = Some(log);
        self.check_everything()
    }

    /// Offsets agree with the model.
    fn check_offsets(&self) -> Result<(), TestCaseError> {
        let log = self.log.as_ref().expect("log open");
        prop_assert_eq!(log.log_end_offset(), self.model.log_end_offset);
        prop_assert_eq!(log.log_start_offset(), self.model.log_start_offset);
        prop_assert_eq!(log.high_watermark(), self.model.high_watermark);
        Ok(())
    }

    /// Reads every batch from the log start and checks the epoch cache.
    fn check_everything(&mut self) -> Result<(), TestCaseError> {
        let mut offset = self.model.log_start_offset;
        let limits = [0, 300, usize::MAX];
        let mut round = 0;
        while offset < self.model.log_end_offset {
            let holding = self.model.holding(offset).expect("offsets lie in batches");
            let log = self.log.as_ref().expect("log open");
            let read = log.read(
                &self.disk,
                offset,
                ReadLimits::to_log_end(limits[round % 3]),
            );
            round += 1;
            offset = match self.check_read(offset, read)? {
                Some(next) => next,
                None => self.model.batches[holding].next,
            };
        }
        self.check_epochs()
    }

    /// Checks a read from `offset`: the batches served are the model's, byte for byte; an
    /// error names a batch at or past the first damage. The next offset to read, if the
    /// read succeeded.
    fn check_read(
        &mut self,
        offset: i64,
        read: Result<odradek::log::LogRead, LogError>,
    ) -> Result<Option<i64>, TestCaseError> {
        let first_damage = self.model.first_damage();
        let read = match read {
            Ok(read) => read,
            Err(LogError::Corrupt { offset: bad, .. }) => {
                let index = self
                    .model
                    .batches
                    .iter()
                    .position(|batch| batch.base == bad);
                let index = index.ok_or_else(|| fail("corrupt read", bad))?;
                prop_assert!(
                    first_damage.is_some_and(|first| index >= first),
                    "a read failed before any damage. offset={bad}"
                );
                self.stats.corrupt_reads += 1;
                return Ok(None);
            }
            Err(error) => return Err(fail("read", error)),
        };
        let mut served = &read.bytes[..];
        let mut expected = self.model.holding(offset);
        if offset == self.model.log_end_offset {
            prop_assert!(served.is_empty());
        }
        while !served.is_empty() {
            let header = BatchHeader::parse(served).map_err(|e| fail("served header", e))?;
            let (batch, rest) = served.split_at(header.total_len());
            let index =
                expected.ok_or_else(|| fail("served past the model", header.base_offset))?;
            let stored = &self.model.batches[index];
            let same = batch == stored.bytes.as_slice();
            let epoch_only = stored.damaged
                && self.model.epochs_rebuilt
                && batch[..EPOCH_FIELD.start] == stored.bytes[..EPOCH_FIELD.start]
                && batch[EPOCH_FIELD.end..] == stored.bytes[EPOCH_FIELD.end..];
            prop_assert!(
                same || epoch_only,
                "served bytes differ from the appended batch. base={} damaged={} at={:?}",
                stored.base,
                stored.damaged,
                differing_bytes(batch, &stored.bytes)
            );
            served = rest;
            expected = Some(index + 1).filter(|next| *next < self.model.batches.len());
        }
        prop_assert!(read.batch_count > 0 || offset == self.model.log_end_offset);
        Ok(Some(read.next_offset))
    }

    /// The epoch cache describes the batches as the log reads them.
    fn check_epochs(&self) -> Result<(), TestCaseError> {
        let log = self.log.as_ref().expect("log open");
        let start = log.log_start_offset();
        let mut derived: Vec<EpochEntry> = Vec::new();
        let mut stop = log.log_end_offset();
        let headers = log
            .batch_headers(&self.disk, start)
            .map_err(|e| fail("headers", e))?;
        for header in headers {
            match header {
                Ok(header) => {
                    let epoch = header.partition_leader_epoch;
                    if derived.last().map(|entry| entry.epoch) != Some(epoch) {
                        derived.push(EpochEntry {
                            epoch,
                            start_offset: header.base_offset.max(start),
                        });
                    }
                }
                Err(LogError::Corrupt { offset, .. }) => {
                    stop = offset;
                    break;
                }
                Err(error) => return Err(fail("headers", error)),
            }
        }
        let entries = log.leader_epochs();
        let described: Vec<EpochEntry> = entries
            .iter()
            .filter(|entry| entry.start_offset < stop)
            .copied()
            .collect();
        prop_assert_eq!(
            &described,
            &derived,
            "epoch cache disagrees with the batches"
        );
        let trailing = entries.len() - described.len();
        if stop == log.log_end_offset() {
            prop_assert!(trailing <= 1, "epochs past the log end: {entries:?}");
        }
        Ok(())
    }
}

fn run_case((config, block_size): (LogConfig, u64), ops: Vec<Op>) -> Result<Stats, TestCaseError> {
    let mut case = Case::new(config, block_size)?;
    for op in ops {
        case.apply(op)?;
    }
    case.check_everything()?;
    Ok(case.stats)
}

#[test]
fn recovered_log_is_a_prefix_holding_every_batch_before_the_first_damage() {
    let totals = RefCell::new(Stats::default());
    let config = Config {
        cases: CASES,
        failure_persistence: None,
        ..Config::default()
    };
    let mut runner =
        TestRunner::new_with_rng(config, TestRng::from_seed(RngAlgorithm::ChaCha, &SEED));
    let strategy = (log_config(), vec(op(), 1..OPS_MAX));
    let result = runner.run(&strategy, |(config, ops)| {
        let stats = run_case(config, ops)?;
        totals.borrow_mut().add(&stats);
        Ok(())
    });
    if let Err(error) = result {
        panic!("{error}");
    }
    let totals = totals.into_inner();
    println!("{totals:#?}");
    assert!(totals.cases >= CASES);
    for (mode, count) in PowerLoss::ALL.iter().zip(totals.power_losses) {
        assert!(count > 0, "no power loss in mode {mode:?}");
    }
    for (mode, damage) in PowerLoss::ALL.iter().zip(totals.power_loss_damage) {
        if *mode != PowerLoss::KeepAll {
            assert!(
                damage > 0,
                "power losses in mode {mode:?} never damaged anything"
            );
        }
    }
    assert!(totals.bit_flips > 0, "no bit flip fired");
    assert!(
        totals.epoch_checkpoints_rebuilt > 0,
        "no epoch checkpoint was rebuilt"
    );
    assert!(totals.corrupt_reads > 0, "no read met a corrupt batch");
    assert!(
        totals.cases_truncated * 10 >= totals.cases,
        "recovery cut a log in too few cases: {} of {}",
        totals.cases_truncated,
        totals.cases
    );
}
