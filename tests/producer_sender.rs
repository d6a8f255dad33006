//! The Sender driven by hand-built responses, timer firings and resets: piggybacking per
//! broker, the in-flight limit, acks, retries and timeouts, sequences across retries,
//! epoch bumps, metadata refresh, and exactly-once completion under random interleavings.

use std::collections::{BTreeMap, BTreeSet, VecDeque};

use bytes::Bytes;
use odradek::bugs::{Bug, Bugs};
use odradek::command::{Command, Destination};
use odradek::producer::{
    AccumulatorTimer, Acks, DeliveryError, ProducerConfig, RequestKey, SendId, SendOutcome, Sender,
    SenderCommand, SenderTimer, TopicPartition,
};
use odradek::protocol::{
    ErrorCode, MetadataResponse, Msg, PartitionProduceResponse, PartitionState, ProduceRequest,
    ProduceResponse, TopicPartition as WireTp,
};
use odradek::record::{ProducerRecord, RecordBatch};
use proptest::prelude::*;

const PRODUCER_ID: i64 = 7;

fn metadata(leaders: &[(i32, i32, i32)]) -> Msg {
    let partitions = leaders
        .iter()
        .map(|&(partition, leader, leader_epoch)| PartitionState {
            tp: WireTp::new("t", partition),
            replicas: vec![1, 2, 3],
            leader: Some(leader),
            leader_epoch,
            partition_epoch: leader_epoch,
            isr: vec![leader],
            elr: Vec::new(),
            last_known_leader: None,
        })
        .collect();
    Msg::MetadataResponse(MetadataResponse { partitions })
}

fn init_ok(producer_id: i64) -> Msg {
    Msg::InitProducerIdResponse {
        error: ErrorCode::None,
        producer_id,
        producer_epoch: 0,
    }
}

fn record(value: u64) -> ProducerRecord {
    ProducerRecord::new(
        "t",
        None,
        Some(Bytes::copy_from_slice(&value.to_be_bytes())),
    )
}

fn tp(partition: i32) -> TopicPartition {
    TopicPartition::new("t", partition)
}

fn sent(commands: &[SenderCommand]) -> Vec<(Destination, Msg)> {
    commands
        .iter()
        .filter_map(|command| match command {
            Command::Send { to, msg } => Some((*to, msg.clone())),
            _ => None,
        })
        .collect()
}

fn produces(commands: &[SenderCommand]) -> Vec<(i32, ProduceRequest)> {
    sent(commands)
        .into_iter()
        .filter_map(|(to, msg)| match (to, msg) {
            (Destination::Broker(broker), Msg::ProduceRequest(request)) => Some((broker, request)),
            _ => None,
        })
        .collect()
}

fn events(commands: &[SenderCommand]) -> Vec<(SendId, SendOutcome)> {
    commands
        .iter()
        .filter_map(|command| match command {
            Command::Event(event) => Some(event.clone()),
            _ => None,
        })
        .collect()
}

/// (partition, base sequence, producer id) of one batch.
type Stamp = (i32, i32, i64);

/// The stamp of every batch of a request.
fn stamps(request: &ProduceRequest) -> Vec<Stamp> {
    request
        .partitions
        .iter()
        .map(|part| {
            let (batch, _) = RecordBatch::decode(&part.records).unwrap();
            (part.tp.partition, batch.base_sequence, batch.producer_id)
        })
        .collect()
}

fn answer(request: &ProduceRequest, error: ErrorCode, base_offset: i64) -> Msg {
    let partitions = request
        .partitions
        .iter()
        .map(|part| PartitionProduceResponse {
            tp: part.tp.clone(),
            error,
            base_offset,
        })
        .collect();
    Msg::ProduceResponse(ProduceResponse { partitions })
}

/// A Sender that has its metadata (`leaders`) and, with idempotence, producer id 7.
fn started(config: ProducerConfig, leaders: &[(i32, i32, i32)]) -> Sender {
    let idempotent = config.enable_idempotence;
    let mut sender = Sender::new(config, vec![1]).unwrap();
    let commands = sender.start();
    let requests = sent(&commands);
    assert!(requests.contains(&(Destination::Broker(1), Msg::MetadataRequest)));
    assert_eq!(
        requests.contains(&(Destination::Controller, Msg::InitProducerIdRequest)),
        idempotent
    );
    sender.handle_response(Destination::Broker(1), metadata(leaders));
    if idempotent {
        sender.handle_response(Destination::Controller, init_ok(PRODUCER_ID));
    }
    sender
}

fn lingering() -> ProducerConfig {
    ProducerConfig {
        linger_ms: 1_000,
        ..ProducerConfig::default()
    }
}

#[test]
fn a_request_piggybacks_the_head_batch_of_every_partition_its_broker_leads() {
    let mut sender = started(lingering(), &[(0, 1, 0), (1, 1, 0), (2, 2, 0)]);
    for (send, partition) in [(1, 0), (2, 1), (3, 2)] {
        let commands = sender.send(SendId(send), tp(partition), record(send), 0);
        assert!(
            produces(&commands).is_empty(),
            "nothing is ready before linger"
        );
    }
    let commands = sender.handle_timer(SenderTimer::Accumulator(AccumulatorTimer::Linger(tp(0))));
    let requests = produces(&commands);
    assert_eq!(requests.len(), 1);
    let (broker, request) = &requests[0];
    assert_eq!(*broker, 1);
    assert_eq!(stamps(request), [(0, 0, PRODUCER_ID), (1, 0, PRODUCER_ID)]);
    assert_eq!(
        sender.accumulator().batches(&tp(2)).len(),
        1,
        "broker 2 waits"
    );
}

#[test]
fn the_in_flight_limit_holds_requests_back_until_an_answer_frees_a_slot() {
    let config = ProducerConfig {
        max_in_flight_requests_per_connection: 2,
        ..ProducerConfig::default()
    };
    let mut sender = started(config, &[(0, 1, 0)]);
    let first = produces(&sender.send(SendId(1), tp(0), record(1), 0));
    assert_eq!(
        produces(&sender.send(SendId(2), tp(0), record(2), 0)).len(),
        1
    );
    assert!(produces(&sender.send(SendId(3), tp(0), record(3), 0)).is_empty());
    assert_eq!(sender.in_flight_requests(1), 2);
    let commands = sender.handle_response(
        Destination::Broker(1),
        answer(&first[0].1, ErrorCode::None, 0),
    );
    assert_eq!(events(&commands).len(), 1);
    let third = produces(&commands);
    assert_eq!(third.len(), 1);
    assert_eq!(stamps(&third[0].1), [(0, 2, PRODUCER_ID)]);
}

#[test]
fn acks_zero_completes_at_send_with_offset_minus_one_and_awaits_nothing() {
    let config = ProducerConfig {
        acks: Acks::None,
        enable_idempotence: false,
        ..ProducerConfig::default()
    };
    let mut sender = started(config, &[(0, 1, 0)]);
    let commands = sender.send(SendId(1), tp(0), record(1), 0);
    let requests = produces(&commands);
    assert_eq!(requests[0].1.acks, 0);
    match &events(&commands)[..] {
        [(SendId(1), SendOutcome::Ok(metadata))] => assert_eq!(metadata.offset, -1),
        other => panic!("{other:?}"),
    }
    assert_eq!(sender.in_flight_requests(1), 0);
}

fn retried_stamps(config: ProducerConfig) -> (Vec<Stamp>, Vec<Stamp>) {
    let mut sender = started(config, &[(0, 1, 0)]);
    let first = produces(&sender.send(SendId(1), tp(0), record(1), 0))
        .remove(0)
        .1;
    let failed = sender.handle_response(
        Destination::Broker(1),
        answer(&first, ErrorCode::NotEnoughReplicas, -1),
    );
    assert!(events(&failed).is_empty(), "NOT_ENOUGH_REPLICAS is retried");
    assert!(
        produces(&failed).is_empty(),
        "a retry waits out its backoff"
    );
    let backoff = SenderTimer::Accumulator(AccumulatorTimer::RetryBackoff(tp(0)));
    let retry = produces(&sender.handle_timer(backoff)).remove(0).1;
    (stamps(&first), stamps(&retry))
}

#[test]
fn a_retry_keeps_its_sequence_and_the_reassign_bug_changes_only_that() {
    let (first, retry) = retried_stamps(ProducerConfig::default());
    assert_eq!(first, [(0, 0, PRODUCER_ID)]);
    assert_eq!(retry, first);
    let buggy = ProducerConfig {
        bugs: Bugs::only(Bug::ReassignSequenceOnRetry),
        ..ProducerConfig::default()
    };
    let (first, retry) = retried_stamps(buggy);
    assert_eq!(first, [(0, 0, PRODUCER_ID)]);
    assert_eq!(retry, [(0, 1, PRODUCER_ID)]);
}

#[test]
fn the_leader_append_bug_changes_only_the_acks_on_the_wire() {
    let mut correct = started(ProducerConfig::default(), &[(0, 1, 0)]);
    let buggy_config = ProducerConfig {
        bugs: Bugs::only(Bug::AcksAllAtLeaderAppend),
        ..ProducerConfig::default()
    };
    let mut buggy = started(buggy_config, &[(0, 1, 0)]);
    let correct = produces(&correct.send(SendId(1), tp(0), record(1), 0))
        .remove(0)
        .1;
    let buggy = produces(&buggy.send(SendId(1), tp(0), record(1), 0))
        .remove(0)
        .1;
    assert_eq!((correct.acks, buggy.acks), (-1, 1));
    assert_eq!(correct.partitions, buggy.partitions);
}

#[test]
fn a_request_timeout_resets_the_connection_and_later_expiry_is_indeterminate() {
    let mut sender = started(ProducerConfig::default(), &[(0, 1, 0)]);
    produces(&sender.send(SendId(1), tp(0), record(1), 0));
    let key = RequestKey::Produce(tp(0), SendId(1));
    let commands = sender.handle_timer(SenderTimer::RequestTimeout(1, key));
    assert!(commands.contains(&Command::Disconnect(Destination::Broker(1))));
    assert!(events(&commands).is_empty(), "a timed-out batch is retried");
    assert_eq!(sender.in_flight_requests(1), 1, "only the metadata refresh");
    let commands = sender.handle_timer(SenderTimer::DeliveryTimeout(tp(0), SendId(1)));
    assert_eq!(
        events(&commands),
        [(
            SendId(1),
            SendOutcome::Indeterminate(DeliveryError::ExpiredUnsent)
        )]
    );
    assert!(
        sent(&commands).contains(&(Destination::Controller, Msg::InitProducerIdRequest)),
        "a sequence was consumed: the epoch is bumped"
    );
}

#[test]
fn a_finite_retries_count_fails_the_batch_after_that_many_retries() {
    // retries = 2: the first answer and two retries' answers are retriable errors; the
    // third failure is final, with the error of the last attempt.
    let config = ProducerConfig {
        retries: 2,
        ..ProducerConfig::default()
    };
    let mut sender = started(config, &[(0, 1, 0)]);
    let mut request = produces(&sender.send(SendId(1), tp(0), record(1), 0))
        .remove(0)
        .1;
    let backoff = SenderTimer::Accumulator(AccumulatorTimer::RetryBackoff(tp(0)));
    for attempt in 1..=3 {
        let answered = sender.handle_response(
            Destination::Broker(1),
            answer(&request, ErrorCode::NotEnoughReplicas, -1),
        );
        if attempt == 3 {
            assert_eq!(
                events(&answered),
                [(
                    SendId(1),
                    SendOutcome::DefinitelyFailed(DeliveryError::NotEnoughReplicas)
                )]
            );
            return;
        }
        assert!(events(&answered).is_empty(), "attempt {attempt} is retried");
        request = produces(&sender.handle_timer(backoff.clone())).remove(0).1;
    }
}

#[test]
fn a_batch_that_never_left_expires_as_a_definite_failure() {
    let mut sender = Sender::new(ProducerConfig::default(), vec![1]).unwrap();
    sender.start();
    sender.send(SendId(1), tp(0), record(1), 0);
    let commands = sender.handle_timer(SenderTimer::DeliveryTimeout(tp(0), SendId(1)));
    assert_eq!(
        events(&commands),
        [(
            SendId(1),
            SendOutcome::DefinitelyFailed(DeliveryError::ExpiredUnsent)
        )]
    );
}

#[test]
fn not_leader_refreshes_metadata_and_retries_at_the_new_leader() {
    let mut sender = started(ProducerConfig::default(), &[(0, 1, 0)]);
    let first = produces(&sender.send(SendId(1), tp(0), record(1), 0))
        .remove(0)
        .1;
    let commands = sender.handle_response(
        Destination::Broker(1),
        answer(&first, ErrorCode::NotLeaderOrFollower, -1),
    );
    assert!(sent(&commands).contains(&(Destination::Broker(1), Msg::MetadataRequest)));
    sender.handle_response(Destination::Broker(1), metadata(&[(0, 2, 1)]));
    let backoff = SenderTimer::Accumulator(AccumulatorTimer::RetryBackoff(tp(0)));
    let retry = produces(&sender.handle_timer(backoff));
    assert_eq!(retry.len(), 1);
    assert_eq!(retry[0].0, 2);
    assert_eq!(stamps(&retry[0].1), stamps(&first));
    let done = sender.handle_response(
        Destination::Broker(2),
        answer(&retry[0].1, ErrorCode::None, 40),
    );
    match &events(&done)[..] {
        [(SendId(1), SendOutcome::Ok(metadata))] => assert_eq!(metadata.offset, 40),
        other => panic!("{other:?}"),
    }
}

#[test]
fn an_empty_metadata_answer_is_asked_again_after_the_backoff() {
    // A broker that has not heard from the controller yet knows no partitions; the
    // producer must not take that as the cluster's shape and stop asking.
    let mut sender = Sender::new(ProducerConfig::default(), vec![1]).unwrap();
    sender.start();
    let empty = Msg::MetadataResponse(MetadataResponse {
        partitions: Vec::new(),
    });
    let commands = sender.handle_response(Destination::Broker(1), empty);
    assert!(sender.metadata().is_stale());
    assert!(commands.contains(&Command::SetTimer {
        timer: SenderTimer::MetadataBackoff,
        delay_ms: ProducerConfig::default().retry_backoff_ms,
    }));
    let commands = sender.handle_timer(SenderTimer::MetadataBackoff);
    assert!(sent(&commands).contains(&(Destination::Broker(1), Msg::MetadataRequest)));
}

#[test]
fn a_metadata_answer_that_overtakes_a_held_produce_answer_matches_the_metadata_request() {
    // The broker answers Metadata at once but holds an acks=all produce for replication,
    // so on one connection the later request's answer may come first.
    let mut sender = started(ProducerConfig::default(), &[(0, 1, 0)]);
    let produce = produces(&sender.send(SendId(1), tp(0), record(1), 0))
        .remove(0)
        .1;
    let commands = sender.send(SendId(2), tp(1), record(2), 0);
    assert!(sent(&commands).contains(&(Destination::Broker(1), Msg::MetadataRequest)));
    let commands =
        sender.handle_response(Destination::Broker(1), metadata(&[(0, 1, 0), (1, 1, 0)]));
    assert_eq!(events(&commands), [], "the held produce is still in flight");
    assert_eq!(sender.metadata().leader(&WireTp::new("t", 1)), Some((1, 0)));
    let done = sender.handle_response(Destination::Broker(1), answer(&produce, ErrorCode::None, 9));
    match &events(&done)[..] {
        [(SendId(1), SendOutcome::Ok(metadata))] => assert_eq!(metadata.offset, 9),
        other => panic!("{other:?}"),
    }
}

#[test]
fn out_of_order_sequence_fails_the_batch_and_bumps_the_epoch() {
    let mut sender = started(ProducerConfig::default(), &[(0, 1, 0)]);
    let first = produces(&sender.send(SendId(1), tp(0), record(1), 0))
        .remove(0)
        .1;
    let second = produces(&sender.send(SendId(2), tp(0), record(2), 0))
        .remove(0)
        .1;
    sender.handle_response(Destination::Broker(1), answer(&first, ErrorCode::None, 0));
    let commands = sender.handle_response(
        Destination::Broker(1),
        answer(&second, ErrorCode::OutOfOrderSequenceNumber, -1),
    );
    assert_eq!(
        events(&commands),
        [(
            SendId(2),
            SendOutcome::DefinitelyFailed(DeliveryError::OutOfOrderSequenceNumber)
        )]
    );
    assert!(sent(&commands).contains(&(Destination::Controller, Msg::InitProducerIdRequest)));
    assert!(produces(&sender.send(SendId(3), tp(0), record(3), 0)).is_empty());
    let commands = sender.handle_response(Destination::Controller, init_ok(8));
    assert_eq!(stamps(&produces(&commands)[0].1), [(0, 0, 8)]);
}

#[test]
fn an_epoch_bump_ends_a_possibly_appended_batch_as_indeterminate_instead_of_restamping_it() {
    // Restamped under the new producer id, a batch whose timed-out attempt was appended
    // would be appended again: a duplicate the broker cannot recognise.
    let mut sender = started(ProducerConfig::default(), &[(0, 1, 0), (1, 2, 0)]);
    sender.send(SendId(1), tp(0), record(1), 0);
    let other = produces(&sender.send(SendId(2), tp(1), record(2), 0))
        .remove(0)
        .1;
    let timeout = SenderTimer::RequestTimeout(1, RequestKey::Produce(tp(0), SendId(1)));
    let commands = sender.handle_timer(timeout);
    assert_eq!(events(&commands), [], "a timed-out batch is retried");
    let commands = sender.handle_response(
        Destination::Broker(2),
        answer(&other, ErrorCode::OutOfOrderSequenceNumber, -1),
    );
    assert!(sent(&commands).contains(&(Destination::Controller, Msg::InitProducerIdRequest)));
    let commands = sender.handle_response(Destination::Controller, init_ok(8));
    assert_eq!(
        events(&commands),
        [(
            SendId(1),
            SendOutcome::Indeterminate(DeliveryError::EpochBumped)
        )]
    );
    assert!(sender.is_idle(), "nothing is left to send again");
}

#[test]
fn a_sequence_gap_behind_a_retried_batch_is_retried_not_failed() {
    let mut sender = started(ProducerConfig::default(), &[(0, 1, 0)]);
    let first = produces(&sender.send(SendId(1), tp(0), record(1), 0))
        .remove(0)
        .1;
    let second = produces(&sender.send(SendId(2), tp(0), record(2), 0))
        .remove(0)
        .1;
    sender.handle_response(
        Destination::Broker(1),
        answer(&first, ErrorCode::NotEnoughReplicas, -1),
    );
    let commands = sender.handle_response(
        Destination::Broker(1),
        answer(&second, ErrorCode::OutOfOrderSequenceNumber, -1),
    );
    assert!(events(&commands).is_empty());
    assert!(!sent(&commands).contains(&(Destination::Controller, Msg::InitProducerIdRequest)));
    let backoff = SenderTimer::Accumulator(AccumulatorTimer::RetryBackoff(tp(0)));
    let retries = produces(&sender.handle_timer(backoff));
    let sequences: Vec<_> = retries.iter().flat_map(|(_, r)| stamps(r)).collect();
    assert_eq!(
        sequences,
        [(0, 0, PRODUCER_ID), (0, 1, PRODUCER_ID)],
        "in sequence order"
    );
}

/// One step of a random run.
#[derive(Debug, Clone)]
enum Step {
    Send(i32),
    Answer(usize, u8),
    Fire(usize),
    Reset(usize),
}

fn step() -> impl Strategy<Value = Step> {
    prop_oneof![
        3 => (0..3i32).prop_map(Step::Send),
        4 => (0..4usize, 0..6u8).prop_map(|(b, e)| Step::Answer(b, e)),
        2 => any::<usize>().prop_map(Step::Fire),
        1 => (0..3usize).prop_map(Step::Reset),
    ]
}

const ERRORS: [ErrorCode; 6] = [
    ErrorCode::None,
    ErrorCode::NotLeaderOrFollower,
    ErrorCode::NotEnoughReplicas,
    ErrorCode::NotEnoughReplicasAfterAppend,
    ErrorCode::OutOfOrderSequenceNumber,
    ErrorCode::None,
];

/// The world around one Sender: connections as FIFO queues, armed timers, completions.
#[derive(Default)]
struct Harness {
    queues: BTreeMap<Destination, VecDeque<Msg>>,
    timers: BTreeSet<SenderTimer>,
    completed: BTreeMap<SendId, SendOutcome>,
    offsets: BTreeMap<WireTp, i64>,
    producer_ids: i64,
}

impl Harness {
    fn apply(&mut self, commands: Vec<SenderCommand>) {
        for command in commands {
            match command {
                Command::Send { to, msg } => self.queues.entry(to).or_default().push_back(msg),
                Command::Disconnect(to) => {
                    self.queues.remove(&to);
                }
                Command::SetTimer { timer, .. } => {
                    self.timers.insert(timer);
                }
                Command::CancelTimer(timer) => {
                    self.timers.remove(&timer);
                }
                Command::Event((send, outcome)) => {
                    let earlier = self.completed.insert(send, outcome);
                    assert!(earlier.is_none(), "send completed twice. send={send:?}");
                }
            }
        }
    }

    fn answer(&mut self, request: Msg, error: ErrorCode) -> Option<Msg> {
        Some(match request {
            Msg::MetadataRequest => metadata(&[(0, 1, 0), (1, 2, 0), (2, 3, 0)]),
            Msg::InitProducerIdRequest => {
                self.producer_ids += 1;
                init_ok(self.producer_ids)
            }
            Msg::ProduceRequest(request) if request.acks != 0 => {
                let partitions = request
                    .partitions
                    .iter()
                    .map(|part| {
                        let offset = self.offsets.entry(part.tp.clone()).or_default();
                        let base_offset = *offset;
                        if error == ErrorCode::None {
                            *offset += 1;
                        }
                        PartitionProduceResponse {
                            tp: part.tp.clone(),
                            error,
                            base_offset,
                        }
                    })
                    .collect();
                Msg::ProduceResponse(ProduceResponse { partitions })
            }
            _ => return None,
        })
    }

    fn answer_next(&mut self, sender: &mut Sender, to: Destination, error: ErrorCode) -> bool {
        let Some(request) = self.queues.get_mut(&to).and_then(VecDeque::pop_front) else {
            return false;
        };
        if let Some(response) = self.answer(request, error) {
            let commands = sender.handle_response(to, response);
            self.apply(commands);
        }
        true
    }

    fn fire(&mut self, sender: &mut Sender, index: usize) -> bool {
        let Some(timer) = self
            .timers
            .iter()
            .nth(index % self.timers.len().max(1))
            .cloned()
        else {
            return false;
        };
        self.timers.remove(&timer);
        let commands = sender.handle_timer(timer);
        self.apply(commands);
        true
    }
}

fn destination(index: usize) -> Destination {
    [
        Destination::Broker(1),
        Destination::Broker(2),
        Destination::Broker(3),
        Destination::Controller,
    ][index % 4]
}

proptest! {
    #![proptest_config(ProptestConfig::with_cases(256))]

    #[test]
    fn every_send_completes_exactly_once_under_random_answers_timeouts_and_resets(
        steps in proptest::collection::vec(step(), 1..60),
        idempotent in any::<bool>(),
    ) {
        let config = ProducerConfig {
            enable_idempotence: idempotent,
            acks: Acks::All,
            ..ProducerConfig::default()
        };
        let mut sender = Sender::new(config, vec![1, 2, 3]).unwrap();
        let mut world = Harness::default();
        world.apply(sender.start());
        let mut sends = 0u64;
        for step in steps {
            match step {
                Step::Send(partition) => {
                    sends += 1;
                    world.apply(sender.send(SendId(sends), tp(partition), record(sends), 0));
                }
                Step::Answer(index, error) => {
                    let to = destination(index);
                    world.answer_next(&mut sender, to, ERRORS[usize::from(error) % ERRORS.len()]);
                }
                Step::Fire(index) => {
                    world.fire(&mut sender, index);
                }
                Step::Reset(index) => {
                    let to = destination(index);
                    world.queues.remove(&to);
                    world.apply(sender.handle_disconnect(to));
                }
            }
        }
        // Settle: answer everything with success, fire what is armed, until quiet.
        for _ in 0..10_000 {
            let busy = (0..4).map(destination).find(|to| world.queues.get(to).is_some_and(|q| !q.is_empty()));
            let progressed = match busy {
                Some(to) => world.answer_next(&mut sender, to, ErrorCode::None),
                None => world.fire(&mut sender, 0),
            };
            if !progressed {
                break;
            }
        }
        prop_assert_eq!(world.completed.len() as u64, sends, "every send completes");
        prop_assert!(world.completed.keys().copied().eq((1..=sends).map(SendId)));
        prop_assert!(sender.is_idle());
    }
}
