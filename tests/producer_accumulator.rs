//! The RecordAccumulator: batching by size and linger, back-pressure with max.block expiry,
//! piggyback draining per broker within max.request.size, sequence numbers kept across
//! retries, and drained batches that decode to what was sent, under every codec.

use bytes::Bytes;
use odradek::producer::{
    AccumulatorTimer, AppendError, AppendOutcome, BatchResult, DeliveryError, ProducerBatch,
    ProducerConfig, ProducerIdEpoch, RecordAccumulator, SendId, SendOutcome, TopicPartition,
};
use odradek::record::{Compression, ProducerRecord, RecordBatch, BATCH_HEADER_BYTES};
use proptest::collection::vec;
use proptest::prelude::*;

const CASES: u32 = 256;
const PRODUCER: ProducerIdEpoch = ProducerIdEpoch {
    producer_id: 7,
    producer_epoch: 0,
};

fn tp(partition: i32) -> TopicPartition {
    TopicPartition::new("t", partition)
}

/// A keyless record whose value is `value` repeated `bytes` times. With equal timestamps
/// and a small offset delta, a 100-byte value takes 109 bytes in a batch: a 2-byte length,
/// attributes, both deltas, key length, a 2-byte value length, the value, header count.
fn record(value: u8, bytes: usize) -> ProducerRecord {
    ProducerRecord::new("t", None, Some(Bytes::from(vec![value; bytes])))
}

fn config(batch_size: usize, linger_ms: u64, buffer_memory: usize) -> ProducerConfig {
    ProducerConfig {
        batch_size,
        linger_ms,
        buffer_memory,
        max_request_size: buffer_memory.min(1 << 20),
        ..ProducerConfig::default()
    }
}

fn appended(outcome: Result<AppendOutcome, AppendError>) -> odradek::producer::AppendResult {
    match outcome {
        Ok(AppendOutcome::Appended(result)) => result,
        other => panic!("expected an append, got {other:?}"),
    }
}

#[test]
fn records_share_a_batch_until_batch_size_then_start_another() {
    // Each 100-byte record takes 109 bytes in its batch: 61 + 2 * 109 <= 300 < 61 + 3 * 109.
    let mut acc = RecordAccumulator::new(&config(300, 5, 1 << 20)).expect("config");
    let first = appended(acc.append(SendId(0), tp(0), record(0, 100), 1_000));
    assert!(first.new_batch_created && !first.batch_full);
    assert_eq!(first.arm, Some(AccumulatorTimer::Linger(tp(0))));
    assert_eq!(acc.timer_delay_ms(&AccumulatorTimer::Linger(tp(0))), 5);
    let second = appended(acc.append(SendId(1), tp(0), record(1, 100), 1_000));
    assert!(!second.new_batch_created && !second.batch_full && second.arm.is_none());
    assert!(acc.ready().is_empty(), "neither full nor lingered");
    let third = appended(acc.append(SendId(2), tp(0), record(2, 100), 1_000));
    assert!(third.new_batch_created && third.batch_full);
    assert_eq!(acc.ready(), [tp(0)], "a closed batch is ready");
    let sizes: Vec<usize> = acc
        .batches(&tp(0))
        .iter()
        .map(ProducerBatch::size_bytes)
        .collect();
    assert_eq!(sizes, [BATCH_HEADER_BYTES + 218, BATCH_HEADER_BYTES + 109]);
    assert_eq!(acc.buffer_used_bytes(), 600);
}

#[test]
fn a_batch_waits_for_linger_unless_linger_is_zero() {
    let mut acc = RecordAccumulator::new(&config(16_384, 10, 1 << 20)).expect("config");
    appended(acc.append(SendId(0), tp(0), record(0, 10), 0));
    assert!(acc.ready().is_empty());
    assert!(acc.on_linger_expired(&tp(0)));
    assert!(
        !acc.on_linger_expired(&tp(0)),
        "a second expiry changes nothing"
    );
    assert_eq!(acc.ready(), [tp(0)]);
    assert!(!acc.on_linger_expired(&tp(1)), "no batch, nothing to do");

    let mut eager = RecordAccumulator::new(&config(16_384, 0, 1 << 20)).expect("config");
    let result = appended(eager.append(SendId(0), tp(3), record(0, 10), 0));
    assert_eq!(result.arm, None, "linger 0 arms no timer");
    assert_eq!(eager.ready(), [tp(3)]);
}

#[test]
fn a_full_buffer_makes_sends_wait_and_max_block_fails_them() {
    // Each batch reserves batch.size = 200 bytes; the buffer holds two.
    let mut acc = RecordAccumulator::new(&config(200, 0, 400)).expect("config");
    appended(acc.append(SendId(0), tp(0), record(0, 100), 0));
    appended(acc.append(SendId(1), tp(1), record(1, 100), 0));
    let waits = acc.append(SendId(2), tp(2), record(2, 100), 0);
    assert_eq!(
        waits,
        Ok(AppendOutcome::Pending {
            arm: AccumulatorTimer::MaxBlock(SendId(2))
        })
    );
    // A later send to a partition with room still queues behind the waiting one.
    let behind = acc.append(SendId(3), tp(0), record(3, 10), 0);
    assert!(
        matches!(behind, Ok(AppendOutcome::Pending { .. })),
        "{behind:?}"
    );
    assert_eq!(acc.pending_sends(), [SendId(2), SendId(3)]);
    assert_eq!(
        acc.ready(),
        [tp(0), tp(1)],
        "waiting sends make every head ready"
    );

    let (error, admitted) = acc.on_max_block_expired(SendId(2));
    let error = error.expect("still waiting");
    assert_eq!(
        error,
        AppendError::BufferExhausted {
            send: SendId(2),
            max_block_ms: 60_000
        }
    );
    assert_eq!(
        error.to_string(),
        "buffer memory exhausted. send=2 max_block_ms=60000"
    );
    assert_eq!(admitted.len(), 1, "send 3 fits the open batch of t-0");
    assert_eq!(admitted[0].send, SendId(3));
    assert!(admitted[0].result.is_ok());
    assert_eq!(acc.on_max_block_expired(SendId(2)), (None, vec![]));
}

#[test]
fn completing_a_batch_returns_memory_to_waiting_sends() {
    let mut acc = RecordAccumulator::new(&config(200, 0, 400)).expect("config");
    appended(acc.append(SendId(0), tp(0), record(0, 100), 0));
    appended(acc.append(SendId(1), tp(1), record(1, 100), 0));
    assert!(matches!(
        acc.append(SendId(2), tp(2), record(2, 100), 0),
        Ok(AppendOutcome::Pending { .. })
    ));
    let drained = acc.drain(&[tp(0)], 1 << 20, None).expect("drain");
    let (_, batch) = drained.into_iter().next().expect("one batch");
    let completion = acc.complete(
        batch,
        BatchResult::Acknowledged {
            base_offset: 40,
            log_append_time_ms: None,
        },
    );
    assert_eq!(completion.outcomes.len(), 1);
    assert_eq!(completion.admitted.len(), 1);
    assert_eq!(completion.admitted[0].send, SendId(2));
    assert!(acc.pending_sends().is_empty());
    assert_eq!(acc.buffer_used_bytes(), 400);
}

#[test]
fn a_record_larger_than_max_request_size_is_refused() {
    let mut acc = RecordAccumulator::new(&ProducerConfig {
        max_request_size: 1_000,
        ..ProducerConfig::default()
    })
    .expect("config");
    let error = acc
        .append(SendId(9), tp(0), record(0, 1_000), 0)
        .expect_err("too large");
    assert!(
        matches!(error, AppendError::RecordTooLarge { send: SendId(9), size, max_request_size: 1_000 } if size > 1_000),
        "{error}"
    );
}

#[test]
fn drain_piggybacks_every_head_of_the_broker_within_max_request_size() {
    let mut acc = RecordAccumulator::new(&config(16_384, 100, 1 << 20)).expect("config");
    for partition in 0..4 {
        appended(acc.append(SendId(partition as u64), tp(partition), record(0, 100), 0));
    }
    appended(acc.append(SendId(9), tp(1), record(9, 100), 0));
    assert!(acc.on_linger_expired(&tp(2)));
    assert_eq!(acc.ready(), [tp(2)], "only t-2 is ready");
    // The broker leads t-2, t-0 and t-1; t-3 is elsewhere. Two batches fit 400 bytes.
    let drained = acc
        .drain(&[tp(2), tp(0), tp(1)], 400, Some(PRODUCER))
        .expect("drain");
    let partitions: Vec<i32> = drained.iter().map(|(tp, _)| tp.partition).collect();
    assert_eq!(
        partitions,
        [2, 0],
        "ready or not, in order, until the limit"
    );
    let bytes: usize = drained.iter().map(|(_, batch)| batch.size_bytes()).sum();
    assert_eq!(bytes, 2 * (BATCH_HEADER_BYTES + 109));
    assert_eq!(
        acc.batches(&tp(1)).len(),
        1,
        "t-1 stays for the next request"
    );
    assert_eq!(
        acc.batches(&tp(3)).len(),
        1,
        "t-3 belongs to another broker"
    );
    // A single batch over the limit still goes, alone.
    let alone = acc
        .drain(&[tp(1), tp(3)], 10, Some(PRODUCER))
        .expect("drain");
    assert_eq!(alone.len(), 1);
    assert_eq!(alone[0].1.record_count(), 2);
}

#[test]
fn a_retried_batch_keeps_its_sequence_and_bytes_and_goes_first() {
    let mut acc = RecordAccumulator::new(&config(300, 0, 1 << 20)).expect("config");
    for send in 0..3 {
        appended(acc.append(SendId(send), tp(0), record(send as u8, 100), 0));
    }
    // Batches: [0 1] [2]
    let first = acc.drain(&[tp(0)], 1 << 20, Some(PRODUCER)).expect("drain");
    let (_, mut batch) = first.into_iter().next().expect("batch");
    assert_eq!(batch.base_sequence(), Some(0));
    let bytes = batch.encoded().cloned();
    batch.record_failed_attempt(DeliveryError::RequestTimedOut);
    assert_eq!(acc.reenqueue(batch), AccumulatorTimer::RetryBackoff(tp(0)));
    assert!(acc.ready().is_empty(), "the head backs off");
    assert!(acc
        .drain(&[tp(0)], 1 << 20, Some(PRODUCER))
        .expect("drain")
        .is_empty());
    assert!(acc.on_retry_backoff_expired(&tp(0)));
    let retry = acc.drain(&[tp(0)], 1 << 20, Some(PRODUCER)).expect("drain");
    let (_, retry) = retry.into_iter().next().expect("batch");
    assert_eq!(retry.base_sequence(), Some(0));
    assert_eq!(
        retry.encoded().cloned(),
        bytes,
        "a retry sends the same bytes"
    );
    assert!(retry.outcome_unknown());
    let next = acc.drain(&[tp(0)], 1 << 20, Some(PRODUCER)).expect("drain");
    assert_eq!(
        next[0].1.base_sequence(),
        Some(2),
        "after the retried batch's 2 records"
    );
    let outcomes = acc
        .complete(
            retry,
            BatchResult::Failed(DeliveryError::NotLeaderOrFollower),
        )
        .outcomes;
    assert!(
        outcomes
            .iter()
            .all(|(_, outcome)| matches!(outcome, SendOutcome::Indeterminate(_))),
        "an earlier timeout taints the final definite error: {outcomes:?}"
    );
}

#[test]
fn retries_go_back_in_sequence_order_ahead_of_new_batches() {
    let mut acc = RecordAccumulator::new(&config(100, 0, 1 << 20)).expect("config");
    for send in 0..4 {
        appended(acc.append(SendId(send), tp(0), record(0, 30), 0));
    }
    let mut drained = Vec::new();
    for _ in 0..3 {
        drained.extend(acc.drain(&[tp(0)], 1 << 20, Some(PRODUCER)).expect("drain"));
    }
    let sequences: Vec<Option<i32>> = drained.iter().map(|(_, b)| b.base_sequence()).collect();
    assert_eq!(sequences, [Some(0), Some(1), Some(2)]);
    // Failures come back in any order; the queue puts them back in sequence order.
    for index in [2, 0, 1] {
        acc.reenqueue(drained[index].1.clone());
    }
    acc.on_retry_backoff_expired(&tp(0));
    let queued: Vec<Option<i32>> = acc
        .batches(&tp(0))
        .iter()
        .map(ProducerBatch::base_sequence)
        .collect();
    assert_eq!(queued, [Some(0), Some(1), Some(2), None]);
}

#[test]
fn acknowledged_sends_get_offsets_timestamps_and_sizes() {
    let mut acc = RecordAccumulator::new(&config(16_384, 0, 1 << 20)).expect("config");
    let mut keyed = ProducerRecord::new("t", Some(Bytes::from_static(b"key")), None);
    keyed.timestamp = Some(5);
    appended(acc.append(SendId(0), tp(1), keyed, 1_000));
    appended(acc.append(SendId(1), tp(1), record(0, 4), 1_001));
    let (_, batch) = acc.drain(&[tp(1)], 1 << 20, None).expect("drain").remove(0);
    assert_eq!(batch.base_sequence(), None, "not idempotent");
    let outcomes = acc
        .complete(
            batch,
            BatchResult::Acknowledged {
                base_offset: 17,
                log_append_time_ms: None,
            },
        )
        .outcomes;
    let summary: Vec<(u64, i64, i64, i32, i32)> = outcomes
        .into_iter()
        .map(|(send, outcome)| match outcome {
            SendOutcome::Ok(m) => {
                assert_eq!((m.topic.as_str(), m.partition), ("t", 1));
                (
                    send.0,
                    m.offset,
                    m.timestamp,
                    m.serialized_key_size,
                    m.serialized_value_size,
                )
            }
            other => panic!("{other:?}"),
        })
        .collect();
    assert_eq!(summary, [(0, 17, 5, 3, -1), (1, 18, 1_001, -1, 4)]);
}

#[test]
fn acks_zero_sends_complete_with_offset_minus_one() {
    let mut acc = RecordAccumulator::new(&config(16_384, 0, 1 << 20)).expect("config");
    appended(acc.append(SendId(0), tp(0), record(0, 4), 9));
    let (_, batch) = acc.drain(&[tp(0)], 1 << 20, None).expect("drain").remove(0);
    let outcomes = acc
        .complete(
            batch,
            BatchResult::Acknowledged {
                base_offset: -1,
                log_append_time_ms: Some(77),
            },
        )
        .outcomes;
    match &outcomes[..] {
        [(SendId(0), SendOutcome::Ok(metadata))] => {
            assert_eq!((metadata.offset, metadata.timestamp), (-1, 77));
        }
        other => panic!("{other:?}"),
    }
}

/// One step of a random producer life.
#[derive(Debug, Clone)]
enum Op {
    /// Append a record of this many value bytes to partition `p % 4`.
    Append { partition: u8, bytes: u16 },
    /// Linger fires for partition `p % 4`.
    Linger(u8),
    /// Drain the partitions named by the bitmask, in the rotation `start`, within a limit.
    Drain { mask: u8, start: u8, limit: u16 },
    /// Fail the oldest in-flight batch with a retriable error and re-enqueue it.
    Retry,
    /// Backoff expires for partition `p % 4`.
    Backoff(u8),
    /// Acknowledge the oldest in-flight batch.
    Ack,
    /// max.block fires for the oldest waiting send.
    MaxBlock,
}

fn op() -> impl Strategy<Value = Op> {
    prop_oneof![
        4 => (any::<u8>(), 0u16..600).prop_map(|(partition, bytes)| Op::Append { partition, bytes }),
        1 => any::<u8>().prop_map(Op::Linger),
        2 => (any::<u8>(), any::<u8>(), 0u16..3_000).prop_map(|(mask, start, limit)| Op::Drain { mask, start, limit }),
        1 => Just(Op::Retry),
        1 => any::<u8>().prop_map(Op::Backoff),
        2 => Just(Op::Ack),
        1 => Just(Op::MaxBlock),
    ]
}

fn codec() -> impl Strategy<Value = Compression> {
    proptest::sample::select(Compression::ALL.to_vec())
}

/// What the test remembers of each drained batch, to check sequences never change.
fn check_drain(
    drained: &[(TopicPartition, ProducerBatch)],
    asked: &[TopicPartition],
    limit: usize,
) -> Result<(), TestCaseError> {
    let total: usize = drained.iter().map(|(_, batch)| batch.size_bytes()).sum();
    prop_assert!(
        total <= limit || drained.len() == 1,
        "total={} limit={}",
        total,
        limit
    );
    let mut positions = Vec::new();
    for (tp, batch) in drained {
        prop_assert_eq!(tp, batch.topic_partition());
        prop_assert!(batch.is_sealed());
        let position = asked.iter().position(|asked| asked == tp);
        prop_assert!(position.is_some(), "drained a partition not asked for");
        prop_assert!(
            !positions.contains(&position),
            "two batches of one partition"
        );
        positions.push(position);
    }
    prop_assert!(
        positions.windows(2).all(|pair| pair[0] < pair[1]),
        "order not kept"
    );
    Ok(())
}

proptest! {
    #![proptest_config(ProptestConfig::with_cases(CASES))]

    /// Every send completes exactly once or is refused once; memory returns in full;
    /// drains respect the request limit, one batch per partition, in order; a batch's
    /// sequence never changes once assigned and each partition's sequences run on without
    /// gaps; every drained batch decodes to the records that were sent.
    #[test]
    fn every_send_completes_once_and_drains_keep_their_limits(
        ops in vec(op(), 1..80),
        batch_size in 100usize..1_500,
        buffer_batches in 2usize..6,
        compression in codec(),
    ) {
        let buffer_memory = (batch_size * buffer_batches).max(1_000);
        let config = ProducerConfig {
            batch_size,
            buffer_memory,
            max_request_size: 1_000,
            linger_ms: 5,
            compression_type: compression,
            ..ProducerConfig::default()
        };
        let mut acc = RecordAccumulator::new(&config).unwrap();
        let mut next_send = 0u64;
        let mut values = std::collections::BTreeMap::new();
        let mut done = std::collections::BTreeSet::new();
        let mut in_flight: Vec<ProducerBatch> = Vec::new();
        let mut sequences = std::collections::BTreeMap::new();
        let mut next_sequence = std::collections::BTreeMap::new();
        let all: Vec<TopicPartition> = (0..4).map(tp).collect();
        for op in ops {
            match op {
                Op::Append { partition, bytes } => {
                    let send = SendId(next_send);
                    next_send += 1;
                    let value = Bytes::from(format!("{:06}", send.0).repeat(usize::from(bytes) / 6 + 1));
                    values.insert(send, value.clone());
                    let rec = ProducerRecord::new("t", None, Some(value));
                    match acc.append(send, tp(i32::from(partition % 4)), rec, 0) {
                        Ok(_) => {}
                        Err(AppendError::RecordTooLarge { .. }) => { prop_assert!(done.insert(send)); }
                        Err(other) => prop_assert!(false, "{}", other),
                    }
                }
                Op::Linger(partition) => { acc.on_linger_expired(&tp(i32::from(partition % 4))); }
                Op::Drain { mask, start, limit } => {
                    let mut asked: Vec<TopicPartition> = (0..4).filter(|p| mask & (1 << p) != 0).map(tp).collect();
                    if !asked.is_empty() {
                        let shift = usize::from(start) % asked.len();
                        asked.rotate_left(shift);
                    }
                    let limit = usize::from(limit);
                    let heads: Vec<Option<ProducerBatch>> = asked.iter().map(|tp| acc.batches(tp).first().cloned()).collect();
                    let drained = acc.drain(&asked, limit, Some(PRODUCER)).unwrap();
                    check_drain(&drained, &asked, limit)?;
                    for (tp, batch) in drained {
                        let index = asked.iter().position(|asked| *asked == tp).unwrap();
                        let head = heads[index].as_ref().unwrap();
                        prop_assert_eq!(head.sends(), batch.sends(), "not the head batch");
                        let first = batch.sends()[0].send;
                        let sequence = batch.base_sequence().unwrap();
                        match sequences.get(&first) {
                            Some(seen) => prop_assert_eq!(*seen, sequence, "sequence changed"),
                            None => {
                                let expected = next_sequence.get(&tp).copied().unwrap_or(0);
                                prop_assert_eq!(sequence, expected, "sequence gap");
                                next_sequence.insert(tp.clone(), expected + batch.record_count() as i32);
                                sequences.insert(first, sequence);
                            }
                        }
                        let (decoded, _) = RecordBatch::decode(batch.encoded().unwrap()).unwrap();
                        prop_assert_eq!(decoded.attributes.compression, compression);
                        prop_assert_eq!((decoded.producer_id, decoded.base_sequence), (7, sequence));
                        let sent: Vec<Option<Bytes>> = batch.sends().iter().map(|s| Some(values[&s.send].clone())).collect();
                        let got: Vec<Option<Bytes>> = decoded.records.into_iter().map(|r| r.value).collect();
                        prop_assert_eq!(got, sent);
                        in_flight.push(batch);
                    }
                }
                Op::Retry => {
                    if !in_flight.is_empty() {
                        let mut batch = in_flight.remove(0);
                        batch.record_failed_attempt(DeliveryError::NotEnoughReplicas);
                        acc.reenqueue(batch);
                    }
                }
                Op::Backoff(partition) => { acc.on_retry_backoff_expired(&tp(i32::from(partition % 4))); }
                Op::Ack => {
                    if !in_flight.is_empty() {
                        let batch = in_flight.remove(0);
                        let result = BatchResult::Acknowledged { base_offset: 0, log_append_time_ms: None };
                        let completion = acc.complete(batch, result);
                        for (send, outcome) in completion.outcomes {
                            prop_assert!(matches!(outcome, SendOutcome::Ok(_)));
                            prop_assert!(done.insert(send), "completed twice");
                        }
                        for admission in completion.admitted { prop_assert!(admission.result.is_ok()); }
                    }
                }
                Op::MaxBlock => {
                    if let Some(&send) = acc.pending_sends().first() {
                        let (error, _) = acc.on_max_block_expired(send);
                        prop_assert!(error.is_some());
                        prop_assert!(done.insert(send));
                    }
                }
            }
            prop_assert!(acc.buffer_used_bytes() <= buffer_memory);
        }
        // Drain everything to the end: every send completes exactly once.
        for _ in 0..10_000 {
            for partition in 0..4 { acc.on_retry_backoff_expired(&tp(partition)); }
            let drained = acc.drain(&all, 1_000, Some(PRODUCER)).unwrap();
            in_flight.extend(drained.into_iter().map(|(_, batch)| batch));
            if in_flight.is_empty() && acc.pending_sends().is_empty() { break; }
            for batch in std::mem::take(&mut in_flight) {
                let result = BatchResult::Acknowledged { base_offset: 0, log_append_time_ms: None };
                for (send, _) in acc.complete(batch, result).outcomes {
                    prop_assert!(done.insert(send), "completed twice");
                }
            }
        }
        prop_assert_eq!(done.len() as u64, next_send, "a send never completed");
        prop_assert_eq!(acc.buffer_used_bytes(), 0);
    }
}
