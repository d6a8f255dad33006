//! The follower's side: truncation by leader epoch, then fetching from the leader.
//!
//! Truncation (KIP-101 with KIP-279): ask the leader where the follower's latest epoch ends
//! on the leader; the leader answers with the largest epoch it holds not above it and that
//! epoch's end. If the follower holds that epoch, it truncates to the smaller of the two
//! ends and starts fetching; if not, it truncates to where its own largest epoch below
//! ends and asks again. Every request carries the follower's view of the leader epoch and
//! is fenced if stale (KIP-320); the follower never falls back to its high watermark.
//!
//! Fetching: the leader holds a fetch that finds nothing new for up to
//! `replica.fetch.wait.max.ms`, so the follower asks again as soon as any answer arrives
//! and backs off only after an error. It learns the high watermark from answers, so it
//! knows one a round behind the leader's: the fetch that moves it is answered only when the
//! next batch arrives or its wait ends.

use odradek_invariants::{Observation, TruncationCause};
use odradek_sim::Peer;

use super::leader::FETCH_BYTES_MAX;
use super::partition::{FollowerPhase, FollowerState, Role};
use super::producer_state::ProducerStates;
use super::{halt, Broker, BrokerTimer, Halted, KCtx};
use crate::bugs::Bug;
use crate::log::LogError;
use crate::protocol::{
    broker_node, BrokerId, ErrorCode, FetchRequest, FetchResponse, Msg,
    OffsetsForLeaderEpochRequest, OffsetsForLeaderEpochResponse, PartitionState, TopicPartition,
    REPLICATION,
};
use crate::record::BatchHeader;

impl Broker {
    /// Follows `leader` in the state's epoch (or waits, leaderless, when `None`).
    pub(super) fn become_follower(
        &mut self,
        ctx: &mut KCtx<'_>,
        state: &PartitionState,
        leader: Option<BrokerId>,
    ) {
        let partition = self.partitions.get_mut(&state.tp).expect("opened");
        if let Role::Leader(old) = &partition.role {
            for &r in old.followers.keys() {
                ctx.cancel_timer(BrokerTimer::ReplicaLag(state.tp.clone(), r));
            }
            ctx.cancel_timer(BrokerTimer::AlterPartitionTimeout(state.tp.clone()));
        }
        // KAFKA-7164's one decision: the same leader in a new epoch keeps the fetch going.
        let same_leader = matches!(&partition.role, Role::Follower(f) if Some(f.leader) == leader);
        let phase = match same_leader && self.config.bugs.on(Bug::SameLeaderSkipsTruncation) {
            true => FollowerPhase::Fetching,
            false => FollowerPhase::Truncating,
        };
        partition.leader_epoch = state.leader_epoch;
        partition.role = match leader {
            Some(leader) => Role::Follower(FollowerState {
                leader,
                phase,
                in_flight: false,
                next_epoch: None,
            }),
            None => Role::Offline,
        };
        ctx.cancel_timer(BrokerTimer::FetchTimeout(state.tp.clone()));
        ctx.observe(Observation::BecameFollower {
            partition: state.tp.to_ref(),
            leader,
            leader_epoch: state.leader_epoch,
        });
        if leader.is_none() {
            return;
        }
        if self.config.bugs.on(Bug::TruncateToHw) {
            // Before KIP-101: truncate to the high watermark, then fetch.
            let partition = self.partitions.get_mut(&state.tp).expect("opened");
            let hw = partition.log.high_watermark();
            if self.truncate(ctx, &state.tp, hw).is_err() {
                return;
            }
            self.set_phase(&state.tp, FollowerPhase::Fetching);
        }
        self.send_to_leader(ctx, &state.tp);
    }

    /// Sends the follower's next request: OffsetsForLeaderEpoch while truncating, Fetch
    /// after.
    fn send_to_leader(&mut self, ctx: &mut KCtx<'_>, tp: &TopicPartition) {
        let (me, broker_epoch) = (self.id, self.broker_epoch.unwrap_or(-1));
        let timeout_ms = self.config.replica_request_timeout_ms;
        let max_wait_ms = u32::try_from(self.config.replica_fetch_wait_max_ms).unwrap_or(u32::MAX);
        let Some(partition) = self.partitions.get_mut(tp) else {
            return;
        };
        let epoch = partition.leader_epoch;
        let latest = partition.log.latest_epoch();
        let leo = partition.log.log_end_offset();
        let Role::Follower(follower) = &mut partition.role else {
            return;
        };
        if follower.in_flight {
            return;
        }
        let Some(node) = broker_node(follower.leader) else {
            return;
        };
        if follower.phase == FollowerPhase::Truncating && latest.is_none() {
            follower.phase = FollowerPhase::Fetching;
        }
        let msg = match (follower.phase, follower.next_epoch.or(latest)) {
            (FollowerPhase::Truncating, Some(leader_epoch)) => {
                Msg::OffsetsForLeaderEpochRequest(OffsetsForLeaderEpochRequest {
                    tp: tp.clone(),
                    current_leader_epoch: epoch,
                    leader_epoch,
                })
            }
            _ => Msg::FetchRequest(FetchRequest {
                replica: Some((me, broker_epoch)),
                tp: tp.clone(),
                fetch_offset: leo,
                current_leader_epoch: epoch,
                bytes_max: FETCH_BYTES_MAX,
                max_wait_ms,
            }),
        };
        follower.in_flight = true;
        ctx.send(Peer::server(node, REPLICATION), msg);
        ctx.set_timer(BrokerTimer::FetchTimeout(tp.clone()), timeout_ms);
    }

    /// The in-flight request of a partition following `from` in `epoch`, consumed: the
    /// follower state if the answer is the one awaited.
    fn take_answer(
        &mut self,
        ctx: &mut KCtx<'_>,
        from: Peer,
        tp: &TopicPartition,
        epoch: i32,
    ) -> bool {
        let Some(partition) = self.partitions.get_mut(tp) else {
            return false;
        };
        let current = partition.leader_epoch;
        match &mut partition.role {
            Role::Follower(f)
                if f.in_flight && broker_node(f.leader) == Some(from.node) && current == epoch =>
            {
                f.in_flight = false;
                ctx.cancel_timer(BrokerTimer::FetchTimeout(tp.clone()));
                true
            }
            _ => false,
        }
    }

    fn backoff(&mut self, ctx: &mut KCtx<'_>, tp: &TopicPartition) {
        ctx.set_timer(
            BrokerTimer::Fetch(tp.clone()),
            self.config.replica_fetch_backoff_ms,
        );
    }

    pub(super) fn on_offsets_for_leader_epoch(
        &mut self,
        ctx: &mut KCtx<'_>,
        from: Peer,
        resp: OffsetsForLeaderEpochResponse,
    ) -> Result<(), Halted> {
        let tp = resp.tp.clone();
        if !self.take_answer(ctx, from, &tp, resp.current_leader_epoch) {
            return Ok(());
        }
        if resp.error != ErrorCode::None {
            self.backoff(ctx, &tp);
            return Ok(());
        }
        let partition = self.partitions.get_mut(&tp).expect("checked");
        let leo = partition.log.log_end_offset();
        let asked = match &partition.role {
            Role::Follower(f) => f.next_epoch.or(partition.log.latest_epoch()),
            _ => None,
        };
        // The bug's one decision: an answer for an earlier epoch than asked (the leader
        // lacks the follower's epoch; before KIP-279 the leader answered undefined) falls
        // back to the high watermark.
        let before_kip279 = self.config.bugs.on(Bug::Kip101WithoutKip279)
            && asked.is_some_and(|asked| resp.leader_epoch < asked);
        let (target, next_epoch) = match partition.log.end_offset_for_epoch(resp.leader_epoch) {
            _ if before_kip279 => (partition.log.high_watermark().min(leo), None),
            Some(mine) if mine.leader_epoch == resp.leader_epoch => {
                (mine.end_offset.min(resp.end_offset), None)
            }
            Some(mine) => (mine.end_offset.min(leo), Some(mine.leader_epoch)),
            None => (resp.end_offset.min(leo), None),
        };
        let done = next_epoch.is_none();
        self.truncate(ctx, &tp, target)?;
        let partition = self.partitions.get_mut(&tp).expect("checked");
        let no_epochs = partition.log.latest_epoch().is_none();
        if let Role::Follower(follower) = &mut partition.role {
            follower.next_epoch = next_epoch;
            if done || no_epochs {
                follower.phase = FollowerPhase::Fetching;
                follower.next_epoch = None;
            }
        }
        self.send_to_leader(ctx, &tp);
        Ok(())
    }

    /// Truncates the log to `offset` if it ends past it and rebuilds producer state.
    fn truncate(
        &mut self,
        ctx: &mut KCtx<'_>,
        tp: &TopicPartition,
        offset: i64,
    ) -> Result<(), Halted> {
        let partition = self.partitions.get_mut(tp).expect("known");
        let from_offset = partition.log.log_end_offset();
        if offset >= from_offset {
            return Ok(());
        }
        let to_offset = match partition.log.truncate_to(ctx.disk(), offset) {
            Ok(end) => end,
            Err(error) => return Err(halt(ctx, error)),
        };
        match ProducerStates::rebuild(&partition.log, ctx.disk()) {
            (producers, Ok(())) => partition.producers = producers,
            (_, Err(error)) => return Err(halt(ctx, error)),
        }
        ctx.observe(Observation::Truncated {
            partition: tp.to_ref(),
            from_offset,
            to_offset,
            cause: TruncationCause::LeaderEpoch,
        });
        Ok(())
    }

    pub(super) fn on_fetch_response(
        &mut self,
        ctx: &mut KCtx<'_>,
        from: Peer,
        resp: FetchResponse,
    ) -> Result<(), Halted> {
        let tp = resp.tp.clone();
        if !self.take_answer(ctx, from, &tp, resp.current_leader_epoch) {
            return Ok(());
        }
        let partition = self.partitions.get_mut(&tp).expect("checked");
        let fetching =
            matches!(&partition.role, Role::Follower(f) if f.phase == FollowerPhase::Fetching);
        if !fetching || resp.fetch_offset != partition.log.log_end_offset() {
            self.backoff(ctx, &tp);
            return Ok(());
        }
        match resp.error {
            ErrorCode::None => {}
            ErrorCode::OffsetOutOfRange => {
                self.set_phase(&tp, FollowerPhase::Truncating);
                self.backoff(ctx, &tp);
                return Ok(());
            }
            _ => {
                self.backoff(ctx, &tp);
                return Ok(());
            }
        }
        let got_records = !resp.records.is_empty();
        if got_records && !self.append_fetched(ctx, &tp, &resp)? {
            self.set_phase(&tp, FollowerPhase::Truncating);
            self.backoff(ctx, &tp);
            return Ok(());
        }
        let partition = self.partitions.get_mut(&tp).expect("checked");
        let hw = resp.high_watermark.min(partition.log.log_end_offset());
        if hw != partition.log.high_watermark() {
            let set = partition.log.set_high_watermark(hw);
            ctx.observe(Observation::HighWatermark {
                partition: tp.to_ref(),
                high_watermark: set,
                leader_epoch: partition.leader_epoch,
                as_leader: false,
            });
        }
        // An empty answer means the leader held the fetch for its whole wait: ask again.
        self.send_to_leader(ctx, &tp);
        Ok(())
    }

    /// Appends fetched batches as they are. Returns false when they do not fit the log
    /// (the follower must truncate again).
    fn append_fetched(
        &mut self,
        ctx: &mut KCtx<'_>,
        tp: &TopicPartition,
        resp: &FetchResponse,
    ) -> Result<bool, Halted> {
        let partition = self.partitions.get_mut(tp).expect("checked");
        match partition.log.append_as_follower(ctx.disk(), &resp.records) {
            Ok(_) => {}
            Err(error @ LogError::Disk(_)) => return Err(halt(ctx, error)),
            Err(_) => return Ok(false),
        }
        // One observation per batch, each with its own leader epoch: log matching compares
        // replicas batch by batch.
        let mut position = 0;
        while let Ok(header) = BatchHeader::parse(&resp.records[position..]) {
            partition.producers.update(&header);
            ctx.observe(Observation::Appended {
                partition: tp.to_ref(),
                first_offset: header.base_offset,
                last_offset: header.last_offset(),
                leader_epoch: header.partition_leader_epoch,
                as_leader: false,
            });
            position += header.total_len();
            if position >= resp.records.len() {
                break;
            }
        }
        Ok(true)
    }

    fn set_phase(&mut self, tp: &TopicPartition, phase: FollowerPhase) {
        if let Some(partition) = self.partitions.get_mut(tp) {
            if let Role::Follower(follower) = &mut partition.role {
                follower.phase = phase;
            }
        }
    }

    pub(super) fn on_fetch_timer(
        &mut self,
        ctx: &mut KCtx<'_>,
        tp: &TopicPartition,
    ) -> Result<(), Halted> {
        self.send_to_leader(ctx, tp);
        Ok(())
    }

    /// The leader did not answer in time: reset the connection, as a Kafka client does on
    /// request timeout, and start over on a fresh one.
    pub(super) fn on_fetch_timeout(&mut self, ctx: &mut KCtx<'_>, tp: &TopicPartition) {
        let leader = match self.partitions.get(tp).map(|p| &p.role) {
            Some(Role::Follower(f)) if f.in_flight => f.leader,
            _ => return,
        };
        if let Some(node) = broker_node(leader) {
            ctx.disconnect(Peer::server(node, REPLICATION));
        }
        self.leader_connection_lost(ctx, leader);
    }

    /// Everything in flight to `leader` is lost: every partition following it starts its
    /// cycle over (truncating again, in case the leader changed its mind meanwhile).
    pub(super) fn leader_connection_lost(&mut self, ctx: &mut KCtx<'_>, leader: BrokerId) {
        let mut retry = Vec::new();
        for (tp, partition) in &mut self.partitions {
            if let Role::Follower(f) = &mut partition.role {
                if f.leader == leader {
                    f.in_flight = false;
                    f.phase = FollowerPhase::Truncating;
                    f.next_epoch = None;
                    retry.push(tp.clone());
                }
            }
        }
        for tp in retry {
            ctx.cancel_timer(BrokerTimer::FetchTimeout(tp.clone()));
            self.backoff(ctx, &tp);
        }
    }
}
