//! The leader's side: produce, serving fetches, the high watermark, ISR changes,
//! ListOffsets and OffsetsForLeaderEpoch.
//!
//! High watermark: the minimum log end offset over the maximal ISR (the ISR plus pending
//! additions; a shrink counts once committed), counting only followers that fetched in
//! this epoch; it never decreases and advances only while the ISR has at least
//! `min.insync.replicas` members (KIP-966).

use odradek_invariants::Observation;
use odradek_sim::Peer;

use super::delayed::{DelayedProduce, Verdict, Waiting};
use super::partition::{LeaderState, Partition, ReplicaView, Role};
use super::producer_state::SequenceCheck;
use super::{halt, Broker, BrokerTimer, Halted, KCtx};
use crate::bugs::Bug;
use crate::log::{LogError, ReadLimits};
use crate::protocol::{
    AlterPartitionRequest, AlterPartitionResponse, BrokerId, ErrorCode, FetchRequest,
    FetchResponse, IsrMember, ListOffsetsRequest, ListOffsetsResponse, Msg, OffsetSpec,
    OffsetsForLeaderEpochRequest, OffsetsForLeaderEpochResponse, PartitionProduce,
    PartitionProduceResponse, PartitionState, ProduceRequest, ProduceResponse, TopicPartition,
    ACKS_ALL,
};
use crate::record::BatchHeader;

/// Fetch responses carry at most this many bytes (the first batch comes whole).
pub(crate) const FETCH_BYTES_MAX: u32 = 64 * 1024;

/// What one partition of a produce came to.
enum Appended {
    /// Answer now.
    Now(PartitionProduceResponse),
    /// Wait for the high watermark to reach `required_offset`.
    Wait(PartitionProduceResponse, i64, i32),
}

impl Broker {
    pub(super) fn on_produce(
        &mut self,
        ctx: &mut KCtx<'_>,
        from: Peer,
        req: ProduceRequest,
    ) -> Result<(), Halted> {
        let mut delayed = DelayedProduce {
            results: Vec::new(),
            waiting: Vec::new(),
        };
        for (index, part) in req.partitions.iter().enumerate() {
            let outcome = if ![ACKS_ALL, 0, 1].contains(&req.acks) {
                Appended::Now(failed(&part.tp, ErrorCode::InvalidRequiredAcks))
            } else {
                self.append_one(ctx, req.acks, part)?
            };
            match outcome {
                Appended::Now(result) => delayed.results.push(result),
                Appended::Wait(result, required_offset, leader_epoch) => {
                    let timeout = BrokerTimer::ProduceTimeout(part.tp.clone(), required_offset);
                    ctx.set_timer(timeout, u64::from(req.timeout_ms));
                    delayed.results.push(result);
                    delayed.waiting.push(Waiting {
                        index,
                        tp: part.tp.clone(),
                        required_offset,
                        leader_epoch,
                        timed_out: false,
                    });
                }
            }
        }
        if req.acks == 0 {
            return Ok(());
        }
        if delayed.waiting.is_empty() && !self.purgatory.busy(from) {
            let partitions = delayed.results;
            ctx.send(from, Msg::ProduceResponse(ProduceResponse { partitions }));
        } else {
            self.purgatory.push(from, delayed);
            self.complete_delayed(ctx);
        }
        Ok(())
    }

    /// Validates and appends one partition's batch as the leader.
    fn append_one(
        &mut self,
        ctx: &mut KCtx<'_>,
        acks: i16,
        part: &PartitionProduce,
    ) -> Result<Appended, Halted> {
        let min_isr = self.config.min_insync_replicas;
        let Some(partition) = self.partitions.get_mut(&part.tp) else {
            let error = if self.metadata.contains_key(&part.tp) {
                ErrorCode::NotLeaderOrFollower
            } else {
                ErrorCode::UnknownTopicOrPartition
            };
            return Ok(Appended::Now(failed(&part.tp, error)));
        };
        let epoch = partition.leader_epoch;
        let Role::Leader(leader) = &partition.role else {
            return Ok(Appended::Now(failed(
                &part.tp,
                ErrorCode::NotLeaderOrFollower,
            )));
        };
        let header = match single_batch(&part.records) {
            Ok(header) => header,
            Err(error) => return Ok(Appended::Now(failed(&part.tp, error))),
        };
        let min_isr_checked = !self.config.bugs.on(Bug::NoMinIsrCheck);
        if acks == ACKS_ALL && leader.isr.len() < min_isr && min_isr_checked {
            return Ok(Appended::Now(failed(
                &part.tp,
                ErrorCode::NotEnoughReplicas,
            )));
        }
        let check = match self.config.bugs.on(Bug::NoIdempotentDedup) {
            true => Ok(SequenceCheck::Append),
            false => partition.producers.check(&header),
        };
        let (first_offset, last_offset) = match check {
            Err(error) => return Ok(Appended::Now(failed(&part.tp, error))),
            Ok(SequenceCheck::Duplicate {
                first_offset,
                last_offset,
            }) => (first_offset, last_offset),
            Ok(SequenceCheck::Append) => {
                let info = match partition
                    .log
                    .append_as_leader(ctx.disk(), &part.records, epoch)
                {
                    Ok(info) => info,
                    Err(error @ LogError::Disk(_)) => return Err(halt(ctx, error)),
                    Err(_) => return Ok(Appended::Now(failed(&part.tp, ErrorCode::InvalidRecord))),
                };
                let mut stored = header;
                stored.base_offset = info.first_offset;
                stored.partition_leader_epoch = epoch;
                partition.producers.update(&stored);
                ctx.observe(Observation::Appended {
                    partition: part.tp.to_ref(),
                    first_offset: info.first_offset,
                    last_offset: info.last_offset,
                    leader_epoch: epoch,
                    as_leader: true,
                });
                (info.first_offset, info.last_offset)
            }
        };
        self.maybe_advance_hw(ctx, &part.tp);
        let result = PartitionProduceResponse {
            tp: part.tp.clone(),
            error: ErrorCode::None,
            base_offset: first_offset,
        };
        if acks == ACKS_ALL {
            Ok(Appended::Wait(result, last_offset + 1, epoch))
        } else {
            Ok(Appended::Now(result))
        }
    }

    /// Answers every delayed produce whose partitions are all decided, in order.
    pub(super) fn complete_delayed(&mut self, ctx: &mut KCtx<'_>) {
        let min_isr = self.config.min_insync_replicas;
        let min_isr_checked = !self.config.bugs.on(Bug::NoMinIsrCheck);
        let partitions = &self.partitions;
        let (done, resolved) = self.purgatory.complete(|wait| {
            let Some(partition) = partitions.get(&wait.tp) else {
                return Verdict::Done(ErrorCode::RequestTimedOut);
            };
            let leader = match &partition.role {
                Role::Leader(leader) if partition.leader_epoch == wait.leader_epoch => leader,
                // Appended, then leadership moved: the outcome is unknown, never a
                // definite NOT_LEADER_OR_FOLLOWER.
                _ => return Verdict::Done(ErrorCode::RequestTimedOut),
            };
            if partition.log.high_watermark() >= wait.required_offset {
                Verdict::Done(ErrorCode::None)
            } else if leader.isr.len() < min_isr && min_isr_checked {
                Verdict::Done(ErrorCode::NotEnoughReplicasAfterAppend)
            } else if wait.timed_out {
                Verdict::Done(ErrorCode::RequestTimedOut)
            } else {
                Verdict::Wait
            }
        });
        for (tp, required_offset) in resolved {
            ctx.cancel_timer(BrokerTimer::ProduceTimeout(tp, required_offset));
        }
        for (client, partitions) in done {
            ctx.send(client, Msg::ProduceResponse(ProduceResponse { partitions }));
        }
    }

    /// Serves a fetch from a follower (which also reports its log end offset) or a
    /// consumer (only below the high watermark). A fetch that finds nothing to return is
    /// held, up to its `max_wait_ms`, until its partition has something for it.
    pub(super) fn on_fetch(
        &mut self,
        ctx: &mut KCtx<'_>,
        from: Peer,
        req: FetchRequest,
    ) -> Result<(), Halted> {
        let checked = self.check_fetch(&req);
        if checked.is_ok() {
            if let Some((replica, broker_epoch)) = req.replica {
                self.note_follower_fetch(ctx, &req, replica, broker_epoch);
            }
        }
        let answer = match checked {
            Ok(()) => self.read_fetch(ctx, &req)?,
            Err(error) => (error, bytes::Bytes::new()),
        };
        let wait = answer.0 == ErrorCode::None && answer.1.is_empty() && req.max_wait_ms > 0;
        let (replica, tp) = (req.replica.is_some(), req.tp.clone());
        if wait {
            let timer = BrokerTimer::FetchWait(tp.clone(), from);
            ctx.set_timer(timer, u64::from(req.max_wait_ms));
            if let Some(replaced) = self.held_fetches.hold(from, req) {
                self.answer_held(ctx, from, &replaced)?;
            }
        } else {
            send_fetch_response(ctx, from, &req, answer, &self.partitions);
        }
        if replica {
            self.complete_delayed(ctx);
            self.maybe_update_isr(ctx, &tp);
        }
        Ok(())
    }

    /// Answers every held fetch whose partition has something for it now: new data, an
    /// error (leadership moved, the epoch changed, the offset left the log) or a log cut
    /// below it. Runs after every event, so no change is missed.
    pub(super) fn release_held_fetches(&mut self, ctx: &mut KCtx<'_>) -> Result<(), Halted> {
        if self.held_fetches.is_empty() {
            return Ok(());
        }
        let mut held = std::mem::take(&mut self.held_fetches);
        let ready = held.release_ready(|req| match self.check_fetch(req) {
            Err(_) => true,
            Ok(()) => {
                let log = &self.partitions[&req.tp].log;
                let end = match req.replica {
                    Some(_) => log.log_end_offset(),
                    None => log.high_watermark(),
                };
                end != req.fetch_offset
            }
        });
        self.held_fetches = held;
        for (from, req) in ready {
            ctx.cancel_timer(BrokerTimer::FetchWait(req.tp.clone(), from));
            self.answer_held(ctx, from, &req)?;
        }
        Ok(())
    }

    /// The held fetch of `tp` from `from` waited its `max_wait_ms`: answer it as things
    /// stand.
    pub(super) fn on_fetch_wait(
        &mut self,
        ctx: &mut KCtx<'_>,
        tp: &TopicPartition,
        from: Peer,
    ) -> Result<(), Halted> {
        if let Some(req) = self.held_fetches.release(tp, from) {
            self.answer_held(ctx, from, &req)?;
        }
        Ok(())
    }

    /// Drops the held fetches of a reset connection.
    pub(super) fn forget_held_fetches(&mut self, ctx: &mut KCtx<'_>, peer: Peer) {
        for tp in self.held_fetches.forget(peer) {
            ctx.cancel_timer(BrokerTimer::FetchWait(tp, peer));
        }
    }

    /// Answers a held fetch as things stand now.
    fn answer_held(
        &mut self,
        ctx: &mut KCtx<'_>,
        from: Peer,
        req: &FetchRequest,
    ) -> Result<(), Halted> {
        let answer = match self.check_fetch(req) {
            Ok(()) => self.read_fetch(ctx, req)?,
            Err(error) => (error, bytes::Bytes::new()),
        };
        send_fetch_response(ctx, from, req, answer, &self.partitions);
        Ok(())
    }

    /// Whether this replica may serve `req`: it leads the partition in the request's
    /// epoch (KIP-320 fencing) and the offset lies within its log.
    fn check_fetch(&self, req: &FetchRequest) -> Result<(), ErrorCode> {
        let partition = (self.partitions.get(&req.tp)).ok_or(ErrorCode::NotLeaderOrFollower)?;
        let epoch = partition.leader_epoch;
        let Role::Leader(leader) = &partition.role else {
            return Err(ErrorCode::NotLeaderOrFollower);
        };
        let fenced = !(req.replica.is_some() && self.config.bugs.on(Bug::NoEpochFencing));
        if fenced && (req.replica.is_some() || req.current_leader_epoch >= 0) {
            if req.current_leader_epoch < epoch {
                return Err(ErrorCode::FencedLeaderEpoch);
            }
            if req.current_leader_epoch > epoch {
                return Err(ErrorCode::UnknownLeaderEpoch);
            }
        }
        let log = &partition.log;
        if !(log.log_start_offset()..=log.log_end_offset()).contains(&req.fetch_offset) {
            return Err(ErrorCode::OffsetOutOfRange);
        }
        match req.replica {
            Some((replica, _)) if !leader.followers.contains_key(&replica) => {
                Err(ErrorCode::NotLeaderOrFollower)
            }
            _ => Ok(()),
        }
    }

    /// What a follower's fetch tells the leader: the follower's log end offset, whether it
    /// caught up, and with them perhaps a higher high watermark.
    fn note_follower_fetch(
        &mut self,
        ctx: &mut KCtx<'_>,
        req: &FetchRequest,
        replica: BrokerId,
        broker_epoch: i64,
    ) {
        let partition = self.partitions.get_mut(&req.tp).expect("checked");
        let leo = partition.log.log_end_offset();
        let Role::Leader(leader) = &mut partition.role else {
            return;
        };
        let view = leader.followers.get_mut(&replica).expect("checked");
        view.log_end_offset = Some(req.fetch_offset);
        view.broker_epoch = broker_epoch;
        if req.fetch_offset >= view.caught_up_target || req.fetch_offset == leo {
            view.lagging = false;
            let lag = BrokerTimer::ReplicaLag(req.tp.clone(), replica);
            ctx.set_timer(lag, self.config.replica_lag_time_max_ms);
        }
        view.caught_up_target = leo;
        self.maybe_advance_hw(ctx, &req.tp);
    }

    /// Reads what a checked fetch may return: a follower to the log end, a consumer below
    /// the high watermark.
    fn read_fetch(
        &mut self,
        ctx: &mut KCtx<'_>,
        req: &FetchRequest,
    ) -> Result<(ErrorCode, bytes::Bytes), Halted> {
        let partition = &self.partitions[&req.tp];
        let limits = match req.replica {
            Some(_) => ReadLimits::to_log_end(FETCH_BYTES_MAX as usize),
            None => ReadLimits::to_offset(req.bytes_max as usize, partition.log.high_watermark()),
        };
        match partition.log.read(ctx.disk(), req.fetch_offset, limits) {
            Ok(read) => Ok((ErrorCode::None, read.bytes)),
            Err(error @ LogError::Corrupt { .. }) => {
                // Our own committed data is damaged: stop serving it. The restart's scan
                // cuts the log at the damage and the broker re-registers unclean.
                Err(halt(ctx, error))
            }
            Err(_) => Ok((ErrorCode::KafkaStorageError, bytes::Bytes::new())),
        }
    }

    /// Recomputes the high watermark of a partition it leads; answers waiting produces
    /// if it moved.
    pub(super) fn maybe_advance_hw(&mut self, ctx: &mut KCtx<'_>, tp: &TopicPartition) {
        let min_isr = self.config.min_insync_replicas;
        let me = self.id;
        let Some(partition) = self.partitions.get_mut(tp) else {
            return;
        };
        let epoch = partition.leader_epoch;
        let Role::Leader(leader) = &partition.role else {
            return;
        };
        let bugs = &self.config.bugs;
        if leader.isr.len() < min_isr && !bugs.on(Bug::NoMinIsrCheck) {
            return;
        }
        let mut maximal = leader.isr.clone();
        let pending = leader.pending_isr.iter().flatten().map(|m| m.broker);
        match bugs.on(Bug::HwOverProposedIsr) && leader.pending_isr.is_some() {
            // The bug's one decision: a proposed shrink counts before it is committed.
            true => maximal = pending.collect(),
            false => maximal.extend(pending),
        }
        let mut hw = partition.log.log_end_offset();
        for member in maximal.iter().filter(|&&m| m != me) {
            match leader.followers.get(member).and_then(|v| v.log_end_offset) {
                Some(leo) => hw = hw.min(leo),
                None => return,
            }
        }
        if hw > partition.log.high_watermark() {
            let set = partition.log.set_high_watermark(hw);
            debug_assert_eq!(set, hw, "a leader's HW lies within its log");
            ctx.observe(Observation::HighWatermark {
                partition: tp.to_ref(),
                high_watermark: hw,
                leader_epoch: epoch,
                as_leader: true,
            });
        }
    }

    /// Proposes an ISR change if one is due and none is in flight: lagging members out,
    /// caught-up followers in (fetching in this epoch, at or past the high watermark and
    /// the epoch's start offset).
    pub(super) fn maybe_update_isr(&mut self, ctx: &mut KCtx<'_>, tp: &TopicPartition) {
        let me = self.id;
        let Some(broker_epoch) = self.broker_epoch else {
            return;
        };
        let Some(partition) = self.partitions.get_mut(tp) else {
            return;
        };
        let hw = partition.log.high_watermark();
        let unfenced = self.config.bugs.on(Bug::NoEpochFencing);
        let Role::Leader(leader) = &mut partition.role else {
            return;
        };
        if leader.pending_isr.is_some() {
            return;
        }
        let mut new_isr: Vec<IsrMember> = Vec::new();
        for (&replica, view) in std::iter::once((&me, &dummy_view())).chain(leader.followers.iter())
        {
            let keep = leader.isr.contains(&replica) && (replica == me || !view.lagging);
            let join = !leader.isr.contains(&replica)
                && !view.lagging
                && view
                    .log_end_offset
                    .is_some_and(|leo| leo >= hw && (leo >= leader.epoch_start_offset || unfenced));
            if keep || join {
                let broker_epoch = if replica == me {
                    broker_epoch
                } else {
                    view.broker_epoch
                };
                new_isr.push(IsrMember {
                    broker: replica,
                    broker_epoch,
                });
            }
        }
        let mut proposed: Vec<BrokerId> = new_isr.iter().map(|m| m.broker).collect();
        let mut current = leader.isr.clone();
        current.sort();
        proposed.sort();
        if proposed == current {
            return;
        }
        leader.pending_isr = Some(new_isr);
        self.propose_pending_isr(ctx, tp);
    }

    /// Sends the pending ISR proposal of `tp` (again), with a timeout: the same proposal
    /// at the same partition epoch, so a retry of one the controller already committed is
    /// refused as stale rather than applied twice.
    pub(super) fn propose_pending_isr(&mut self, ctx: &mut KCtx<'_>, tp: &TopicPartition) {
        let Some(broker_epoch) = self.broker_epoch else {
            return;
        };
        let Some(partition) = self.partitions.get(tp) else {
            return;
        };
        let Role::Leader(leader) = &partition.role else {
            return;
        };
        let Some(new_isr) = leader.pending_isr.clone() else {
            return;
        };
        let req = AlterPartitionRequest {
            broker: self.id,
            broker_epoch,
            tp: tp.clone(),
            leader_epoch: partition.leader_epoch,
            partition_epoch: leader.partition_epoch,
            new_isr,
        };
        ctx.send(self.controller(), Msg::AlterPartitionRequest(req));
        let timeout = BrokerTimer::AlterPartitionTimeout(tp.clone());
        ctx.set_timer(timeout, self.config.replica_request_timeout_ms);
    }

    /// Proposes every pending ISR again: the controller connection was lost with their
    /// answers.
    pub(super) fn propose_pending_isrs(&mut self, ctx: &mut KCtx<'_>) {
        let pending: Vec<TopicPartition> = (self.partitions.iter())
            .filter(|(_, p)| matches!(&p.role, Role::Leader(l) if l.pending_isr.is_some()))
            .map(|(tp, _)| tp.clone())
            .collect();
        for tp in pending {
            self.propose_pending_isr(ctx, &tp);
        }
    }

    pub(super) fn on_alter_partition_response(
        &mut self,
        ctx: &mut KCtx<'_>,
        resp: AlterPartitionResponse,
    ) -> Result<(), Halted> {
        ctx.cancel_timer(BrokerTimer::AlterPartitionTimeout(resp.tp.clone()));
        // Only an answer to the pending proposal (made at the partition epoch the leader
        // still holds) that carries the state, or a refusal the controller makes after
        // matching the partition epoch (so nothing was committed since), settles it. A
        // stale epoch or a fenced leader may answer a retry of a proposal the controller
        // already committed: the proposal stays pending until newer metadata arrives, as
        // in Kafka. An answer to an earlier proposal, arriving after newer metadata let
        // the leader propose again, settles nothing: the newer proposal may yet commit.
        let settled = matches!(
            (&resp.state, resp.error),
            (Some(_), ErrorCode::None)
                | (_, ErrorCode::IneligibleReplica | ErrorCode::InvalidRequest)
        );
        if let Some(Partition {
            role: Role::Leader(leader),
            ..
        }) = self.partitions.get_mut(&resp.tp)
        {
            if settled && resp.proposed_at == leader.partition_epoch {
                leader.pending_isr = None;
            }
        }
        match resp.state {
            Some(state) if resp.error == ErrorCode::None => self.apply_state(ctx, state),
            _ => Ok(()),
        }
    }

    /// A follower has not caught up for `replica.lag.time.max.ms`.
    pub(super) fn on_replica_lag(
        &mut self,
        ctx: &mut KCtx<'_>,
        tp: &TopicPartition,
        replica: BrokerId,
    ) -> Result<(), Halted> {
        if let Some(Partition {
            role: Role::Leader(leader),
            ..
        }) = self.partitions.get_mut(tp)
        {
            if let Some(view) = leader.followers.get_mut(&replica) {
                view.lagging = true;
            }
        }
        self.maybe_update_isr(ctx, tp);
        Ok(())
    }

    /// Starts leading the state's epoch: records the epoch start in the log, forgets what
    /// it knew of followers (they must fetch in this epoch to count).
    pub(super) fn become_leader(
        &mut self,
        ctx: &mut KCtx<'_>,
        state: &PartitionState,
    ) -> Result<(), Halted> {
        let lag_ms = self.config.replica_lag_time_max_ms;
        let me = self.id;
        let partition = self.partitions.get_mut(&state.tp).expect("opened");
        match partition
            .log
            .start_leader_epoch(ctx.disk(), state.leader_epoch)
        {
            Ok(()) => {}
            Err(error @ LogError::Disk(_)) => return Err(halt(ctx, error)),
            Err(_) => {
                // The log holds a later epoch than the controller's: stay offline.
                partition.role = Role::Offline;
                return Ok(());
            }
        }
        let leo = partition.log.log_end_offset();
        let followers = (state.replicas.iter())
            .filter(|&&r| r != me)
            .map(|&r| {
                let view = ReplicaView {
                    log_end_offset: None,
                    broker_epoch: -1,
                    lagging: false,
                    caught_up_target: leo,
                };
                (r, view)
            })
            .collect();
        for &r in state.replicas.iter().filter(|&&r| r != me) {
            ctx.cancel_timer(BrokerTimer::Fetch(state.tp.clone()));
            ctx.set_timer(BrokerTimer::ReplicaLag(state.tp.clone(), r), lag_ms);
        }
        ctx.cancel_timer(BrokerTimer::FetchTimeout(state.tp.clone()));
        partition.leader_epoch = state.leader_epoch;
        partition.role = Role::Leader(LeaderState {
            isr: state.isr.clone(),
            partition_epoch: state.partition_epoch,
            epoch_start_offset: leo,
            followers,
            pending_isr: None,
        });
        ctx.observe(Observation::BecameLeader {
            partition: state.tp.to_ref(),
            leader_epoch: state.leader_epoch,
            start_offset: leo,
            isr: state.isr.clone(),
        });
        self.maybe_advance_hw(ctx, &state.tp);
        Ok(())
    }

    /// Same leader, same epoch: a committed ISR change.
    pub(super) fn update_leader_isr(&mut self, ctx: &mut KCtx<'_>, state: &PartitionState) {
        if let Some(leader) = self
            .partitions
            .get_mut(&state.tp)
            .and_then(|p| p.leader_in(state.leader_epoch))
        {
            if state.partition_epoch > leader.partition_epoch && leader.pending_isr.is_some() {
                // Newer metadata settles whatever was pending, and its timeout with it.
                leader.pending_isr = None;
                ctx.cancel_timer(BrokerTimer::AlterPartitionTimeout(state.tp.clone()));
            }
            leader.isr = state.isr.clone();
            leader.partition_epoch = state.partition_epoch;
        }
        self.maybe_advance_hw(ctx, &state.tp);
        self.maybe_update_isr(ctx, &state.tp);
    }

    pub(super) fn list_offsets(&self, req: &ListOffsetsRequest) -> ListOffsetsResponse {
        let answer = |error, offset, leader_epoch| ListOffsetsResponse {
            tp: req.tp.clone(),
            error,
            offset,
            leader_epoch,
        };
        let Some(partition) = self.partitions.get(&req.tp) else {
            return answer(ErrorCode::NotLeaderOrFollower, -1, -1);
        };
        let Role::Leader(leader) = &partition.role else {
            return answer(ErrorCode::NotLeaderOrFollower, -1, -1);
        };
        let (log, epoch) = (&partition.log, partition.leader_epoch);
        if log.high_watermark() < leader.epoch_start_offset {
            // KIP-207: the new leader does not yet know its committed end.
            return answer(ErrorCode::OffsetNotAvailable, -1, epoch);
        }
        let offset = match req.spec {
            OffsetSpec::Earliest => log.log_start_offset(),
            OffsetSpec::Latest => log.high_watermark(),
        };
        answer(ErrorCode::None, offset, epoch)
    }

    /// Where the requested epoch ends. An epoch this log cannot place (every epoch it holds
    /// is later) is an error to a follower, which asks again after a backoff; a consumer
    /// gets Kafka's undefined epoch and offset, and resets by its policy.
    pub(super) fn offsets_for_leader_epoch(
        &self,
        req: &OffsetsForLeaderEpochRequest,
        undefined_answer: bool,
    ) -> OffsetsForLeaderEpochResponse {
        let answer = |error, leader_epoch, end_offset| OffsetsForLeaderEpochResponse {
            tp: req.tp.clone(),
            error,
            current_leader_epoch: req.current_leader_epoch,
            leader_epoch,
            end_offset,
        };
        let Some(partition) = self.partitions.get(&req.tp).filter(|p| p.is_leader()) else {
            return answer(ErrorCode::NotLeaderOrFollower, -1, -1);
        };
        // Before KIP-320 the truncation request carried no current epoch either.
        let fenced = !self.config.bugs.on(Bug::NoEpochFencing);
        if fenced && req.current_leader_epoch < partition.leader_epoch {
            return answer(ErrorCode::FencedLeaderEpoch, -1, -1);
        }
        if fenced && req.current_leader_epoch > partition.leader_epoch {
            return answer(ErrorCode::UnknownLeaderEpoch, -1, -1);
        }
        match partition.log.end_offset_for_epoch(req.leader_epoch) {
            Some(end) => answer(ErrorCode::None, end.leader_epoch, end.end_offset),
            None if undefined_answer => answer(ErrorCode::None, -1, -1),
            None => answer(ErrorCode::UnknownLeaderEpoch, -1, -1),
        }
    }
}

fn dummy_view() -> ReplicaView {
    ReplicaView {
        log_end_offset: None,
        broker_epoch: -1,
        lagging: false,
        caught_up_target: 0,
    }
}

fn failed(tp: &TopicPartition, error: ErrorCode) -> PartitionProduceResponse {
    PartitionProduceResponse {
        tp: tp.clone(),
        error,
        base_offset: -1,
    }
}

/// The header of the one valid batch the records must hold (produce v3+).
fn single_batch(records: &[u8]) -> Result<BatchHeader, ErrorCode> {
    let header = BatchHeader::parse(records).map_err(|_| ErrorCode::CorruptMessage)?;
    if header.total_len() != records.len() {
        return Err(ErrorCode::InvalidRecord);
    }
    header
        .verify_crc(records)
        .map_err(|_| ErrorCode::CorruptMessage)?;
    Ok(header)
}

/// Sends the answer to `req`, with the partition's high watermark and log start as they
/// are now.
fn send_fetch_response(
    ctx: &mut KCtx<'_>,
    to: Peer,
    req: &FetchRequest,
    (error, records): (ErrorCode, bytes::Bytes),
    partitions: &std::collections::BTreeMap<TopicPartition, Partition>,
) {
    let (high_watermark, log_start_offset) = partitions.get(&req.tp).map_or((-1, -1), |p| {
        (p.log.high_watermark(), p.log.log_start_offset())
    });
    let resp = FetchResponse {
        tp: req.tp.clone(),
        error,
        current_leader_epoch: req.current_leader_epoch,
        fetch_offset: req.fetch_offset,
        high_watermark,
        log_start_offset,
        records,
    };
    ctx.send(to, Msg::FetchResponse(resp));
}
