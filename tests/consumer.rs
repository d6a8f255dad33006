//! The consumer driven by hand-built answers: offset order, the high-watermark bound,
//! resets on out-of-range positions, leader changes, and ordering under random answers.

use bytes::Bytes;
use odradek::command::{Command, Destination};
use odradek::consumer::{
    Consumer, ConsumerCommand, ConsumerConfig, ConsumerTimer, OffsetReset, PollEvent,
};
use odradek::protocol::{
    ErrorCode, FetchRequest, FetchResponse, ListOffsetsResponse, MetadataResponse, Msg, OffsetSpec,
    OffsetsForLeaderEpochResponse, PartitionState, TopicPartition,
};
use odradek::record::{BatchBuilder, BatchOptions, RecordBatch};
use proptest::prelude::*;

fn tp() -> TopicPartition {
    TopicPartition::new("t", 0)
}

fn metadata(leader: i32, leader_epoch: i32) -> Msg {
    Msg::MetadataResponse(MetadataResponse {
        partitions: vec![PartitionState {
            tp: tp(),
            replicas: vec![1, 2],
            leader: Some(leader),
            leader_epoch,
            partition_epoch: leader_epoch,
            isr: vec![1, 2],
            elr: Vec::new(),
            last_known_leader: None,
        }],
    })
}

/// Records at offsets `from..to`, each holding its offset as its value, in one batch.
fn batch(from: i64, to: i64) -> Bytes {
    let mut builder = BatchBuilder::new(BatchOptions::default());
    for offset in from..to {
        let value = Bytes::copy_from_slice(&offset.to_be_bytes());
        builder.append(0, None, Some(value), Vec::new()).unwrap();
    }
    let mut batch = builder.build().unwrap();
    batch.base_offset = from;
    batch.encode().unwrap()
}

fn fetch_answer(
    request: &FetchRequest,
    error: ErrorCode,
    records: Bytes,
    high_watermark: i64,
) -> Msg {
    Msg::FetchResponse(FetchResponse {
        tp: request.tp.clone(),
        error,
        current_leader_epoch: request.current_leader_epoch,
        fetch_offset: request.fetch_offset,
        high_watermark,
        log_start_offset: 0,
        records,
    })
}

fn list_answer(error: ErrorCode, offset: i64) -> Msg {
    Msg::ListOffsetsResponse(ListOffsetsResponse {
        tp: tp(),
        error,
        offset,
        leader_epoch: 0,
    })
}

fn sent(commands: &[ConsumerCommand]) -> Vec<(Destination, Msg)> {
    commands
        .iter()
        .filter_map(|command| match command {
            Command::Send { to, msg } => Some((*to, msg.clone())),
            _ => None,
        })
        .collect()
}

fn fetches(commands: &[ConsumerCommand]) -> Vec<(Destination, FetchRequest)> {
    sent(commands)
        .into_iter()
        .filter_map(|(to, msg)| match msg {
            Msg::FetchRequest(request) => Some((to, request)),
            _ => None,
        })
        .collect()
}

/// The OffsetsForLeaderEpoch requests among `commands`: (to, current epoch, epoch asked).
fn validations(commands: &[ConsumerCommand]) -> Vec<(Destination, i32, i32)> {
    sent(commands)
        .into_iter()
        .filter_map(|(to, msg)| match msg {
            Msg::OffsetsForLeaderEpochRequest(r) => {
                Some((to, r.current_leader_epoch, r.leader_epoch))
            }
            _ => None,
        })
        .collect()
}

/// The leader's answer: `leader_epoch` (asked under `current`) ends at `end_offset`.
fn epoch_end(current: i32, leader_epoch: i32, end_offset: i64) -> Msg {
    Msg::OffsetsForLeaderEpochResponse(OffsetsForLeaderEpochResponse {
        tp: tp(),
        error: ErrorCode::None,
        current_leader_epoch: current,
        leader_epoch,
        end_offset,
    })
}

fn offsets(events: &[PollEvent]) -> Vec<i64> {
    events
        .iter()
        .filter_map(|event| match event {
            PollEvent::Record(record) => Some(record.offset),
            PollEvent::Reset { .. } => None,
        })
        .collect()
}

/// A consumer of t-0 (leader 1, epoch 0) positioned at `position` by `auto.offset.reset`,
/// and its first fetch.
fn positioned(reset: OffsetReset, position: i64) -> (Consumer, FetchRequest) {
    let config = ConsumerConfig {
        auto_offset_reset: reset,
        ..ConsumerConfig::default()
    };
    let mut consumer = Consumer::new(config, vec![1]);
    let commands = consumer.assign(&[tp()]);
    assert_eq!(
        sent(&commands),
        [(Destination::Broker(1), Msg::MetadataRequest)]
    );
    let commands = consumer.handle_response(Destination::Broker(1), metadata(1, 0));
    let spec = match reset {
        OffsetReset::Earliest => OffsetSpec::Earliest,
        OffsetReset::Latest => OffsetSpec::Latest,
    };
    match &sent(&commands)[..] {
        [(Destination::Broker(1), Msg::ListOffsetsRequest(request))] => {
            assert_eq!(request.spec, spec);
        }
        other => panic!("{other:?}"),
    }
    let commands = consumer.handle_response(
        Destination::Broker(1),
        list_answer(ErrorCode::None, position),
    );
    let mut fetch = fetches(&commands);
    assert_eq!(fetch.len(), 1);
    (consumer, fetch.remove(0).1)
}

#[test]
fn poll_returns_records_in_offset_order_from_the_reset_position() {
    let (mut consumer, request) = positioned(OffsetReset::Earliest, 2);
    assert_eq!((request.fetch_offset, request.current_leader_epoch), (2, 0));
    let records = [batch(0, 3), batch(3, 5)].concat();
    let commands = consumer.handle_response(
        Destination::Broker(1),
        fetch_answer(&request, ErrorCode::None, records.into(), 5),
    );
    assert!(
        fetches(&commands).is_empty(),
        "no fetch while records wait for poll"
    );
    let polled = consumer.poll(2);
    assert_eq!(offsets(&polled.events), [2, 3]);
    assert_eq!(offsets(&consumer.poll(10).events), [4]);
    assert_eq!(consumer.position(&tp()), Some(5));
}

#[test]
fn records_at_or_above_the_high_watermark_are_never_returned() {
    let (mut consumer, request) = positioned(OffsetReset::Earliest, 0);
    consumer.handle_response(
        Destination::Broker(1),
        fetch_answer(&request, ErrorCode::None, batch(0, 6), 3),
    );
    let polled = consumer.poll(100);
    assert_eq!(offsets(&polled.events), [0, 1, 2]);
    assert_eq!(fetches(&polled.commands)[0].1.fetch_offset, 3);
}

#[test]
fn an_out_of_range_position_resets_and_the_poll_reports_the_reset() {
    let (mut consumer, request) = positioned(OffsetReset::Latest, 9);
    let commands = consumer.handle_response(
        Destination::Broker(1),
        fetch_answer(&request, ErrorCode::OffsetOutOfRange, Bytes::new(), 4),
    );
    assert!(matches!(
        &sent(&commands)[..],
        [(_, Msg::ListOffsetsRequest(r))] if r.spec == OffsetSpec::Latest
    ));
    let commands =
        consumer.handle_response(Destination::Broker(1), list_answer(ErrorCode::None, 4));
    assert_eq!(
        fetches(&commands).len(),
        0,
        "the reset waits in the buffer for poll"
    );
    let polled = consumer.poll(10);
    assert_eq!(
        polled.events,
        [PollEvent::Reset {
            tp: tp(),
            from: 9,
            to: 4
        }]
    );
    assert_eq!(fetches(&polled.commands)[0].1.fetch_offset, 4);
}

#[test]
fn offset_not_available_retries_list_offsets_after_a_backoff() {
    let mut consumer = Consumer::new(ConsumerConfig::default(), vec![1]);
    consumer.assign(&[tp()]);
    consumer.handle_response(Destination::Broker(1), metadata(1, 0));
    let commands = consumer.handle_response(
        Destination::Broker(1),
        list_answer(ErrorCode::OffsetNotAvailable, -1),
    );
    assert!(sent(&commands).is_empty());
    let commands = consumer.handle_timer(ConsumerTimer::Backoff(tp()));
    assert!(matches!(
        &sent(&commands)[..],
        [(_, Msg::ListOffsetsRequest(_))]
    ));
}

#[test]
fn a_fenced_epoch_refreshes_metadata_and_fetches_the_new_leader_at_its_epoch() {
    let (mut consumer, request) = positioned(OffsetReset::Earliest, 3);
    let commands = consumer.handle_response(
        Destination::Broker(1),
        fetch_answer(&request, ErrorCode::FencedLeaderEpoch, Bytes::new(), 3),
    );
    assert_eq!(
        sent(&commands),
        [(Destination::Broker(1), Msg::MetadataRequest)]
    );
    consumer.handle_response(Destination::Broker(1), metadata(2, 1));
    let commands = consumer.handle_timer(ConsumerTimer::Backoff(tp()));
    // The new epoch asks for validation first (KIP-320): epoch 0 ends past the position.
    assert_eq!(validations(&commands), [(Destination::Broker(2), 1, 0)]);
    let commands = consumer.handle_response(Destination::Broker(2), epoch_end(1, 0, 7));
    let fetch = fetches(&commands);
    assert_eq!(fetch[0].0, Destination::Broker(2));
    assert_eq!(
        (fetch[0].1.fetch_offset, fetch[0].1.current_leader_epoch),
        (3, 1)
    );
    assert!(consumer.poll(10).events.is_empty(), "no reset");
}

/// The consumer at offset 6 after reading 0..6 in epoch 0 from broker 1, fenced there and
/// told that broker 2 leads epoch 1: it asks broker 2 where epoch 0 ends.
fn moved_to_a_new_leader() -> Consumer {
    let (mut consumer, request) = positioned(OffsetReset::Earliest, 0);
    let (mut written, _) = RecordBatch::decode(&batch(0, 6)).unwrap();
    written.partition_leader_epoch = 0;
    let records = written.encode().unwrap();
    consumer.handle_response(
        Destination::Broker(1),
        fetch_answer(&request, ErrorCode::None, records, 6),
    );
    let polled = consumer.poll(10);
    assert_eq!(offsets(&polled.events), [0, 1, 2, 3, 4, 5]);
    let next = fetches(&polled.commands).remove(0).1;
    consumer.handle_response(
        Destination::Broker(1),
        fetch_answer(&next, ErrorCode::FencedLeaderEpoch, Bytes::new(), 6),
    );
    consumer.handle_response(Destination::Broker(1), metadata(2, 1));
    let commands = consumer.handle_timer(ConsumerTimer::Backoff(tp()));
    assert!(
        fetches(&commands).is_empty(),
        "validation comes before a fetch"
    );
    assert_eq!(validations(&commands), [(Destination::Broker(2), 1, 0)]);
    consumer
}

#[test]
fn a_log_truncated_under_the_position_moves_it_back_and_the_poll_reports_the_reset() {
    let mut consumer = moved_to_a_new_leader();
    // Epoch 0 ends at 4 on the new leader: offsets 4 and 5 were read from a log since cut.
    let commands = consumer.handle_response(Destination::Broker(2), epoch_end(1, 0, 4));
    assert!(fetches(&commands).is_empty(), "the reset waits for poll");
    let polled = consumer.poll(10);
    assert_eq!(
        polled.events,
        [PollEvent::Reset {
            tp: tp(),
            from: 6,
            to: 4
        }]
    );
    let fetch = fetches(&polled.commands);
    assert_eq!(
        (fetch[0].1.fetch_offset, fetch[0].1.current_leader_epoch),
        (4, 1)
    );
}

#[test]
fn an_epoch_the_new_leader_cannot_place_resets_by_the_policy() {
    let mut consumer = moved_to_a_new_leader();
    let commands = consumer.handle_response(Destination::Broker(2), epoch_end(1, -1, -1));
    assert!(matches!(
        &sent(&commands)[..],
        [(_, Msg::ListOffsetsRequest(r))] if r.spec == OffsetSpec::Earliest
    ));
}

#[test]
fn a_validated_position_fetches_on_without_a_reset() {
    let mut consumer = moved_to_a_new_leader();
    let commands = consumer.handle_response(Destination::Broker(2), epoch_end(1, 0, 6));
    assert_eq!(fetches(&commands)[0].1.fetch_offset, 6);
    assert!(consumer.poll(10).events.is_empty());
}

#[test]
fn a_request_timeout_resets_the_connection_and_fetches_again_from_the_same_position() {
    let (mut consumer, request) = positioned(OffsetReset::Earliest, 1);
    let key = odradek::consumer::ConsumerRequestKey::Fetch(tp());
    let commands = consumer.handle_timer(ConsumerTimer::RequestTimeout(1, key));
    assert!(commands.contains(&Command::Disconnect(Destination::Broker(1))));
    consumer.handle_response(Destination::Broker(1), metadata(1, 0));
    let commands = consumer.handle_timer(ConsumerTimer::Backoff(tp()));
    assert_eq!(fetches(&commands)[0].1, request);
}

/// One answer to the consumer's oldest request.
#[derive(Debug, Clone)]
enum Answer {
    Records { high_watermark: i64, extra: i64 },
    Error(u8),
    Timer,
    Reset,
}

fn answer() -> impl Strategy<Value = Answer> {
    prop_oneof![
        4 => (0..40i64, 0..5i64).prop_map(|(high_watermark, extra)| Answer::Records { high_watermark, extra }),
        2 => (0..4u8).prop_map(Answer::Error),
        2 => Just(Answer::Timer),
        1 => Just(Answer::Reset),
    ]
}

const FETCH_ERRORS: [ErrorCode; 4] = [
    ErrorCode::OffsetOutOfRange,
    ErrorCode::NotLeaderOrFollower,
    ErrorCode::FencedLeaderEpoch,
    ErrorCode::OffsetNotAvailable,
];

proptest! {
    #![proptest_config(ProptestConfig::with_cases(256))]

    #[test]
    fn polls_are_in_offset_order_below_the_high_watermark_except_across_reported_resets(
        answers in proptest::collection::vec(answer(), 1..80),
    ) {
        let config = ConsumerConfig { auto_offset_reset: OffsetReset::Earliest, ..ConsumerConfig::default() };
        let mut consumer = Consumer::new(config, vec![1]);
        let mut queue: std::collections::VecDeque<Msg> = sent(&consumer.assign(&[tp()])).into_iter().map(|(_, m)| m).collect();
        let mut timers = std::collections::BTreeSet::new();
        let mut polled = Vec::new();
        let apply = |commands: Vec<ConsumerCommand>, queue: &mut std::collections::VecDeque<Msg>, timers: &mut std::collections::BTreeSet<ConsumerTimer>| {
            for command in commands {
                match command {
                    Command::Send { msg, .. } => queue.push_back(msg),
                    Command::Disconnect(_) => queue.clear(),
                    Command::SetTimer { timer, .. } => { timers.insert(timer); }
                    Command::CancelTimer(timer) => { timers.remove(&timer); }
                    Command::Event(never) => match never {},
                }
            }
        };
        let mut high_watermark_max = 0;
        for step in answers {
            match step {
                Answer::Timer => {
                    if let Some(timer) = timers.pop_first() {
                        apply(consumer.handle_timer(timer), &mut queue, &mut timers);
                    }
                }
                Answer::Reset => {
                    queue.clear();
                    apply(consumer.handle_disconnect(Destination::Broker(1)), &mut queue, &mut timers);
                }
                Answer::Records { .. } | Answer::Error(..) if queue.is_empty() => {}
                step => {
                    let request = queue.pop_front().unwrap();
                    let response = match (request, step) {
                        (Msg::MetadataRequest, _) => metadata(1, 0),
                        (Msg::ListOffsetsRequest(_), Answer::Error(e)) if e % 2 == 1 => list_answer(ErrorCode::OffsetNotAvailable, -1),
                        (Msg::ListOffsetsRequest(_), _) => list_answer(ErrorCode::None, 0),
                        (Msg::FetchRequest(request), Answer::Records { high_watermark, extra }) => {
                            high_watermark_max = high_watermark_max.max(high_watermark);
                            let from = request.fetch_offset;
                            let records = if from < high_watermark + extra { batch(from, high_watermark + extra) } else { Bytes::new() };
                            fetch_answer(&request, ErrorCode::None, records, high_watermark)
                        }
                        (Msg::FetchRequest(request), Answer::Error(e)) => {
                            fetch_answer(&request, FETCH_ERRORS[usize::from(e) % 4], Bytes::new(), 0)
                        }
                        (other, step) => panic!("unexpected {other:?} {step:?}"),
                    };
                    apply(consumer.handle_response(Destination::Broker(1), response), &mut queue, &mut timers);
                }
            }
            let poll = consumer.poll(3);
            polled.extend(poll.events);
            apply(poll.commands, &mut queue, &mut timers);
        }
        let mut next = 0;
        for event in &polled {
            match event {
                PollEvent::Record(record) => {
                    prop_assert_eq!(record.offset, next, "no skip, no repeat");
                    prop_assert!(record.offset < high_watermark_max);
                    let value = i64::from_be_bytes(record.value.as_ref().unwrap()[..].try_into().unwrap());
                    prop_assert_eq!(value, record.offset);
                    next = record.offset + 1;
                }
                PollEvent::Reset { from, to, .. } => {
                    prop_assert_eq!(*from, next);
                    next = *to;
                }
            }
        }
    }
}
