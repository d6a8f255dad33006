//! The Sender: the producer's half that talks to brokers, as a sans-IO state machine.
//!
//! It owns the [`RecordAccumulator`], the [`Metadata`] cache, the requests in flight per
//! broker connection and the idempotent producer's identity. It performs no IO and reads no
//! clock: inputs arrive through [`Sender::send`] and the `handle_*` methods (responses,
//! timer firings, connection resets), and each returns the [`SenderCommand`]s to carry out
//! in order: requests to send, connections to reset, timers to arm or disarm, and completed
//! sends. Call [`Sender::start`] once first.
//!
//! Correlation uses only what the protocol and the engine guarantee: a connection is two
//! FIFO streams and a broker answers requests of one kind in order, so an answer belongs
//! to the oldest request of its kind in flight to that broker (a Metadata answer may
//! overtake produces the broker holds for replication). Timers
//! are keyed by what they are about (a batch by its partition and first send, a request by
//! its broker and first batch), never by a counter.
//!
//! The decisions, each in one place:
//! - **Draining** ([`Sender::drain_broker`]): per leader, while fewer than
//!   `max.in.flight.requests.per.connection` requests are unanswered and some partition it
//!   leads is ready, one ProduceRequest with the ready heads first and then every other
//!   head it leads (piggybacking), up to `max.request.size`.
//! - **Acks**: acks=0 completes every send at once with offset -1, never retried; the
//!   `acks_all_at_leader_append` bug sends acks=1 on the wire while the producer believes
//!   it asked for acks=all.
//! - **Attempt failures** ([`Sender::verdict`]): retriable errors retry after
//!   `retry.backoff.ms` (with the same sequence; the `reassign_sequence_on_retry` bug gives
//!   a new one) until `delivery.timeout.ms` has fired for the batch; a sequence error with
//!   an earlier batch of the partition still unresolved retries too (it follows from that
//!   batch's failure); otherwise the batch fails, classified by [`classify`](super::classify).
//! - **Epoch bump** (KIP-360 for idempotent, non-transactional producers): a batch that
//!   consumed a sequence and failed for good leaves a hole the broker would refuse forever,
//!   so the Sender stops draining, waits for every request in flight to end, asks
//!   InitProducerId again and restamps every queued batch under the new identity, except
//!   a batch an earlier attempt may have appended: restamped, it would be appended again,
//!   so it ends indeterminate ([`DeliveryError::EpochBumped`]).

use std::collections::{BTreeMap, BTreeSet, VecDeque};

use crate::protocol::{
    BrokerId, ErrorCode, Msg, PartitionProduce, ProduceRequest, ProduceResponse,
    TopicPartition as WireTopicPartition,
};
use crate::record::ProducerRecord;

use super::accumulator::{
    AccumulatorTimer, Admission, AppendError, AppendOutcome, AppendResult, BatchResult,
    RecordAccumulator,
};
use super::batch::{ProducerBatch, ProducerIdEpoch, SendId};
use super::config::{Acks, ConfigError, ProducerConfig};
use super::outcome::{DeliveryError, SendOutcome};
use super::topic_partition::TopicPartition;
use crate::bugs::Bug;
use crate::command::{Command, Destination};
use crate::metadata::Metadata;

/// What the Sender asks its node to do; events are completed sends, each exactly once.
pub type SenderCommand = Command<SenderTimer, (SendId, SendOutcome)>;

/// A request in flight, named by what it carries.
#[derive(
    Debug, Clone, PartialEq, Eq, Hash, PartialOrd, Ord, serde::Serialize, serde::Deserialize,
)]
pub enum RequestKey {
    /// A ProduceRequest, by its first batch's partition and first send.
    Produce(TopicPartition, SendId),
    /// A Metadata request (at most one is in flight).
    Metadata,
}

/// The Sender's timers: plain data the node wraps in its own timer enum.
#[derive(
    Debug, Clone, PartialEq, Eq, Hash, PartialOrd, Ord, serde::Serialize, serde::Deserialize,
)]
pub enum SenderTimer {
    /// One of the accumulator's (linger, retry backoff, max block).
    Accumulator(AccumulatorTimer),
    /// `delivery.timeout.ms` of the batch named by its partition and first send.
    DeliveryTimeout(TopicPartition, SendId),
    /// `request.timeout.ms` of a request to a broker.
    RequestTimeout(BrokerId, RequestKey),
    /// `request.timeout.ms` of the InitProducerId request.
    InitProducerIdTimeout,
    /// `retry.backoff.ms` before asking for a producer id again.
    InitProducerIdBackoff,
    /// `retry.backoff.ms` before the next metadata refresh.
    MetadataBackoff,
}

/// A request waiting for its answer on a broker connection.
#[derive(Debug, Clone, PartialEq, Eq, Hash)]
enum InFlight {
    Produce(Vec<ProducerBatch>),
    Metadata,
}

impl InFlight {
    fn key(&self) -> RequestKey {
        match self {
            InFlight::Produce(batches) => {
                let first = &batches[0];
                RequestKey::Produce(first.topic_partition().clone(), first.first_send())
            }
            InFlight::Metadata => RequestKey::Metadata,
        }
    }
}

/// Where the InitProducerId exchange stands.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
enum InitState {
    /// No request in flight; one goes out when an id is needed.
    Idle,
    /// A request waits for the controller's answer.
    InFlight,
    /// The last request failed; waiting out `retry.backoff.ms`.
    BackingOff,
}

/// What happens to a batch after a failed attempt.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Verdict {
    Retry,
    Fail,
}

/// The producer's Sender. See the module docs.
#[derive(Debug, Clone, PartialEq, Eq, Hash)]
pub struct Sender {
    config: ProducerConfig,
    accumulator: RecordAccumulator,
    metadata: Metadata,
    /// Requests unanswered per broker connection, oldest first (the connection is FIFO).
    in_flight: BTreeMap<BrokerId, VecDeque<InFlight>>,
    /// The idempotent producer's identity, once InitProducerId answered.
    producer: Option<ProducerIdEpoch>,
    init: InitState,
    /// A batch with a sequence failed for good: stop draining until a new identity.
    bump_pending: bool,
    /// In-flight batches whose delivery timeout fired: they fail at their attempt's end
    /// unless acknowledged.
    expired: BTreeSet<(TopicPartition, SendId)>,
}

fn wire(tp: &TopicPartition) -> WireTopicPartition {
    WireTopicPartition::new(&tp.topic, tp.partition)
}

/// Errors after which the next attempt may succeed.
fn retriable(error: DeliveryError) -> bool {
    match error {
        DeliveryError::NotEnoughReplicas
        | DeliveryError::NotLeaderOrFollower
        | DeliveryError::RequestTimedOut
        | DeliveryError::ConnectionReset
        | DeliveryError::NotEnoughReplicasAfterAppend => true,
        DeliveryError::Broker(code) => matches!(
            code,
            ErrorCode::LeaderNotAvailable
                | ErrorCode::UnknownTopicOrPartition
                | ErrorCode::FencedLeaderEpoch
                | ErrorCode::UnknownLeaderEpoch
                | ErrorCode::KafkaStorageError
                | ErrorCode::CorruptMessage
        ),
        DeliveryError::OutOfOrderSequenceNumber
        | DeliveryError::InvalidProducerEpoch
        | DeliveryError::ExpiredUnsent
        | DeliveryError::RecordTooLarge
        | DeliveryError::BufferExhausted
        | DeliveryError::InvalidRecord
        | DeliveryError::EpochBumped => false,
    }
}

/// Errors that say the cached leader is wrong.
fn stale_leader(error: DeliveryError) -> bool {
    match error {
        DeliveryError::NotLeaderOrFollower => true,
        DeliveryError::Broker(code) => matches!(
            code,
            ErrorCode::LeaderNotAvailable
                | ErrorCode::UnknownTopicOrPartition
                | ErrorCode::FencedLeaderEpoch
                | ErrorCode::UnknownLeaderEpoch
                | ErrorCode::KafkaStorageError
        ),
        _ => false,
    }
}

/// Errors about the producer's sequence or epoch.
fn sequence_error(error: DeliveryError) -> bool {
    matches!(
        error,
        DeliveryError::OutOfOrderSequenceNumber | DeliveryError::InvalidProducerEpoch
    )
}

impl Sender {
    /// A Sender for a producer with `config` (which must validate), asking the
    /// `bootstrap` brokers (non-empty) for metadata in turn.
    pub fn new(config: ProducerConfig, bootstrap: Vec<BrokerId>) -> Result<Sender, ConfigError> {
        Ok(Sender {
            accumulator: RecordAccumulator::new(&config)?,
            config,
            metadata: Metadata::new(bootstrap),
            in_flight: BTreeMap::new(),
            producer: None,
            init: InitState::Idle,
            bump_pending: false,
            expired: BTreeSet::new(),
        })
    }

    // Getters.

    /// The accumulator, for inspection.
    pub fn accumulator(&self) -> &RecordAccumulator {
        &self.accumulator
    }

    /// The metadata cache, for the partitioner's partition counts and for inspection.
    pub fn metadata(&self) -> &Metadata {
        &self.metadata
    }

    /// The idempotent producer's identity, once known.
    pub fn producer(&self) -> Option<ProducerIdEpoch> {
        self.producer
    }

    /// Requests unanswered on the connection to `broker`.
    pub fn in_flight_requests(&self, broker: BrokerId) -> usize {
        self.in_flight.get(&broker).map_or(0, VecDeque::len)
    }

    /// Whether no send is waiting: nothing queued, in flight or waiting for memory.
    pub fn is_idle(&self) -> bool {
        self.accumulator.queued_partitions().is_empty()
            && self.accumulator.pending_sends().is_empty()
            && self
                .in_flight
                .values()
                .flatten()
                .all(|r| r == &InFlight::Metadata)
    }

    /// The acks value requests carry. The one decision of the `acks_all_at_leader_append`
    /// bug: acks=1 on the wire, so the leader answers at append, before replication.
    pub fn wire_acks(&self) -> i16 {
        if self.config.acks == Acks::All && self.config.bugs.on(Bug::AcksAllAtLeaderAppend) {
            Acks::Leader.code()
        } else {
            self.config.acks.code()
        }
    }

    // Inputs.

    /// Starts the producer: asks for metadata and, with idempotence, a producer id.
    pub fn start(&mut self) -> Vec<SenderCommand> {
        let mut out = Vec::new();
        self.drive(&mut out);
        out
    }

    /// The application's send of `record`, already partitioned to `tp`; `send` names it in
    /// the completion. A record without a timestamp gets `wall_clock_ms`.
    pub fn send(
        &mut self,
        send: SendId,
        tp: TopicPartition,
        record: ProducerRecord,
        wall_clock_ms: i64,
    ) -> Vec<SenderCommand> {
        let mut out = Vec::new();
        match self.accumulator.append(send, tp, record, wall_clock_ms) {
            Ok(AppendOutcome::Appended(result)) => self.on_appended(send, result, &mut out),
            Ok(AppendOutcome::Pending { arm }) => self.arm(SenderTimer::Accumulator(arm), &mut out),
            Err(error) => refused(error, &mut out),
        }
        self.drive(&mut out);
        out
    }

    /// An answer from `from` on the producer's connection to it.
    pub fn handle_response(&mut self, from: Destination, msg: Msg) -> Vec<SenderCommand> {
        let mut out = Vec::new();
        match from {
            Destination::Controller => self.on_controller_response(msg, &mut out),
            Destination::Broker(broker) => self.on_broker_response(broker, msg, &mut out),
        }
        self.drive(&mut out);
        out
    }

    /// `timer` fired.
    pub fn handle_timer(&mut self, timer: SenderTimer) -> Vec<SenderCommand> {
        let mut out = Vec::new();
        match timer {
            SenderTimer::Accumulator(timer) => self.on_accumulator_timer(timer, &mut out),
            SenderTimer::DeliveryTimeout(tp, first) => {
                self.on_delivery_timeout(tp, first, &mut out);
            }
            SenderTimer::RequestTimeout(broker, key) => {
                let waiting = self.in_flight.get(&broker).into_iter().flatten();
                if waiting.map(InFlight::key).any(|k| k == key) {
                    out.push(Command::Disconnect(Destination::Broker(broker)));
                    self.connection_lost(broker, Some(key), &mut out);
                }
            }
            SenderTimer::InitProducerIdTimeout => {
                if self.init == InitState::InFlight {
                    out.push(Command::Disconnect(Destination::Controller));
                    self.init_failed(&mut out);
                }
            }
            SenderTimer::InitProducerIdBackoff => {
                if self.init == InitState::BackingOff {
                    self.init = InitState::Idle;
                }
            }
            SenderTimer::MetadataBackoff => self.metadata.on_backoff_expired(),
        }
        self.drive(&mut out);
        out
    }

    /// The connection to `peer` was reset: everything in flight on it has an unknown
    /// outcome.
    pub fn handle_disconnect(&mut self, peer: Destination) -> Vec<SenderCommand> {
        let mut out = Vec::new();
        match peer {
            Destination::Broker(broker) => self.connection_lost(broker, None, &mut out),
            Destination::Controller => {
                if self.init == InitState::InFlight {
                    out.push(Command::CancelTimer(SenderTimer::InitProducerIdTimeout));
                    self.init_failed(&mut out);
                }
            }
        }
        self.drive(&mut out);
        out
    }

    // Helpers.

    fn arm(&self, timer: SenderTimer, out: &mut Vec<SenderCommand>) {
        let delay_ms = match &timer {
            SenderTimer::Accumulator(timer) => self.accumulator.timer_delay_ms(timer),
            SenderTimer::DeliveryTimeout(..) => self.config.delivery_timeout_ms,
            SenderTimer::RequestTimeout(..) | SenderTimer::InitProducerIdTimeout => {
                self.config.request_timeout_ms
            }
            SenderTimer::InitProducerIdBackoff | SenderTimer::MetadataBackoff => {
                self.config.retry_backoff_ms
            }
        };
        out.push(Command::SetTimer { timer, delay_ms });
    }

    fn on_appended(&mut self, send: SendId, result: AppendResult, out: &mut Vec<SenderCommand>) {
        if let Some(timer) = result.arm {
            self.arm(SenderTimer::Accumulator(timer), out);
        }
        if result.new_batch_created {
            let timer = SenderTimer::DeliveryTimeout(result.topic_partition, send);
            self.arm(timer, out);
        }
    }

    fn on_admissions(&mut self, admitted: Vec<Admission>, out: &mut Vec<SenderCommand>) {
        for admission in admitted {
            let max_block = AccumulatorTimer::MaxBlock(admission.send);
            out.push(Command::CancelTimer(SenderTimer::Accumulator(max_block)));
            match admission.result {
                Ok(result) => self.on_appended(admission.send, result, out),
                Err(error) => refused(error, out),
            }
        }
    }

    fn on_accumulator_timer(&mut self, timer: AccumulatorTimer, out: &mut Vec<SenderCommand>) {
        match timer {
            AccumulatorTimer::Linger(tp) => {
                self.accumulator.on_linger_expired(&tp);
            }
            AccumulatorTimer::RetryBackoff(tp) => {
                self.accumulator.on_retry_backoff_expired(&tp);
            }
            AccumulatorTimer::MaxBlock(send) => {
                let (error, admitted) = self.accumulator.on_max_block_expired(send);
                if let Some(error) = error {
                    refused(error, out);
                }
                self.on_admissions(admitted, out);
            }
        }
    }

    fn on_delivery_timeout(
        &mut self,
        tp: TopicPartition,
        first: SendId,
        out: &mut Vec<SenderCommand>,
    ) {
        if let Some(batch) = self.accumulator.expire(&tp, first) {
            self.fail(batch, DeliveryError::ExpiredUnsent, out);
            return;
        }
        let in_flight = self
            .in_flight
            .values()
            .flatten()
            .any(|request| match request {
                InFlight::Produce(batches) => batches
                    .iter()
                    .any(|b| b.topic_partition() == &tp && b.first_send() == first),
                InFlight::Metadata => false,
            });
        if in_flight {
            self.expired.insert((tp, first));
        }
    }

    fn on_controller_response(&mut self, msg: Msg, out: &mut Vec<SenderCommand>) {
        if self.init != InitState::InFlight {
            return;
        }
        out.push(Command::CancelTimer(SenderTimer::InitProducerIdTimeout));
        match msg {
            Msg::InitProducerIdResponse {
                error: ErrorCode::None,
                producer_id,
                producer_epoch,
            } => {
                let producer = ProducerIdEpoch {
                    producer_id,
                    producer_epoch,
                };
                debug_assert!(
                    self.in_flight
                        .values()
                        .flatten()
                        .all(|r| r == &InFlight::Metadata),
                    "a new identity waits for every produce in flight"
                );
                if self.producer.is_some() {
                    self.fail_possibly_appended(out);
                }
                self.accumulator
                    .reset_producer(producer)
                    .expect("sealed batches decode: the producer encoded them");
                self.producer = Some(producer);
                self.bump_pending = false;
                self.init = InitState::Idle;
            }
            _ => self.init_failed(out),
        }
    }

    /// Before an epoch bump restamps the queues: a queued batch that an earlier attempt may
    /// have appended ends indeterminate instead, because under the new identity the broker
    /// could not recognise it as a duplicate and would append it again.
    fn fail_possibly_appended(&mut self, out: &mut Vec<SenderCommand>) {
        let mut doomed = Vec::new();
        for tp in self.accumulator.queued_partitions() {
            let batches = self.accumulator.batches(&tp).iter();
            let unknown = batches.filter(|b| b.is_sealed() && b.outcome_unknown());
            doomed.extend(unknown.map(|b| (tp.clone(), b.first_send())));
        }
        for (tp, first) in doomed {
            let batch = self.accumulator.expire(&tp, first).expect("queued above");
            self.complete(batch, BatchResult::Failed(DeliveryError::EpochBumped), out);
        }
    }

    fn init_failed(&mut self, out: &mut Vec<SenderCommand>) {
        self.init = InitState::BackingOff;
        self.arm(SenderTimer::InitProducerIdBackoff, out);
    }

    fn on_broker_response(&mut self, broker: BrokerId, msg: Msg, out: &mut Vec<SenderCommand>) {
        let Some(queue) = self.in_flight.get_mut(&broker) else {
            return;
        };
        // The oldest request of the answer's kind: the broker answers Metadata at once but
        // holds acks=all produces for replication, so kinds may overtake one another.
        let index = match &msg {
            Msg::MetadataResponse(_) => queue.iter().position(|r| r == &InFlight::Metadata),
            Msg::ProduceResponse(_) => queue.iter().position(|r| matches!(r, InFlight::Produce(_))),
            _ => None,
        };
        let request = queue
            .remove(index.unwrap_or(0))
            .expect("queues in the map are non-empty");
        if queue.is_empty() {
            self.in_flight.remove(&broker);
        }
        out.push(Command::CancelTimer(SenderTimer::RequestTimeout(
            broker,
            request.key(),
        )));
        match (request, msg) {
            (InFlight::Metadata, Msg::MetadataResponse(response)) => {
                if self.metadata.on_response(&response) {
                    self.arm(SenderTimer::MetadataBackoff, out);
                }
            }
            (InFlight::Metadata, _) => self.metadata_lost(out),
            (InFlight::Produce(batches), Msg::ProduceResponse(response)) => {
                self.on_produce_response(batches, &response, out);
            }
            (InFlight::Produce(batches), other) => {
                let code = match other {
                    Msg::ErrorResponse(code) => code,
                    _ => ErrorCode::InvalidRequest,
                };
                let error = DeliveryError::from_code(code)
                    .unwrap_or(DeliveryError::Broker(ErrorCode::UnknownServerError));
                for batch in batches {
                    self.attempt_failed(batch, error, out);
                }
            }
        }
    }

    fn on_produce_response(
        &mut self,
        batches: Vec<ProducerBatch>,
        response: &ProduceResponse,
        out: &mut Vec<SenderCommand>,
    ) {
        for batch in batches {
            let tp = wire(batch.topic_partition());
            let answer = response.partitions.iter().find(|p| p.tp == tp);
            let Some(answer) = answer else {
                let missing = DeliveryError::Broker(ErrorCode::UnknownServerError);
                self.attempt_failed(batch, missing, out);
                continue;
            };
            match DeliveryError::from_code(answer.error) {
                None => {
                    let result = BatchResult::Acknowledged {
                        base_offset: answer.base_offset,
                        log_append_time_ms: None,
                    };
                    self.complete(batch, result, out);
                }
                Some(error) => self.attempt_failed(batch, error, out),
            }
        }
    }

    /// Fails every request in flight to `broker`; the one `timed_out` names failed by its
    /// request timeout, the rest by the reset that follows it.
    fn connection_lost(
        &mut self,
        broker: BrokerId,
        timed_out: Option<RequestKey>,
        out: &mut Vec<SenderCommand>,
    ) {
        let requests = self.in_flight.remove(&broker).unwrap_or_default();
        self.metadata.invalidate();
        for request in requests {
            let key = request.key();
            let error = if timed_out.as_ref() == Some(&key) {
                DeliveryError::RequestTimedOut
            } else {
                DeliveryError::ConnectionReset
            };
            out.push(Command::CancelTimer(SenderTimer::RequestTimeout(
                broker, key,
            )));
            match request {
                InFlight::Metadata => self.metadata_lost(out),
                InFlight::Produce(batches) => {
                    for batch in batches {
                        self.attempt_failed(batch, error, out);
                    }
                }
            }
        }
    }

    fn metadata_lost(&mut self, out: &mut Vec<SenderCommand>) {
        self.metadata.on_request_lost();
        self.arm(SenderTimer::MetadataBackoff, out);
    }

    /// One attempt of `batch` ended with `error`: retry it or fail it.
    fn attempt_failed(
        &mut self,
        mut batch: ProducerBatch,
        error: DeliveryError,
        out: &mut Vec<SenderCommand>,
    ) {
        batch.record_failed_attempt(error);
        if stale_leader(error) {
            self.metadata.invalidate();
        }
        let name = (batch.topic_partition().clone(), batch.first_send());
        match self.verdict(&batch, error) {
            Verdict::Retry if !self.expired.contains(&name) => self.retry(batch, out),
            Verdict::Retry | Verdict::Fail => self.fail(batch, error, out),
        }
    }

    fn verdict(&self, batch: &ProducerBatch, error: DeliveryError) -> Verdict {
        // `retries` counts retries, as Kafka's `attempts < retries`; the default (the
        // largest value) leaves `delivery.timeout.ms` the only bound.
        if self.config.acks == Acks::None || batch.retried() >= self.config.retries {
            return Verdict::Fail;
        }
        if sequence_error(error) {
            let earlier_unresolved = batch
                .base_sequence()
                .is_some_and(|sequence| self.unresolved_before(batch.topic_partition(), sequence));
            return if self.bump_pending || earlier_unresolved {
                Verdict::Retry
            } else {
                Verdict::Fail
            };
        }
        if retriable(error) {
            Verdict::Retry
        } else {
            Verdict::Fail
        }
    }

    /// Whether a batch of `tp` with a lower sequence is queued for a retry or in flight.
    fn unresolved_before(&self, tp: &TopicPartition, sequence: i32) -> bool {
        let in_flight = self
            .in_flight
            .values()
            .flatten()
            .any(|request| match request {
                InFlight::Produce(batches) => batches.iter().any(|b| {
                    b.topic_partition() == tp && b.base_sequence().is_some_and(|s| s < sequence)
                }),
                InFlight::Metadata => false,
            });
        in_flight || self.accumulator.has_retry_before(tp, sequence)
    }

    /// Puts `batch` back for another attempt after `retry.backoff.ms`. Its sequence stays,
    /// unless the `reassign_sequence_on_retry` bug is on: its one decision is here.
    fn retry(&mut self, mut batch: ProducerBatch, out: &mut Vec<SenderCommand>) {
        if self.config.bugs.on(Bug::ReassignSequenceOnRetry) {
            self.accumulator
                .reassign_sequence(&mut batch)
                .expect("sealed batches decode: the producer encoded them");
        }
        let timer = self.accumulator.reenqueue(batch);
        self.arm(SenderTimer::Accumulator(timer), out);
    }

    /// Fails `batch` for good; a batch that consumed a sequence leaves a hole, so the
    /// producer needs a new epoch.
    fn fail(&mut self, batch: ProducerBatch, error: DeliveryError, out: &mut Vec<SenderCommand>) {
        if batch.base_sequence().is_some() {
            self.bump_pending = true;
        }
        self.complete(batch, BatchResult::Failed(error), out);
    }

    fn complete(
        &mut self,
        batch: ProducerBatch,
        result: BatchResult,
        out: &mut Vec<SenderCommand>,
    ) {
        let name = (batch.topic_partition().clone(), batch.first_send());
        self.expired.remove(&name);
        out.push(Command::CancelTimer(SenderTimer::DeliveryTimeout(
            name.0, name.1,
        )));
        let completion = self.accumulator.complete(batch, result);
        out.extend(completion.outcomes.into_iter().map(Command::Event));
        self.on_admissions(completion.admitted, out);
    }

    /// Sends whatever may go now: a producer id request, a metadata request, produce
    /// requests.
    fn drive(&mut self, out: &mut Vec<SenderCommand>) {
        self.drive_producer_id(out);
        let may_produce =
            !self.config.enable_idempotence || (self.producer.is_some() && !self.bump_pending);
        if may_produce {
            self.drain(out);
        }
        if let Some(broker) = self.metadata.request() {
            self.push_request(broker, Msg::MetadataRequest, InFlight::Metadata, out);
        }
    }

    fn drive_producer_id(&mut self, out: &mut Vec<SenderCommand>) {
        let producing = self
            .in_flight
            .values()
            .flatten()
            .any(|r| r != &InFlight::Metadata);
        let wanted = self.producer.is_none() || (self.bump_pending && !producing);
        if self.config.enable_idempotence && wanted && self.init == InitState::Idle {
            let msg = Msg::InitProducerIdRequest;
            out.push(Command::Send {
                to: Destination::Controller,
                msg,
            });
            self.arm(SenderTimer::InitProducerIdTimeout, out);
            self.init = InitState::InFlight;
        }
    }

    /// Drains ready partitions, grouped by their leader.
    fn drain(&mut self, out: &mut Vec<SenderCommand>) {
        let mut brokers = BTreeSet::new();
        for tp in self.accumulator.ready() {
            match self.metadata.leader(&wire(&tp)) {
                Some((broker, _)) => {
                    brokers.insert(broker);
                }
                None => self.metadata.invalidate(),
            }
        }
        for broker in brokers {
            self.drain_broker(broker, out);
        }
    }

    /// Whether a batch of `tp` is in flight to any broker.
    fn in_flight_partition(&self, tp: &TopicPartition) -> bool {
        (self.in_flight.values().flatten()).any(|request| match request {
            InFlight::Produce(batches) => batches.iter().any(|b| b.topic_partition() == tp),
            InFlight::Metadata => false,
        })
    }

    /// Sends ProduceRequests to `broker` while it has room and a ready partition. With one
    /// request in flight per connection the producer guarantees send order, as Kafka's
    /// `guaranteeMessageOrder` does: a partition with a batch in flight anywhere is muted,
    /// so after a leader change its next batch cannot overtake a retry of the one before.
    fn drain_broker(&mut self, broker: BrokerId, out: &mut Vec<SenderCommand>) {
        let in_flight_max = self.config.max_in_flight_requests_per_connection as usize;
        let ordered = in_flight_max == 1;
        while self.in_flight_requests(broker) < in_flight_max {
            let leads = |tp: &TopicPartition| {
                let muted = ordered && self.in_flight_partition(tp);
                !muted && self.metadata.leader(&wire(tp)).map(|(leader, _)| leader) == Some(broker)
            };
            let mut partitions: Vec<TopicPartition> =
                self.accumulator.ready().into_iter().filter(leads).collect();
            if partitions.is_empty() {
                return;
            }
            let piggyback: Vec<TopicPartition> = self
                .accumulator
                .queued_partitions()
                .into_iter()
                .filter(|tp| leads(tp) && !partitions.contains(tp))
                .collect();
            partitions.extend(piggyback);
            let max_request_size = self.config.max_request_size;
            let drained = match self
                .accumulator
                .drain(&partitions, max_request_size, self.producer)
            {
                Ok(drained) if !drained.is_empty() => drained,
                // An encoding failure leaves the batches queued; their delivery timeout
                // completes them.
                _ => return,
            };
            let batches: Vec<ProducerBatch> = drained.into_iter().map(|(_, b)| b).collect();
            self.send_produce(broker, batches, out);
        }
    }

    fn send_produce(
        &mut self,
        broker: BrokerId,
        batches: Vec<ProducerBatch>,
        out: &mut Vec<SenderCommand>,
    ) {
        let partitions = batches
            .iter()
            .map(|batch| PartitionProduce {
                tp: wire(batch.topic_partition()),
                records: batch.encoded().expect("drained batches are sealed").clone(),
            })
            .collect();
        let msg = Msg::ProduceRequest(ProduceRequest {
            acks: self.wire_acks(),
            timeout_ms: u32::try_from(self.config.request_timeout_ms).unwrap_or(u32::MAX),
            partitions,
        });
        if self.config.acks == Acks::None {
            // No answer comes: acks=0 completes at send with offset -1.
            out.push(Command::Send {
                to: Destination::Broker(broker),
                msg,
            });
            for batch in batches {
                let result = BatchResult::Acknowledged {
                    base_offset: -1,
                    log_append_time_ms: None,
                };
                self.complete(batch, result, out);
            }
            return;
        }
        self.push_request(broker, msg, InFlight::Produce(batches), out);
    }

    fn push_request(
        &mut self,
        broker: BrokerId,
        msg: Msg,
        request: InFlight,
        out: &mut Vec<SenderCommand>,
    ) {
        out.push(Command::Send {
            to: Destination::Broker(broker),
            msg,
        });
        self.arm(SenderTimer::RequestTimeout(broker, request.key()), out);
        self.in_flight.entry(broker).or_default().push_back(request);
    }
}

/// A send the accumulator refused never reached a batch: a definite failure.
fn refused(error: AppendError, out: &mut Vec<SenderCommand>) {
    let (send, error) = match error {
        AppendError::RecordTooLarge { send, .. } => (send, DeliveryError::RecordTooLarge),
        AppendError::BufferExhausted { send, .. } => (send, DeliveryError::BufferExhausted),
        AppendError::Record { send, .. } => (send, DeliveryError::InvalidRecord),
    };
    out.push(Command::Event((send, SendOutcome::DefinitelyFailed(error))));
}
