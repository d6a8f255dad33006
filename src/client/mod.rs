//! A typed test client: a small node that sends raw requests and records a Jepsen-style
//! history, until the real producer and consumer exist.
//!
//! It writes the unique values 1..=`writes_max` to one partition, one request at a time,
//! as an idempotent producer (one record per batch, sequence = batch count so far). A send
//! is retried with the same sequence until it is acked or definitely refused, so a retry
//! is deduplicated, never duplicated. Then, at `final_read_at_ms`, it reads the partition
//! from offset 0 to the high watermark and records the final read. Every invoke and
//! completion goes to the observation log; `acked` keeps the acks for the explorer.
//!
//! A script adds raw requests, each sent once at a fixed time whatever the client is
//! doing: how tests deliver malformed, stale or unexpected requests. Their answers reach
//! only the trace; the client ignores them.

use std::collections::BTreeMap;

use bytes::Bytes;
use odradek_invariants::{
    Completion, HistoryEvent, Observation, Operation, ReadRecord, SendOutcome,
};
use odradek_sim::{Ctx, Node, NodeId, Peer};
use serde::{Deserialize, Serialize};

use crate::protocol::{
    broker_node, ErrorCode, FetchRequest, FetchResponse, Msg, PartitionProduce, ProduceRequest,
    ProduceResponse, TopicPartition, CLIENT,
};
use crate::record::{BatchBuilder, BatchOptions, RecordBatch};

type KCtx<'a> = Ctx<'a, Client>;

/// The produce timeout a client without a request timeout asks for: the longest the
/// protocol field holds.
const PRODUCE_TIMEOUT_MS_MAX: u32 = i32::MAX as u32;

/// How the client runs.
#[derive(Debug, Clone, PartialEq, Eq, Hash)]
pub struct ClientConfig {
    /// Brokers to ask for metadata, in turn.
    pub brokers: Vec<NodeId>,
    /// The controller, which hands out producer ids.
    pub controller: NodeId,
    /// The partition written.
    pub tp: TopicPartition,
    /// Values written at most.
    pub writes_max: u64,
    /// The acks setting.
    pub acks: i16,
    /// A request unanswered this long is given up and its connection reset. `None` waits
    /// for the answer or a reset: the explorer fires any armed timer at any moment, so a
    /// timeout there branches every request into a retry; its models send once.
    pub request_timeout_ms: Option<u64>,
    /// The pause before a retry.
    pub retry_backoff_ms: u64,
    /// When to stop writing and read the partition back; never if `None`.
    pub final_read_at_ms: Option<u64>,
    /// Raw requests to send once each.
    pub script: Vec<Scripted>,
}

/// A raw request the client sends once, at a fixed time.
#[derive(Debug, Clone, PartialEq, Eq, Hash)]
pub struct Scripted {
    /// When, on the client's clock.
    pub at_ms: u64,
    /// The server (node and channel) it goes to.
    pub to: Peer,
    /// The request.
    pub msg: Msg,
}

/// The client's timers.
#[derive(Debug, Clone, PartialEq, Eq, Hash, PartialOrd, Ord, Serialize, Deserialize)]
pub enum ClientTimer {
    /// Send the next request.
    Send,
    /// The request in flight went unanswered.
    RequestTimeout,
    /// Stop writing and read every partition back.
    FinalRead,
    /// Send the raw requests scripted for this time (ms).
    Script(u64),
}

/// The one request in flight.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
enum Pending {
    InitProducerId,
    Metadata(NodeId),
    Produce(NodeId),
    Fetch(NodeId),
}

/// What the client is doing.
#[derive(Debug, Clone, PartialEq, Eq, Hash)]
enum Phase {
    Writing,
    Reading {
        offset: i64,
        records: Vec<ReadRecord>,
    },
    Done,
}

/// The typed test client. See the module docs.
#[derive(Debug, Clone, PartialEq, Eq, Hash)]
pub struct Client {
    config: ClientConfig,
    leader: Option<NodeId>,
    /// Which broker the next metadata request goes to (an index into `brokers`).
    probe: usize,
    producer: Option<(i64, i16)>,
    sequence: i32,
    /// The value being sent.
    value: u64,
    /// Its invoke was recorded.
    op_open: bool,
    /// An earlier attempt of it may have been appended.
    unknown: bool,
    pending: Option<Pending>,
    acked: BTreeMap<u64, i64>,
    phase: Phase,
}

impl Node for Client {
    type Msg = Msg;
    type Timer = ClientTimer;
    type Obs = Observation;
    type Config = ClientConfig;

    /// A fresh client.
    fn new(_me: NodeId, config: &ClientConfig) -> Self {
        Self {
            config: config.clone(),
            leader: None,
            probe: 0,
            producer: None,
            sequence: 0,
            value: 1,
            op_open: false,
            unknown: false,
            pending: None,
            acked: BTreeMap::new(),
            phase: Phase::Writing,
        }
    }

    /// Starts writing; arms the final read.
    fn on_start(&mut self, ctx: &mut KCtx<'_>) {
        if let Some(at_ms) = self.config.final_read_at_ms {
            ctx.set_timer(ClientTimer::FinalRead, at_ms);
        }
        for scripted in &self.config.script {
            ctx.set_timer(ClientTimer::Script(scripted.at_ms), scripted.at_ms);
        }
        self.drive(ctx);
    }

    /// Handles a response.
    fn on_message(&mut self, ctx: &mut KCtx<'_>, from: Peer, msg: Msg) {
        let Some(pending) = self.pending.filter(|&p| self.peer_of(p) == from) else {
            return;
        };
        self.pending = None;
        ctx.cancel_timer(ClientTimer::RequestTimeout);
        match (pending, msg) {
            (
                Pending::InitProducerId,
                Msg::InitProducerIdResponse {
                    error: ErrorCode::None,
                    producer_id,
                    producer_epoch,
                },
            ) => {
                self.producer = Some((producer_id, producer_epoch));
                self.sequence = 0;
                self.drive(ctx);
            }
            (Pending::Metadata(_), Msg::MetadataResponse(resp)) => {
                let state = resp.partitions.iter().find(|s| s.tp == self.config.tp);
                self.leader = state.and_then(|s| s.leader).and_then(broker_node);
                if self.leader.is_some() {
                    self.drive(ctx);
                } else {
                    self.retry_later(ctx);
                }
            }
            (Pending::Produce(_), Msg::ProduceResponse(resp)) => {
                self.on_produce_response(ctx, resp)
            }
            (Pending::Fetch(_), Msg::FetchResponse(resp)) => self.on_fetch_response(ctx, resp),
            _ => self.retry_later(ctx),
        }
    }

    /// Handles a timer.
    fn on_timer(&mut self, ctx: &mut KCtx<'_>, timer: ClientTimer) {
        match timer {
            ClientTimer::Send => self.drive(ctx),
            ClientTimer::RequestTimeout => {
                if let Some(pending) = self.pending.take() {
                    let peer = self.peer_of(pending);
                    ctx.disconnect(peer);
                    self.lost(ctx, pending, "request timed out");
                }
            }
            ClientTimer::FinalRead => self.start_final_read(ctx),
            ClientTimer::Script(at_ms) => {
                for scripted in self.config.script.iter().filter(|s| s.at_ms == at_ms) {
                    ctx.send(scripted.to, scripted.msg.clone());
                }
            }
        }
    }

    /// A connection was reset: its request's outcome is unknown.
    fn on_disconnect(&mut self, ctx: &mut KCtx<'_>, peer: Peer) {
        if let Some(pending) = self.pending.filter(|&p| self.peer_of(p) == peer) {
            self.pending = None;
            ctx.cancel_timer(ClientTimer::RequestTimeout);
            self.lost(ctx, pending, "connection reset");
        }
    }
}

impl Client {
    /// Every acked value and its offset.
    pub fn acked(&self) -> &BTreeMap<u64, i64> {
        &self.acked
    }

    /// Whether the final read is done.
    pub fn done(&self) -> bool {
        self.phase == Phase::Done
    }

    fn peer_of(&self, pending: Pending) -> Peer {
        match pending {
            Pending::InitProducerId => Peer::server(self.config.controller, CLIENT),
            Pending::Metadata(n) | Pending::Produce(n) | Pending::Fetch(n) => {
                Peer::server(n, CLIENT)
            }
        }
    }

    fn lost(&mut self, ctx: &mut KCtx<'_>, pending: Pending, _why: &str) {
        if matches!(pending, Pending::Produce(_)) {
            self.unknown = true;
        }
        self.leader = None;
        self.retry_later(ctx);
    }

    fn retry_later(&mut self, ctx: &mut KCtx<'_>) {
        ctx.set_timer(ClientTimer::Send, self.config.retry_backoff_ms);
    }

    /// Sends the next request, if none is in flight.
    fn drive(&mut self, ctx: &mut KCtx<'_>) {
        if self.pending.is_some() {
            return;
        }
        let request = match (&self.phase, self.leader) {
            (Phase::Done, _) => return,
            (Phase::Writing, _) if self.producer.is_none() => {
                (Pending::InitProducerId, Msg::InitProducerIdRequest)
            }
            (_, None) => {
                let broker = self.config.brokers[self.probe % self.config.brokers.len()];
                self.probe = (self.probe + 1) % self.config.brokers.len();
                (Pending::Metadata(broker), Msg::MetadataRequest)
            }
            (Phase::Writing, Some(leader)) => {
                if self.value > self.config.writes_max {
                    return;
                }
                let Some(msg) = self.produce_request(ctx) else {
                    return;
                };
                (Pending::Produce(leader), msg)
            }
            (Phase::Reading { offset, .. }, Some(leader)) => {
                let req = FetchRequest {
                    replica: None,
                    tp: self.config.tp.clone(),
                    fetch_offset: *offset,
                    current_leader_epoch: -1,
                    bytes_max: 64 * 1024,
                    max_wait_ms: 0,
                };
                (Pending::Fetch(leader), Msg::FetchRequest(req))
            }
        };
        let (pending, msg) = request;
        ctx.send(self.peer_of(pending), msg);
        self.pending = Some(pending);
        if let Some(timeout_ms) = self.config.request_timeout_ms {
            ctx.set_timer(ClientTimer::RequestTimeout, timeout_ms);
        }
    }

    fn produce_request(&mut self, ctx: &mut KCtx<'_>) -> Option<Msg> {
        let (producer_id, producer_epoch) = self.producer?;
        let options = BatchOptions {
            producer_id,
            producer_epoch,
            base_sequence: self.sequence,
            ..BatchOptions::default()
        };
        let mut builder = BatchBuilder::new(options);
        let value = Bytes::copy_from_slice(&self.value.to_be_bytes());
        builder
            .append(ctx.wall_clock_ms(), None, Some(value), Vec::new())
            .ok()?;
        let records = builder.build().ok()?.encode().ok()?;
        if !self.op_open {
            self.op_open = true;
            self.record(
                ctx,
                HistoryEvent::Invoke(Operation::Send {
                    value: self.value,
                    partition: self.config.tp.to_ref(),
                    acks: self.config.acks,
                }),
            );
        }
        Some(Msg::ProduceRequest(ProduceRequest {
            acks: self.config.acks,
            timeout_ms: self
                .config
                .request_timeout_ms
                .map_or(PRODUCE_TIMEOUT_MS_MAX, |ms| {
                    u32::try_from(ms).unwrap_or(PRODUCE_TIMEOUT_MS_MAX)
                }),
            partitions: vec![PartitionProduce {
                tp: self.config.tp.clone(),
                records,
            }],
        }))
    }

    fn record(&mut self, ctx: &mut KCtx<'_>, event: HistoryEvent) {
        ctx.observe(Observation::History(event));
    }

    fn complete(&mut self, ctx: &mut KCtx<'_>, outcome: SendOutcome) {
        let value = self.value;
        self.record(ctx, HistoryEvent::Complete(Completion { value, outcome }));
        self.op_open = false;
        self.unknown = false;
        self.value += 1;
    }

    fn on_produce_response(&mut self, ctx: &mut KCtx<'_>, resp: ProduceResponse) {
        let Some(result) = resp.partitions.into_iter().find(|p| p.tp == self.config.tp) else {
            self.retry_later(ctx);
            return;
        };
        if self.phase != Phase::Writing || !self.op_open {
            return;
        }
        match result.error {
            ErrorCode::None => {
                self.acked.insert(self.value, result.base_offset);
                self.sequence += 1;
                self.complete(
                    ctx,
                    SendOutcome::Ok {
                        offset: result.base_offset,
                    },
                );
                self.drive(ctx);
            }
            ErrorCode::NotEnoughReplicas if !self.unknown => {
                // Nothing appended: the sequence is free for the next value.
                self.complete(
                    ctx,
                    SendOutcome::Failed {
                        error: result.error.name().into(),
                    },
                );
                self.retry_later(ctx);
            }
            ErrorCode::OutOfOrderSequenceNumber | ErrorCode::InvalidProducerEpoch => {
                let error = result.error.name().to_string();
                let outcome = if self.unknown {
                    SendOutcome::Indeterminate { reason: error }
                } else {
                    SendOutcome::Failed { error }
                };
                self.complete(ctx, outcome);
                self.producer = None;
                self.retry_later(ctx);
            }
            error => {
                if !error.produce_definitely_failed() {
                    self.unknown = true;
                }
                if error == ErrorCode::NotLeaderOrFollower
                    || error == ErrorCode::UnknownTopicOrPartition
                {
                    self.leader = None;
                }
                self.retry_later(ctx);
            }
        }
    }

    fn start_final_read(&mut self, ctx: &mut KCtx<'_>) {
        if self.op_open {
            let reason = "run ended".to_string();
            self.complete(ctx, SendOutcome::Indeterminate { reason });
        }
        self.phase = Phase::Reading {
            offset: 0,
            records: Vec::new(),
        };
        if let Some(pending) = self.pending.take() {
            ctx.disconnect(self.peer_of(pending));
            ctx.cancel_timer(ClientTimer::RequestTimeout);
        }
        self.drive(ctx);
    }

    fn on_fetch_response(&mut self, ctx: &mut KCtx<'_>, resp: FetchResponse) {
        let Phase::Reading { offset, records } = &mut self.phase else {
            return;
        };
        if resp.error != ErrorCode::None || resp.fetch_offset != *offset {
            self.leader = None;
            self.retry_later(ctx);
            return;
        }
        let mut bytes = &resp.records[..];
        while !bytes.is_empty() {
            let Ok((batch, used)) = RecordBatch::decode(bytes) else {
                break;
            };
            for record in &batch.records {
                let at = batch.record_offset(record);
                if at < *offset {
                    continue;
                }
                let value = record
                    .value
                    .as_ref()
                    .and_then(|v| <[u8; 8]>::try_from(&v[..]).ok());
                records.push(ReadRecord {
                    offset: at,
                    value: value.map_or(0, u64::from_be_bytes),
                });
                *offset = at + 1;
            }
            bytes = &bytes[used..];
        }
        if resp.records.is_empty() && *offset >= resp.high_watermark {
            let event = HistoryEvent::FinalRead {
                partition: self.config.tp.to_ref(),
                records: std::mem::take(records),
                high_watermark: resp.high_watermark,
            };
            self.phase = Phase::Done;
            self.record(ctx, event);
        } else {
            self.drive(ctx);
        }
    }
}
