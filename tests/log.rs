//! The partition log, scenario by scenario: appends, rolls, reads, truncation, deletion,
//! the leader-epoch lookup of KIP-279, checkpoints, clean and unclean shutdown, and what
//! recovery does with torn, corrupt and missing bytes.

use bytes::Bytes;
use odradek::log::{
    CheckpointStatus, Corruption, EpochEndOffset, EpochEntry, Log, LogConfig, LogError, ReadLimits,
};
use odradek::record::{
    BatchBuilder, BatchOptions, Compression, RecordBatch, RecordError, BATCH_HEADER_BYTES,
};
use odradek_sim::{Disk, DiskError, PowerLoss, SimDisk};

const DIR: &str = "t-0";

/// Small segments and a dense index, so a few batches span segments and index entries.
fn config() -> LogConfig {
    LogConfig {
        segment_bytes: 600,
        index_interval_bytes: 100,
    }
}

/// An encoded producer batch with one record per value.
fn batch(values: &[&str]) -> Vec<u8> {
    batch_with(BatchOptions::default(), values)
}

fn batch_with(options: BatchOptions, values: &[&str]) -> Vec<u8> {
    let mut builder = BatchBuilder::new(options);
    for value in values {
        let value = Bytes::copy_from_slice(value.as_bytes());
        builder
            .append(1_700_000_000_000, None, Some(value), Vec::new())
            .expect("append");
    }
    builder
        .build()
        .expect("build")
        .encode()
        .expect("encode")
        .to_vec()
}

/// Every batch in `bytes`, decoded.
fn decode_all(mut bytes: &[u8]) -> Vec<RecordBatch> {
    let mut batches = Vec::new();
    while !bytes.is_empty() {
        let (batch, len) = RecordBatch::decode(bytes).expect("decode");
        batches.push(batch);
        bytes = &bytes[len..];
    }
    batches
}

/// The values of every record in `bytes`, with their offsets.
fn values(bytes: &[u8]) -> Vec<(i64, String)> {
    decode_all(bytes)
        .iter()
        .flat_map(|batch| {
            batch.records.iter().map(|record| {
                let value = record.value.as_deref().expect("value");
                let value = String::from_utf8(value.to_vec()).expect("utf-8");
                (batch.record_offset(record), value)
            })
        })
        .collect()
}

fn open(disk: &mut SimDisk) -> (Log, odradek::log::RecoveryReport) {
    Log::open(disk, DIR, config()).expect("open")
}

fn read_all(log: &Log, disk: &SimDisk) -> Vec<(i64, String)> {
    let from = log.log_start_offset();
    let read = log
        .read(disk, from, ReadLimits::to_log_end(usize::MAX))
        .expect("read");
    values(&read.bytes)
}

/// A log with ten one-record batches "v0".."v9" in epoch 1, then ten more in epoch 3.
fn twenty_batches(disk: &mut SimDisk) -> Log {
    let (mut log, _) = open(disk);
    for i in 0..20 {
        let epoch = if i < 10 { 1 } else { 3 };
        log.append_as_leader(disk, &batch(&[&format!("v{i}")]), epoch)
            .expect("append");
    }
    log
}

fn owned(pairs: &[(i64, &str)]) -> Vec<(i64, String)> {
    pairs
        .iter()
        .map(|(offset, value)| (*offset, value.to_string()))
        .collect()
}

fn entry(epoch: i32, start_offset: i64) -> EpochEntry {
    EpochEntry {
        epoch,
        start_offset,
    }
}

#[test]
fn a_new_log_is_empty_at_offset_zero() {
    let mut disk = SimDisk::default();
    let (log, report) = open(&mut disk);
    assert_eq!((log.log_start_offset(), log.log_end_offset()), (0, 0));
    assert_eq!((log.high_watermark(), log.latest_epoch()), (0, None));
    assert!(!report.clean_shutdown);
    assert_eq!(report.truncation, None);
    assert_eq!(report.leader_epoch_checkpoint, CheckpointStatus::Missing);
    assert_eq!(
        disk.list(),
        [
            "t-0/00000000000000000000.index",
            "t-0/00000000000000000000.log",
            "t-0/high-watermark-checkpoint",
            "t-0/leader-epoch-checkpoint",
            "t-0/log-start-offset-checkpoint",
        ]
    );
}

#[test]
fn leader_appends_assign_contiguous_offsets_and_stamp_the_epoch() {
    let mut disk = SimDisk::default();
    let (mut log, _) = open(&mut disk);
    let first = log
        .append_as_leader(&mut disk, &batch(&["a", "b", "c"]), 4)
        .expect("append");
    assert_eq!(
        (first.first_offset, first.last_offset, first.batch_count),
        (0, 2, 1)
    );
    let two = [batch(&["d"]), batch(&["e", "f"])].concat();
    let second = log.append_as_leader(&mut disk, &two, 4).expect("append");
    assert_eq!(
        (second.first_offset, second.last_offset, second.batch_count),
        (3, 5, 2)
    );
    assert_eq!(log.log_end_offset(), 6);

    let read = log
        .read(&disk, 0, ReadLimits::to_log_end(usize::MAX))
        .expect("read");
    let batches = decode_all(&read.bytes);
    let stamped: Vec<(i64, i32)> = batches
        .iter()
        .map(|batch| (batch.base_offset, batch.partition_leader_epoch))
        .collect();
    assert_eq!(stamped, [(0, 4), (3, 4), (4, 4)]);
    assert_eq!((read.batch_count, read.next_offset), (3, 6));
    assert_eq!(log.leader_epochs(), [entry(4, 0)]);
}

#[test]
fn segments_roll_by_size_and_reads_cross_them() {
    let mut disk = SimDisk::default();
    let log = twenty_batches(&mut disk);
    assert!(log.segment_count() >= 3, "segments={}", log.segment_count());
    let expected: Vec<(i64, String)> = (0..20).map(|i| (i, format!("v{i}"))).collect();
    assert_eq!(read_all(&log, &disk), expected);
    for from in 0..20 {
        let read = log
            .read(&disk, from, ReadLimits::to_log_end(1))
            .expect("read");
        assert_eq!(
            values(&read.bytes),
            [(from, format!("v{from}"))],
            "one batch from {from}"
        );
        assert_eq!(read.next_offset, from + 1);
    }
}

#[test]
fn reads_return_one_batch_over_bytes_max_and_stop_at_end_offset() {
    let mut disk = SimDisk::default();
    let log = twenty_batches(&mut disk);
    let read = log.read(&disk, 3, ReadLimits::to_log_end(0)).expect("read");
    assert_eq!(read.batch_count, 1, "KIP-74: the first batch comes whole");
    let read = log
        .read(&disk, 3, ReadLimits::to_offset(usize::MAX, 7))
        .expect("read");
    assert_eq!(values(&read.bytes).len(), 4);
    assert_eq!(read.next_offset, 7);
    let at_end = log
        .read(&disk, 7, ReadLimits::to_offset(usize::MAX, 7))
        .expect("read");
    assert_eq!((at_end.batch_count, at_end.next_offset), (0, 7));
    let at_log_end = log
        .read(&disk, 20, ReadLimits::to_log_end(100))
        .expect("read");
    assert!(at_log_end.bytes.is_empty());
}

#[test]
fn reads_outside_the_log_are_offset_out_of_range() {
    let mut disk = SimDisk::default();
    let log = twenty_batches(&mut disk);
    for offset in [-1, 21, i64::MAX] {
        assert_eq!(
            log.read(&disk, offset, ReadLimits::to_log_end(100)),
            Err(LogError::OffsetOutOfRange {
                offset,
                log_start_offset: 0,
                log_end_offset: 20
            })
        );
    }
}

#[test]
fn batch_headers_carry_the_producer_fields_for_state_rebuild() {
    let mut disk = SimDisk::default();
    let (mut log, _) = open(&mut disk);
    for sequence in [0, 2, 4] {
        let options = BatchOptions {
            producer_id: 7,
            producer_epoch: 1,
            base_sequence: sequence,
            ..BatchOptions::default()
        };
        log.append_as_leader(&mut disk, &batch_with(options, &["x", "y"]), 0)
            .expect("append");
    }
    let headers: Vec<(i64, i64, i16, i32, i32)> = log
        .batch_headers(&disk, 2)
        .expect("headers")
        .map(|header| {
            let header = header.expect("valid");
            let fields = (
                header.producer_id,
                header.producer_epoch,
                header.base_sequence,
            );
            (
                header.base_offset,
                fields.0,
                fields.1,
                fields.2,
                header.last_sequence(),
            )
        })
        .collect();
    assert_eq!(headers, [(2, 7, 1, 2, 3), (4, 7, 1, 4, 5)]);
}

#[test]
fn compressed_batches_are_stored_and_served_byte_for_byte() {
    let mut disk = SimDisk::default();
    let (mut log, _) = open(&mut disk);
    for compression in [
        Compression::Gzip,
        Compression::Snappy,
        Compression::Lz4,
        Compression::Zstd,
    ] {
        let options = BatchOptions {
            compression,
            ..BatchOptions::default()
        };
        log.append_as_leader(&mut disk, &batch_with(options, &["aaaa", "aaab"]), 0)
            .expect("append");
    }
    let all = read_all(&log, &disk);
    assert_eq!(all.len(), 8);
    assert_eq!(all[7], (7, "aaab".to_string()));
}

#[test]
fn follower_appends_need_contiguous_offsets_and_non_decreasing_epochs() {
    let mut leader_disk = SimDisk::default();
    let leader = twenty_batches(&mut leader_disk);
    let fetched = leader
        .read(&leader_disk, 0, ReadLimits::to_log_end(usize::MAX))
        .expect("read")
        .bytes;

    let mut disk = SimDisk::default();
    let (mut follower, _) = open(&mut disk);
    let appended = follower
        .append_as_follower(&mut disk, &fetched)
        .expect("append");
    assert_eq!((appended.first_offset, appended.last_offset), (0, 19));
    assert_eq!(follower.leader_epochs(), leader.leader_epochs());
    assert_eq!(follower.leader_epochs(), [entry(1, 0), entry(3, 10)]);
    assert_eq!(read_all(&follower, &disk), read_all(&leader, &leader_disk));

    let again = follower.append_as_follower(&mut disk, &fetched);
    assert!(matches!(
        again,
        Err(LogError::UnexpectedOffset {
            batch: 0,
            expected: 20,
            found: 0
        })
    ));
    let mut stale = batch(&["late"]);
    stale[..8].copy_from_slice(&20i64.to_be_bytes());
    stale[12..16].copy_from_slice(&2i32.to_be_bytes());
    assert_eq!(
        follower.append_as_follower(&mut disk, &stale),
        Err(LogError::StaleEpoch {
            epoch: 2,
            latest: 3
        })
    );
    stale[12..16].copy_from_slice(&(-1i32).to_be_bytes());
    assert_eq!(
        follower.append_as_follower(&mut disk, &stale),
        Err(LogError::MissingEpoch {
            batch: 0,
            epoch: -1
        })
    );
    assert_eq!(
        follower.log_end_offset(),
        20,
        "refused appends write nothing"
    );
}

#[test]
fn malformed_appends_are_refused_whole() {
    let mut disk = SimDisk::default();
    let (mut log, _) = open(&mut disk);
    let good = batch(&["ok"]);
    let mut corrupt = batch(&["bad"]);
    let last = corrupt.len() - 1;
    corrupt[last] ^= 1;
    let both = [good.clone(), corrupt].concat();
    assert!(matches!(
        log.append_as_leader(&mut disk, &both, 0),
        Err(LogError::InvalidBatch {
            batch: 1,
            source: RecordError::CrcMismatch { .. },
            ..
        })
    ));
    assert!(matches!(
        log.append_as_leader(&mut disk, &good[..good.len() - 1], 0),
        Err(LogError::InvalidBatch {
            source: RecordError::Truncated { .. },
            ..
        })
    ));
    assert_eq!(
        log.append_as_leader(&mut disk, &[], 0),
        Err(LogError::EmptyAppend)
    );
    let big = batch(&[&"x".repeat(700)]);
    assert!(matches!(
        log.append_as_leader(&mut disk, &big, 0),
        Err(LogError::BatchTooLarge {
            segment_bytes: 600,
            ..
        })
    ));
    log.append_as_leader(&mut disk, &good, 5).expect("append");
    assert_eq!(
        log.append_as_leader(&mut disk, &good, 4),
        Err(LogError::StaleEpoch {
            epoch: 4,
            latest: 5
        })
    );
    assert_eq!(log.log_end_offset(), 1);
}

#[test]
fn end_offset_for_epoch_answers_as_kip_279_says() {
    let mut disk = SimDisk::default();
    let (mut log, _) = open(&mut disk);
    assert_eq!(log.end_offset_for_epoch(0), None, "no epochs at all");
    for (epoch, count) in [(2, 3), (4, 2), (7, 1)] {
        for _ in 0..count {
            log.append_as_leader(&mut disk, &batch(&["r"]), epoch)
                .expect("append");
        }
    }
    let answer = |leader_epoch, end_offset| {
        Some(EpochEndOffset {
            leader_epoch,
            end_offset,
        })
    };
    assert_eq!(
        log.end_offset_for_epoch(7),
        answer(7, 6),
        "latest: the log end"
    );
    assert_eq!(log.end_offset_for_epoch(4), answer(4, 5));
    assert_eq!(
        log.end_offset_for_epoch(5),
        answer(4, 5),
        "largest epoch <= 5"
    );
    assert_eq!(log.end_offset_for_epoch(3), answer(2, 3));
    assert_eq!(
        log.end_offset_for_epoch(1),
        answer(1, 0),
        "below every epoch"
    );
    assert_eq!(log.end_offset_for_epoch(8), None, "above every epoch");
}

#[test]
fn a_new_leader_epoch_is_answered_before_its_first_append() {
    let mut disk = SimDisk::default();
    let (mut log, _) = open(&mut disk);
    log.append_as_leader(&mut disk, &batch(&["a", "b"]), 1)
        .expect("append");
    log.start_leader_epoch(&mut disk, 3).expect("start");
    assert_eq!(log.leader_epochs(), [entry(1, 0), entry(3, 2)]);
    let answer = EpochEndOffset {
        leader_epoch: 1,
        end_offset: 2,
    };
    assert_eq!(log.end_offset_for_epoch(2), Some(answer));
    assert_eq!(
        log.start_leader_epoch(&mut disk, 2),
        Err(LogError::StaleEpoch {
            epoch: 2,
            latest: 3
        })
    );
    // As a follower of epoch 2's leader it may still take epoch 2 batches: no batch
    // carries epoch 3 yet.
    let mut fetched = batch(&["c"]);
    fetched[..8].copy_from_slice(&2i64.to_be_bytes());
    fetched[12..16].copy_from_slice(&2i32.to_be_bytes());
    log.append_as_follower(&mut disk, &fetched).expect("append");
    assert_eq!(log.leader_epochs(), [entry(1, 0), entry(2, 2)]);
}

#[test]
fn truncation_drops_whole_batches_across_segments_and_later_epochs() {
    let mut disk = SimDisk::default();
    let mut log = twenty_batches(&mut disk);
    log.set_high_watermark(15);
    let segments = log.segment_count();
    assert_eq!(log.truncate_to(&mut disk, 12).expect("truncate"), 12);
    assert!(log.segment_count() < segments);
    assert_eq!(log.high_watermark(), 12);
    assert_eq!(log.leader_epochs(), [entry(1, 0), entry(3, 10)]);
    assert_eq!(log.truncate_to(&mut disk, 9).expect("truncate"), 9);
    assert_eq!(log.leader_epochs(), [entry(1, 0)]);
    assert_eq!(read_all(&log, &disk).len(), 9);
    assert_eq!(log.truncate_to(&mut disk, 50).expect("beyond the end"), 9);

    let (mut log, _) = open(&mut disk);
    log.append_as_leader(&mut disk, &batch(&["a", "b", "c"]), 5)
        .expect("append");
    assert_eq!(log.truncate_to(&mut disk, 10).expect("inside a batch"), 9);
}

#[test]
fn truncation_is_durable_through_a_power_loss() {
    let mut disk = SimDisk::default();
    let mut log = twenty_batches(&mut disk);
    log.flush(&mut disk).expect("flush");
    log.truncate_to(&mut disk, 10).expect("truncate");
    log.append_as_leader(&mut disk, &batch(&["new"]), 4)
        .expect("append");
    drop(log);
    disk.power_loss(PowerLoss::LoseAll, &mut |_| 0);
    let (log, report) = open(&mut disk);
    assert_eq!(report.truncation, None);
    assert_eq!(log.log_end_offset(), 10, "the truncated tail stays gone");
    assert_eq!(log.leader_epochs(), [entry(1, 0)]);
}

#[test]
fn delete_below_removes_whole_segments_and_moves_the_first_epoch() {
    let mut disk = SimDisk::default();
    let mut log = twenty_batches(&mut disk);
    assert!(matches!(
        log.delete_below(&mut disk, 12),
        Err(LogError::LogStartAboveHighWatermark {
            requested: 12,
            high_watermark: 0
        })
    ));
    log.set_high_watermark(20);
    let segments = log.segment_count();
    let deleted = log.delete_below(&mut disk, 12).expect("delete");
    assert!(deleted > 0);
    assert_eq!(log.segment_count(), segments - deleted);
    assert_eq!(log.log_start_offset(), 12);
    assert_eq!(log.leader_epochs(), [entry(3, 12)]);
    assert_eq!(
        read_all(&log, &disk).first(),
        Some(&(12, "v12".to_string()))
    );
    assert!(log.read(&disk, 11, ReadLimits::to_log_end(10)).is_err());

    let (log, report) = open(&mut disk);
    assert_eq!(report.log_start_offset_checkpoint, CheckpointStatus::Intact);
    assert_eq!(
        log.log_start_offset(),
        12,
        "the log start offset is checkpointed"
    );

    let mut log = log;
    log.set_high_watermark(20);
    log.delete_below(&mut disk, 20).expect("delete everything");
    assert_eq!((log.segment_count(), log.log_end_offset()), (1, 20));
    assert!(read_all(&log, &disk).is_empty());
}

#[test]
fn truncate_fully_and_start_at_leaves_an_empty_log_at_the_offset() {
    let mut disk = SimDisk::default();
    let mut log = twenty_batches(&mut disk);
    log.truncate_fully_and_start_at(&mut disk, 500)
        .expect("start over");
    assert_eq!((log.log_start_offset(), log.log_end_offset()), (500, 500));
    assert_eq!(log.leader_epochs(), []);
    log.append_as_leader(&mut disk, &batch(&["x"]), 9)
        .expect("append");
    let (log, _) = open(&mut disk);
    assert_eq!(read_all(&log, &disk), owned(&[(500, "x")]));
    assert_eq!(log.log_start_offset(), 500);
}

#[test]
fn clean_close_is_reported_and_needs_no_recovery() {
    let mut disk = SimDisk::default();
    let mut log = twenty_batches(&mut disk);
    log.set_high_watermark(17);
    log.close(&mut disk).expect("close");
    let (log, report) = open(&mut disk);
    assert!(report.clean_shutdown);
    assert_eq!(report.segments_recovered, 0);
    assert_eq!(report.recovered_from, 20);
    assert_eq!(log.high_watermark(), 17);
    assert_eq!(log.recovery_point(), 20);
    drop(log);
    let (_, report) = open(&mut disk);
    assert!(!report.clean_shutdown, "open removes the marker");
    assert_eq!(
        report.segments_recovered, 1,
        "an unclean open recovers the active segment"
    );
}

#[test]
fn flush_makes_everything_below_the_log_end_durable() {
    let mut disk = SimDisk::default();
    let mut log = twenty_batches(&mut disk);
    assert_eq!(log.flush(&mut disk).expect("flush"), 20);
    log.append_as_leader(&mut disk, &batch(&["unsynced"]), 3)
        .expect("append");
    drop(log);
    disk.power_loss(PowerLoss::LoseAll, &mut |_| 0);
    let (log, report) = open(&mut disk);
    assert_eq!(log.log_end_offset(), 20);
    assert_eq!(
        report.truncation, None,
        "the lost batch left nothing to cut"
    );
}

#[test]
fn recovery_cuts_a_torn_tail_and_reports_it() {
    let mut disk = SimDisk::default();
    let mut log = twenty_batches(&mut disk);
    log.flush(&mut disk).expect("flush");
    log.append_as_leader(&mut disk, &batch(&["torn", "tail"]), 3)
        .expect("append");
    let active = disk
        .list()
        .into_iter()
        .rfind(|name| name.ends_with(".log"))
        .expect("segment");
    let len = disk.len(&active).expect("len");
    disk.set_len(&active, len - 5).expect("tear");
    drop(log);
    let (log, report) = open(&mut disk);
    assert_eq!(log.log_end_offset(), 20);
    let truncation = report.truncation.expect("cut");
    assert_eq!(truncation.offset, 20);
    assert_eq!(truncation.segment, active);
    assert!(matches!(
        truncation.cause,
        Corruption::Batch(RecordError::Truncated { .. })
    ));
    assert_eq!(truncation.bytes + truncation.position, len - 5);
}

#[test]
fn a_flipped_bit_past_the_clean_point_is_cut_and_below_it_never_served() {
    let mut disk = SimDisk::default();
    let log = twenty_batches(&mut disk);
    log.close(&mut disk).expect("close");
    // Offset 1's value byte, in the first segment: below any clean point.
    let first = "t-0/00000000000000000000.log";
    let second_batch = BatchHeaderLen::of(&disk, first);
    disk.flip_bit_at(first, second_batch + 65, 0).expect("flip");
    let (log, report) = open(&mut disk);
    assert_eq!(
        report.truncation, None,
        "a clean shutdown validates only the tails"
    );
    let error = log
        .read(&disk, 1, ReadLimits::to_log_end(10))
        .expect_err("corrupt");
    assert!(matches!(
        error,
        LogError::Corrupt {
            offset: 1,
            corruption: Corruption::Batch(RecordError::CrcMismatch { .. }),
            ..
        }
    ));
    assert_eq!(
        values(
            &log.read(&disk, 0, ReadLimits::to_log_end(0))
                .expect("read")
                .bytes
        )
        .len(),
        1
    );
    assert!(log.read(&disk, 2, ReadLimits::to_log_end(10)).is_ok());

    // Past the clean point, recovery cuts there.
    let mut log = log;
    log.append_as_leader(&mut disk, &batch(&["a"]), 3)
        .expect("append");
    log.append_as_leader(&mut disk, &batch(&["b"]), 3)
        .expect("append");
    let active = disk
        .list()
        .into_iter()
        .rfind(|name| name.ends_with(".log"))
        .expect("segment");
    let len = disk.len(&active).expect("len");
    disk.flip_bit_at(&active, len - 1, 3).expect("flip");
    drop(log);
    let (log, report) = open(&mut disk);
    assert_eq!(log.log_end_offset(), 21);
    assert!(matches!(
        report.truncation.expect("cut").cause,
        Corruption::Batch(RecordError::CrcMismatch { .. })
    ));
}

/// Where the second batch of a segment starts.
struct BatchHeaderLen;

impl BatchHeaderLen {
    fn of(disk: &SimDisk, name: &str) -> u64 {
        let header = disk.read_vec(name, 0, BATCH_HEADER_BYTES).expect("read");
        odradek::record::BatchHeader::parse(&header)
            .expect("header")
            .total_len() as u64
    }
}

#[test]
fn a_flipped_epoch_outside_the_crc_is_caught_by_the_epoch_cache() {
    let mut disk = SimDisk::default();
    let log = twenty_batches(&mut disk);
    log.close(&mut disk).expect("close");
    // partitionLeaderEpoch of offset 0, epoch 1 -> 3: plausible, and not covered by the CRC.
    disk.flip_bit_at("t-0/00000000000000000000.log", 15, 1)
        .expect("flip");
    let (log, _) = open(&mut disk);
    assert_eq!(
        log.read(&disk, 0, ReadLimits::to_log_end(10)),
        Err(LogError::Corrupt {
            segment: "t-0/00000000000000000000.log".to_string(),
            position: 0,
            offset: 0,
            corruption: Corruption::EpochMismatch {
                expected: 1,
                found: 3
            },
        })
    );
}

#[test]
fn a_damaged_epoch_checkpoint_is_rebuilt_from_the_batches() {
    let mut disk = SimDisk::default();
    let log = twenty_batches(&mut disk);
    let epochs = log.leader_epochs().to_vec();
    log.close(&mut disk).expect("close");
    disk.flip_bit_at("t-0/leader-epoch-checkpoint", 4, 0)
        .expect("flip");
    let (log, report) = open(&mut disk);
    assert!(matches!(
        report.leader_epoch_checkpoint,
        CheckpointStatus::Damaged(odradek::log::CheckpointError::ChecksumMismatch { .. })
    ));
    assert_eq!(report.recovered_from, 0, "every batch is validated");
    assert_eq!(log.leader_epochs(), epochs);
    drop(log);
    let (_, report) = open(&mut disk);
    assert_eq!(
        report.leader_epoch_checkpoint,
        CheckpointStatus::Intact,
        "rewritten"
    );
}

#[test]
fn a_damaged_high_watermark_checkpoint_resets_to_the_log_start() {
    let mut disk = SimDisk::default();
    let mut log = twenty_batches(&mut disk);
    log.set_high_watermark(14);
    log.close(&mut disk).expect("close");
    disk.flip_bit_at("t-0/high-watermark-checkpoint", 3, 2)
        .expect("flip");
    let (log, report) = open(&mut disk);
    assert!(matches!(
        report.high_watermark_checkpoint,
        CheckpointStatus::Damaged(_)
    ));
    assert_eq!(log.high_watermark(), 0);
}

#[test]
fn a_damaged_index_is_rebuilt_and_reads_survive_a_wrong_entry() {
    let mut disk = SimDisk::default();
    let log = twenty_batches(&mut disk);
    log.close(&mut disk).expect("close");
    let index = "t-0/00000000000000000000.index";
    assert!(
        disk.len(index).expect("len") >= 8,
        "the first segment has index entries"
    );
    // A position that still parses as ordered but points at the wrong batch.
    disk.flip_bit_at(index, 7, 0).expect("flip");
    let (log, _) = open(&mut disk);
    let expected: Vec<(i64, String)> = (0..20).map(|i| (i, format!("v{i}"))).collect();
    assert_eq!(read_all(&log, &disk), expected);
    for from in 0..20 {
        let read = log
            .read(&disk, from, ReadLimits::to_log_end(0))
            .expect("read");
        assert_eq!(values(&read.bytes)[0].0, from);
    }
    drop(log);
    disk.set_len(index, 5).expect("partial entry");
    let (log, report) = open(&mut disk);
    assert!(report.segments_recovered >= 1);
    assert_eq!(report.truncation, None);
    assert_eq!(read_all(&log, &disk), expected);
}

#[test]
fn a_missing_segment_cuts_the_log_where_the_gap_starts() {
    let mut disk = SimDisk::default();
    let log = twenty_batches(&mut disk);
    log.close(&mut disk).expect("close");
    let logs: Vec<String> = disk
        .list()
        .into_iter()
        .filter(|name| name.ends_with(".log"))
        .collect();
    assert!(logs.len() >= 3);
    disk.remove(&logs[1]).expect("remove");
    let (log, report) = open(&mut disk);
    let truncation = report.truncation.expect("cut");
    assert!(matches!(truncation.cause, Corruption::SegmentGap { .. }));
    assert_eq!(log.log_end_offset(), truncation.offset);
    assert_eq!(log.segment_count(), 1);
}

#[test]
fn a_read_error_is_a_typed_error_and_never_a_cut() {
    let mut disk = SimDisk::default();
    let log = twenty_batches(&mut disk);
    let first = "t-0/00000000000000000000.log";
    disk.inject_read_error(first, odradek_sim::ByteRange::new(0, 10))
        .expect("inject");
    assert!(matches!(
        log.read(&disk, 0, ReadLimits::to_log_end(10)),
        Err(LogError::Disk(DiskError::ReadFailed { .. }))
    ));
    drop(log);
    disk.heal();
    let active = disk
        .list()
        .into_iter()
        .rfind(|name| name.ends_with(".log"))
        .expect("segment");
    disk.inject_read_error(&active, odradek_sim::ByteRange::new(0, 1))
        .expect("inject");
    assert!(matches!(
        Log::open(&mut disk, DIR, config()),
        Err(LogError::Disk(DiskError::ReadFailed { .. }))
    ));
    disk.heal();
    let (log, report) = open(&mut disk);
    assert_eq!(
        report.truncation, None,
        "a media error is not proof of corruption"
    );
    assert_eq!(read_all(&log, &disk).len(), 20);
}

#[test]
fn an_invalid_config_is_refused() {
    let mut disk = SimDisk::default();
    let config = LogConfig {
        segment_bytes: 10,
        ..LogConfig::default()
    };
    assert!(matches!(
        Log::open(&mut disk, DIR, config),
        Err(LogError::InvalidConfig {
            field: "segment_bytes",
            ..
        })
    ));
}

#[test]
fn a_failed_sync_is_a_disk_error_and_a_power_loss_keeps_the_synced_prefix() {
    let mut disk = SimDisk::default();
    let mut log = twenty_batches(&mut disk);
    assert_eq!(log.flush(&mut disk), Ok(20));
    log.append_as_leader(&mut disk, &batch(&["never", "durable"]), 3)
        .expect("append");
    disk.fail_next_sync();
    assert!(matches!(
        log.flush(&mut disk),
        Err(LogError::Disk(DiskError::SyncFailed { .. }))
    ));
    assert_eq!(
        log.recovery_point(),
        20,
        "a failed flush makes nothing durable"
    );
    // The node halts; the page cache still serves the batch after a process crash.
    drop(log);
    let (log, report) = open(&mut disk);
    assert_eq!((log.log_end_offset(), report.truncation), (22, None));
    // Linux dropped it from writeback: a power loss takes it, and nothing else.
    drop(log);
    disk.power_loss(PowerLoss::LoseAll, &mut |_| 0);
    let (log, _) = open(&mut disk);
    assert_eq!(log.log_end_offset(), 20);
    assert_eq!(read_all(&log, &disk).len(), 20);
}
