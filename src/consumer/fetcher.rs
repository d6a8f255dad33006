//! The consumer state machine: positions, fetches, resets and the poll buffer.
//!
//! Positions are validated after a leader change (KIP-320): a position remembers the
//! leader epoch of the last record read, and once metadata names a newer leader epoch the
//! consumer asks the new leader (OffsetsForLeaderEpoch) where that epoch ends before it
//! fetches again. An end below the position means the log was truncated under it: the
//! position moves back to that end and a reset records it, as Kafka's consumer does with a
//! reset policy set; an epoch the leader cannot place resets by `auto.offset.reset`.
//!
//! One request per partition is in flight at a time, and a partition is fetched again only
//! once its buffered records were polled, so the buffer holds at most one fetch per
//! partition. A leader may hold a fetch until it has data, so answers on one connection
//! can leave out of request order: each answer is matched to the request of its kind and
//! partition (an answer of no known kind to the oldest request) and checked against the
//! offset it echoes; an answer for a position that moved on (a reset, a reassignment) is
//! dropped.

use std::collections::{BTreeMap, VecDeque};
use std::convert::Infallible;

use bytes::Bytes;

use crate::command::{Command, Destination};
use crate::metadata::Metadata;
use crate::protocol::{
    BrokerId, ErrorCode, FetchRequest, FetchResponse, ListOffsetsRequest, ListOffsetsResponse, Msg,
    OffsetSpec, OffsetsForLeaderEpochRequest, OffsetsForLeaderEpochResponse, TopicPartition,
};
use crate::record::RecordBatch;

use super::config::{ConsumerConfig, OffsetReset};

/// What the consumer asks its node to do. It reports nothing as events: records and
/// resets come out of [`Consumer::poll`].
pub type ConsumerCommand = Command<ConsumerTimer, Infallible>;

/// A consumer request in flight, named by what it is about.
#[derive(
    Debug, Clone, PartialEq, Eq, Hash, PartialOrd, Ord, serde::Serialize, serde::Deserialize,
)]
pub enum ConsumerRequestKey {
    /// A fetch of the partition (one at a time per partition).
    Fetch(TopicPartition),
    /// A ListOffsets for the partition's reset.
    ListOffsets(TopicPartition),
    /// An OffsetsForLeaderEpoch validating the partition's position after a leader change.
    Validate(TopicPartition),
    /// A Metadata request.
    Metadata,
}

/// The consumer's timers.
#[derive(
    Debug, Clone, PartialEq, Eq, Hash, PartialOrd, Ord, serde::Serialize, serde::Deserialize,
)]
pub enum ConsumerTimer {
    /// `request.timeout.ms` of a request to a broker.
    RequestTimeout(BrokerId, ConsumerRequestKey),
    /// The pause before the partition's next request.
    Backoff(TopicPartition),
    /// `retry.backoff.ms` before the next metadata refresh.
    MetadataBackoff,
}

/// One record as `poll` hands it out.
#[derive(Debug, Clone, PartialEq, Eq, Hash)]
pub struct ConsumerRecord {
    /// Its partition.
    pub tp: TopicPartition,
    /// Its offset.
    pub offset: i64,
    /// Its timestamp.
    pub timestamp: i64,
    /// Its key.
    pub key: Option<Bytes>,
    /// Its value.
    pub value: Option<Bytes>,
}

/// What `poll` returns, per partition in the order it happened. The consumer application
/// node that embeds the consumer records them as the history's `Poll` and `Reset` entries.
#[derive(Debug, Clone, PartialEq, Eq, Hash)]
pub enum PollEvent {
    /// The next record of its partition.
    Record(ConsumerRecord),
    /// The position `from` was out of range and `auto.offset.reset` moved it to `to`: the
    /// records between were skipped (or will be read again) on purpose.
    Reset {
        /// The partition.
        tp: TopicPartition,
        /// The position the broker refused.
        from: i64,
        /// The position after the reset.
        to: i64,
    },
}

/// What a poll gave, and the requests it freed the consumer to send.
#[derive(Debug, Clone, PartialEq, Eq, Hash)]
pub struct Polled {
    /// Records and resets, in offset order per partition.
    pub events: Vec<PollEvent>,
    /// Commands to carry out.
    pub commands: Vec<ConsumerCommand>,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
enum Position {
    /// No valid position: ask ListOffsets as `auto.offset.reset` says. `from` is the
    /// refused position, `None` for a fresh assignment (no reset to report).
    Resetting { from: Option<i64> },
    /// The next offset to read.
    At(i64),
}

#[derive(Debug, Clone, PartialEq, Eq, Hash)]
struct PartitionState {
    position: Position,
    /// The leader epoch of the last record read, or the one a ListOffsets answered with
    /// (Kafka's offset epoch); `None` when neither says.
    offset_epoch: Option<i32>,
    /// The leader epoch under which the position is known valid; a newer one in the
    /// metadata asks for validation before the next fetch.
    valid_in: Option<i32>,
    /// A request for it is in flight.
    busy: bool,
    /// Waiting out a backoff timer.
    backing_off: bool,
    /// Fetched, not yet polled.
    buffered: VecDeque<PollEvent>,
}

#[derive(Debug, Clone, PartialEq, Eq, Hash)]
enum InFlight {
    Fetch { tp: TopicPartition, offset: i64 },
    ListOffsets(TopicPartition),
    Validate { tp: TopicPartition, offset: i64 },
    Metadata,
}

impl InFlight {
    fn key(&self) -> ConsumerRequestKey {
        match self {
            InFlight::Fetch { tp, .. } => ConsumerRequestKey::Fetch(tp.clone()),
            InFlight::ListOffsets(tp) => ConsumerRequestKey::ListOffsets(tp.clone()),
            InFlight::Validate { tp, .. } => ConsumerRequestKey::Validate(tp.clone()),
            InFlight::Metadata => ConsumerRequestKey::Metadata,
        }
    }
}

/// A partition's answer, reduced to what the consumer does next.
enum Next {
    /// Fetch again at once.
    Now,
    /// Wait `delay_ms` first.
    After(u64),
}

/// The consumer. See the module docs.
#[derive(Debug, Clone, PartialEq, Eq, Hash)]
pub struct Consumer {
    config: ConsumerConfig,
    metadata: Metadata,
    partitions: BTreeMap<TopicPartition, PartitionState>,
    in_flight: BTreeMap<BrokerId, VecDeque<InFlight>>,
}

/// Errors that say the cached leader (or its epoch) is wrong.
fn stale_leader(error: ErrorCode) -> bool {
    matches!(
        error,
        ErrorCode::NotLeaderOrFollower
            | ErrorCode::FencedLeaderEpoch
            | ErrorCode::UnknownLeaderEpoch
            | ErrorCode::UnknownTopicOrPartition
            | ErrorCode::LeaderNotAvailable
    )
}

impl Consumer {
    /// A consumer with no partitions, asking the `bootstrap` brokers (non-empty) for
    /// metadata in turn.
    pub fn new(config: ConsumerConfig, bootstrap: Vec<BrokerId>) -> Consumer {
        Consumer {
            config,
            metadata: Metadata::new(bootstrap),
            partitions: BTreeMap::new(),
            in_flight: BTreeMap::new(),
        }
    }

    /// The position of `tp`: the next offset to read, `None` while it resets.
    pub fn position(&self, tp: &TopicPartition) -> Option<i64> {
        match self.partitions.get(tp)?.position {
            Position::At(offset) => Some(offset),
            Position::Resetting { .. } => None,
        }
    }

    /// The assigned partitions.
    pub fn assignment(&self) -> Vec<TopicPartition> {
        self.partitions.keys().cloned().collect()
    }

    /// The metadata cache.
    pub fn metadata(&self) -> &Metadata {
        &self.metadata
    }

    /// Assigns exactly `partitions`: new ones start by `auto.offset.reset`, kept ones keep
    /// their position and buffer, dropped ones are forgotten (late answers are ignored).
    pub fn assign(&mut self, partitions: &[TopicPartition]) -> Vec<ConsumerCommand> {
        self.partitions.retain(|tp, _| partitions.contains(tp));
        for tp in partitions {
            self.partitions
                .entry(tp.clone())
                .or_insert_with(|| PartitionState {
                    position: Position::Resetting { from: None },
                    offset_epoch: None,
                    valid_in: None,
                    busy: false,
                    backing_off: false,
                    buffered: VecDeque::new(),
                });
        }
        let mut out = Vec::new();
        self.drive(&mut out);
        out
    }

    /// Up to `records_max` buffered events (records, and resets, which do not count), in
    /// offset order per partition, partitions in order.
    pub fn poll(&mut self, records_max: usize) -> Polled {
        let mut events = Vec::new();
        let mut records = 0;
        for state in self.partitions.values_mut() {
            while let Some(event) = state.buffered.front() {
                let is_record = matches!(event, PollEvent::Record(_));
                if is_record && records == records_max {
                    break;
                }
                records += usize::from(is_record);
                events.extend(state.buffered.pop_front());
            }
        }
        let mut commands = Vec::new();
        self.drive(&mut commands);
        Polled { events, commands }
    }

    /// An answer from `from`.
    pub fn handle_response(&mut self, from: Destination, msg: Msg) -> Vec<ConsumerCommand> {
        let mut out = Vec::new();
        let Destination::Broker(broker) = from else {
            return out;
        };
        let Some(queue) = self.in_flight.get_mut(&broker) else {
            return out;
        };
        let key = match &msg {
            Msg::FetchResponse(r) => Some(ConsumerRequestKey::Fetch(r.tp.clone())),
            Msg::ListOffsetsResponse(r) => Some(ConsumerRequestKey::ListOffsets(r.tp.clone())),
            Msg::MetadataResponse(_) => Some(ConsumerRequestKey::Metadata),
            Msg::OffsetsForLeaderEpochResponse(r) => {
                Some(ConsumerRequestKey::Validate(r.tp.clone()))
            }
            _ => None,
        };
        let index = key.and_then(|key| queue.iter().position(|r| r.key() == key));
        let request = (queue.remove(index.unwrap_or(0))).expect("queues in the map are non-empty");
        if queue.is_empty() {
            self.in_flight.remove(&broker);
        }
        let key = request.key();
        out.push(Command::CancelTimer(ConsumerTimer::RequestTimeout(
            broker, key,
        )));
        match (request, msg) {
            (InFlight::Metadata, Msg::MetadataResponse(response)) => {
                if self.metadata.on_response(&response) {
                    out.push(self.timer(ConsumerTimer::MetadataBackoff));
                }
            }
            (InFlight::Fetch { tp, offset }, Msg::FetchResponse(response))
                if response.tp == tp && response.fetch_offset == offset =>
            {
                self.on_fetch_response(&tp, offset, &response, &mut out);
            }
            (InFlight::ListOffsets(tp), Msg::ListOffsetsResponse(response))
                if response.tp == tp =>
            {
                self.on_list_offsets_response(&tp, &response, &mut out);
            }
            (InFlight::Validate { tp, offset }, Msg::OffsetsForLeaderEpochResponse(response))
                if response.tp == tp =>
            {
                self.on_validate_response(&tp, offset, &response, &mut out);
            }
            (request, _) => self.request_lost(request, &mut out),
        }
        self.drive(&mut out);
        out
    }

    /// `timer` fired.
    pub fn handle_timer(&mut self, timer: ConsumerTimer) -> Vec<ConsumerCommand> {
        let mut out = Vec::new();
        match timer {
            ConsumerTimer::RequestTimeout(broker, key) => {
                let waiting = self.in_flight.get(&broker).into_iter().flatten();
                if waiting.map(InFlight::key).any(|k| k == key) {
                    out.push(Command::Disconnect(Destination::Broker(broker)));
                    self.connection_lost(broker, &mut out);
                }
            }
            ConsumerTimer::Backoff(tp) => {
                if let Some(state) = self.partitions.get_mut(&tp) {
                    state.backing_off = false;
                }
            }
            ConsumerTimer::MetadataBackoff => self.metadata.on_backoff_expired(),
        }
        self.drive(&mut out);
        out
    }

    /// The connection to `peer` was reset: its requests are lost and sent again.
    pub fn handle_disconnect(&mut self, peer: Destination) -> Vec<ConsumerCommand> {
        let mut out = Vec::new();
        if let Destination::Broker(broker) = peer {
            self.connection_lost(broker, &mut out);
        }
        self.drive(&mut out);
        out
    }

    fn timer(&self, timer: ConsumerTimer) -> ConsumerCommand {
        let delay_ms = match &timer {
            ConsumerTimer::RequestTimeout(..) => self.config.request_timeout_ms,
            ConsumerTimer::Backoff(_) | ConsumerTimer::MetadataBackoff => {
                self.config.retry_backoff_ms
            }
        };
        Command::SetTimer { timer, delay_ms }
    }

    fn connection_lost(&mut self, broker: BrokerId, out: &mut Vec<ConsumerCommand>) {
        self.metadata.invalidate();
        for request in self.in_flight.remove(&broker).unwrap_or_default() {
            let key = request.key();
            out.push(Command::CancelTimer(ConsumerTimer::RequestTimeout(
                broker, key,
            )));
            self.request_lost(request, out);
        }
    }

    /// A request ended without a usable answer: back off and ask again.
    fn request_lost(&mut self, request: InFlight, out: &mut Vec<ConsumerCommand>) {
        match request {
            InFlight::Metadata => {
                self.metadata.on_request_lost();
                out.push(self.timer(ConsumerTimer::MetadataBackoff));
            }
            InFlight::Fetch { tp, .. }
            | InFlight::ListOffsets(tp)
            | InFlight::Validate { tp, .. } => {
                let delay_ms = self.config.retry_backoff_ms;
                self.settle(&tp, Next::After(delay_ms), out);
            }
        }
    }

    /// Marks `tp`'s request done and arms its backoff if `next` says so.
    fn settle(&mut self, tp: &TopicPartition, next: Next, out: &mut Vec<ConsumerCommand>) {
        let Some(state) = self.partitions.get_mut(tp) else {
            return;
        };
        state.busy = false;
        if let Next::After(delay_ms) = next {
            state.backing_off = true;
            let timer = ConsumerTimer::Backoff(tp.clone());
            out.push(Command::SetTimer { timer, delay_ms });
        }
    }

    fn on_fetch_response(
        &mut self,
        tp: &TopicPartition,
        offset: i64,
        response: &FetchResponse,
        out: &mut Vec<ConsumerCommand>,
    ) {
        let current = self.partitions.get(tp).map(|state| state.position);
        if current != Some(Position::At(offset)) {
            // Reassigned or reset since: the answer is for a position no longer held.
            self.settle(tp, Next::Now, out);
            return;
        }
        let next = match response.error {
            ErrorCode::None => {
                // An empty answer: the leader held the fetch for its whole wait.
                self.take_records(tp, offset, response);
                Next::Now
            }
            ErrorCode::OffsetOutOfRange => {
                let state = self.partitions.get_mut(tp).expect("checked above");
                state.position = Position::Resetting { from: Some(offset) };
                Next::Now
            }
            error => self.refused(error),
        };
        self.settle(tp, next, out);
    }

    /// Buffers the records of `response` from `offset` on and below its high watermark,
    /// in offset order, and advances the position.
    fn take_records(&mut self, tp: &TopicPartition, offset: i64, response: &FetchResponse) {
        let state = self
            .partitions
            .get_mut(tp)
            .expect("callers checked the partition");
        let mut position = offset;
        let mut bytes = &response.records[..];
        'batches: while !bytes.is_empty() {
            // A malformed tail is not read; the next fetch starts at the position reached.
            let Ok((batch, used)) = RecordBatch::decode(bytes) else {
                break;
            };
            bytes = &bytes[used..];
            let mut took = false;
            for record in &batch.records {
                let at = batch.record_offset(record);
                if at >= response.high_watermark {
                    // Never past the high watermark, whatever the broker sent.
                    break 'batches;
                }
                if at < position {
                    continue;
                }
                state.buffered.push_back(PollEvent::Record(ConsumerRecord {
                    tp: tp.clone(),
                    offset: at,
                    timestamp: batch.record_timestamp(record),
                    key: record.key.clone(),
                    value: record.value.clone(),
                }));
                position = at + 1;
                took = true;
            }
            if took && batch.partition_leader_epoch >= 0 {
                state.offset_epoch = Some(batch.partition_leader_epoch);
            }
        }
        state.position = Position::At(position);
    }

    fn on_list_offsets_response(
        &mut self,
        tp: &TopicPartition,
        response: &ListOffsetsResponse,
        out: &mut Vec<ConsumerCommand>,
    ) {
        let Some(state) = self.partitions.get_mut(tp) else {
            return;
        };
        let Position::Resetting { from } = state.position else {
            self.settle(tp, Next::Now, out);
            return;
        };
        let next = match response.error {
            ErrorCode::None if response.offset >= 0 => {
                let to = response.offset;
                state.position = Position::At(to);
                let epoch = (response.leader_epoch >= 0).then_some(response.leader_epoch);
                state.offset_epoch = epoch;
                state.valid_in = epoch;
                if let Some(from) = from {
                    let reset = PollEvent::Reset {
                        tp: tp.clone(),
                        from,
                        to,
                    };
                    state.buffered.push_back(reset);
                }
                Next::Now
            }
            // OFFSET_NOT_AVAILABLE: a new leader before its epoch start commits (KIP-207);
            // wait and ask again.
            error => self.refused(error),
        };
        self.settle(tp, next, out);
    }

    /// The new leader's answer to where the position's epoch ends (KIP-320).
    fn on_validate_response(
        &mut self,
        tp: &TopicPartition,
        offset: i64,
        response: &OffsetsForLeaderEpochResponse,
        out: &mut Vec<ConsumerCommand>,
    ) {
        let Some(state) = self.partitions.get_mut(tp) else {
            return;
        };
        if state.position != Position::At(offset) {
            self.settle(tp, Next::Now, out);
            return;
        }
        let next = match response.error {
            ErrorCode::None if response.end_offset < 0 || response.leader_epoch < 0 => {
                // The leader cannot place the epoch: where the log diverged is unknown.
                state.position = Position::Resetting { from: Some(offset) };
                state.offset_epoch = None;
                Next::Now
            }
            ErrorCode::None => {
                if response.end_offset < offset {
                    // Truncated under the position: read on from where the logs agree.
                    let to = response.end_offset;
                    state.position = Position::At(to);
                    state.offset_epoch = Some(response.leader_epoch);
                    let reset = PollEvent::Reset {
                        tp: tp.clone(),
                        from: offset,
                        to,
                    };
                    state.buffered.push_back(reset);
                }
                state.valid_in = Some(response.current_leader_epoch);
                Next::Now
            }
            error => self.refused(error),
        };
        self.settle(tp, next, out);
    }

    /// A partition's request was refused with `error`: a stale leader sends the consumer
    /// back to the metadata; either way it asks again after a backoff.
    fn refused(&mut self, error: ErrorCode) -> Next {
        if stale_leader(error) {
            self.metadata.invalidate();
        }
        Next::After(self.config.retry_backoff_ms)
    }

    /// Sends a request for every partition that may have one, then metadata if stale.
    fn drive(&mut self, out: &mut Vec<ConsumerCommand>) {
        let mut requests = Vec::new();
        for (tp, state) in &mut self.partitions {
            if state.busy || state.backing_off || !state.buffered.is_empty() {
                continue;
            }
            let Some((leader, leader_epoch)) = self.metadata.leader(tp) else {
                continue;
            };
            if state.offset_epoch.is_none() {
                // Nothing to validate against: the position stands as it is.
                state.valid_in = Some(leader_epoch);
            }
            let (msg, request) = match state.position {
                Position::Resetting { .. } => {
                    let spec = match self.config.auto_offset_reset {
                        OffsetReset::Earliest => OffsetSpec::Earliest,
                        OffsetReset::Latest => OffsetSpec::Latest,
                    };
                    let msg = Msg::ListOffsetsRequest(ListOffsetsRequest {
                        tp: tp.clone(),
                        spec,
                    });
                    (msg, InFlight::ListOffsets(tp.clone()))
                }
                Position::At(offset) if state.valid_in != Some(leader_epoch) => {
                    let msg = Msg::OffsetsForLeaderEpochRequest(OffsetsForLeaderEpochRequest {
                        tp: tp.clone(),
                        current_leader_epoch: leader_epoch,
                        leader_epoch: (state.offset_epoch)
                            .expect("a position without an offset epoch was marked valid"),
                    });
                    (
                        msg,
                        InFlight::Validate {
                            tp: tp.clone(),
                            offset,
                        },
                    )
                }
                Position::At(offset) => {
                    let msg = Msg::FetchRequest(FetchRequest {
                        replica: None,
                        tp: tp.clone(),
                        fetch_offset: offset,
                        current_leader_epoch: leader_epoch,
                        bytes_max: self.config.max_partition_fetch_bytes,
                        max_wait_ms: u32::try_from(self.config.fetch_max_wait_ms)
                            .unwrap_or(u32::MAX),
                    });
                    let request = InFlight::Fetch {
                        tp: tp.clone(),
                        offset,
                    };
                    (msg, request)
                }
            };
            requests.push((leader, msg, request));
        }
        let leaderless = self
            .partitions
            .keys()
            .any(|tp| self.metadata.leader(tp).is_none());
        if leaderless {
            self.metadata.invalidate();
        }
        for (leader, msg, request) in requests {
            if let InFlight::Fetch { tp, .. }
            | InFlight::ListOffsets(tp)
            | InFlight::Validate { tp, .. } = &request
            {
                self.partitions.get_mut(tp).expect("from the map").busy = true;
            }
            self.push_request(leader, msg, request, out);
        }
        if let Some(broker) = self.metadata.request() {
            self.push_request(broker, Msg::MetadataRequest, InFlight::Metadata, out);
        }
    }

    fn push_request(
        &mut self,
        broker: BrokerId,
        msg: Msg,
        request: InFlight,
        out: &mut Vec<ConsumerCommand>,
    ) {
        out.push(Command::Send {
            to: Destination::Broker(broker),
            msg,
        });
        out.push(self.timer(ConsumerTimer::RequestTimeout(broker, request.key())));
        self.in_flight.entry(broker).or_default().push_back(request);
    }
}
