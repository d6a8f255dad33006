//! The broker: partition replicas on one node's disk, leading or following as the
//! controller says.
//!
//! It owns its logs (recovered at startup from its disk alone), its registration with the
//! controller (a new broker epoch per process) and every partition's role. As a leader it
//! serves produce (acks 0, 1, all with `min.insync.replicas`), consumer and follower
//! fetches (fenced by leader epoch, KIP-320; a fetch with nothing to return is held until
//! data arrives or its `max_wait_ms` passes), ListOffsets (KIP-207) and Metadata; it keeps
//! the high watermark over the maximal ISR and asks the controller to shrink or expand the
//! ISR. As a follower it truncates by leader epoch (KIP-101, KIP-279) and fetches. It
//! reads no clock: lag, timeouts and backoffs are timers. Malformed or unexpected
//! requests get an error response; a disk error halts the node, as Kafka takes a log
//! directory offline.

mod config;
mod delayed;
mod follower;
mod leader;
mod partition;
mod producer_state;

pub use config::{BrokerConfig, BrokerTimer};
pub use delayed::{DelayedProduce, HeldFetches, Purgatory, Waiting};
pub use partition::{FollowerPhase, FollowerState, LeaderState, Partition, ReplicaView, Role};
pub use producer_state::{ProducerStates, SequenceCheck, DEDUP_BATCHES_MAX};

use std::collections::BTreeMap;

use odradek_invariants::{Observation, RecoveryCut, TruncationCause};
use odradek_sim::{Ctx, Node, NodeId, Peer};

use crate::log::LogError;
use crate::protocol::{
    broker_id, BrokerId, ErrorCode, HeartbeatRequest, MetadataResponse, Msg, PartitionState,
    RegisterRequest, TopicPartition, CLIENT, CONTROL, PUSH, REPLICATION,
};

type KCtx<'a> = Ctx<'a, Broker>;

/// Heartbeat intervals a controlled shutdown waits for the controller before it proceeds.
const SHUTDOWN_HEARTBEATS_MAX: u64 = 5;

/// The broker halted on a disk error; the handler must stop touching state.
pub(crate) struct Halted;

/// A broker node. See the module docs.
#[derive(Debug, Clone, PartialEq, Eq, Hash)]
pub struct Broker {
    me: NodeId,
    id: BrokerId,
    config: BrokerConfig,
    /// The epoch of the current registration, once the controller granted it.
    broker_epoch: Option<i64>,
    /// Whether the next registration may say nothing was lost: this process's start
    /// lost nothing, or a registration since told the controller what it lost. Only then
    /// may a shutdown write clean-shutdown markers (KIP-966's previous broker epoch: a
    /// loss the controller never heard of must not become a clean restart).
    clean: bool,
    /// A registration or heartbeat awaits its answer.
    control_in_flight: bool,
    /// A controlled shutdown is under way: no more heartbeats; the answer (or its
    /// timeout) flushes the logs, writes their clean-shutdown markers and exits.
    stopping: bool,
    /// Every partition's state as last heard from the controller.
    metadata: BTreeMap<TopicPartition, PartitionState>,
    /// Replicas hosted here.
    partitions: BTreeMap<TopicPartition, Partition>,
    /// Produces waiting for replication.
    purgatory: Purgatory,
    /// Fetches waiting for data.
    held_fetches: HeldFetches,
}

impl Node for Broker {
    type Msg = Msg;
    type Timer = BrokerTimer;
    type Obs = Observation;
    type Config = BrokerConfig;

    /// A fresh broker; `on_start` recovers its logs.
    fn new(me: NodeId, config: &BrokerConfig) -> Self {
        Self {
            me,
            id: broker_id(me),
            config: config.clone(),
            broker_epoch: None,
            clean: false,
            control_in_flight: false,
            stopping: false,
            metadata: BTreeMap::new(),
            partitions: BTreeMap::new(),
            purgatory: Purgatory::default(),
            held_fetches: HeldFetches::default(),
        }
    }

    /// Opens every log on the disk (recovery), then registers.
    fn on_start(&mut self, ctx: &mut KCtx<'_>) {
        if self.recover(ctx).is_err() {
            return;
        }
        self.register(ctx);
        if self.config.periodic_timers {
            ctx.set_timer(BrokerTimer::Heartbeat, self.config.heartbeat_ms);
            ctx.set_timer(BrokerTimer::HwCheckpoint, self.config.hw_checkpoint_ms);
        }
    }

    /// Dispatches a request or response.
    fn on_message(&mut self, ctx: &mut KCtx<'_>, from: Peer, msg: Msg) {
        let _halted = (self.handle(ctx, from, msg)).and_then(|()| self.release_held_fetches(ctx));
    }

    /// Handles a timer.
    fn on_timer(&mut self, ctx: &mut KCtx<'_>, timer: BrokerTimer) {
        let handled = match timer {
            BrokerTimer::Heartbeat => {
                self.on_heartbeat_timer(ctx);
                Ok(())
            }
            BrokerTimer::HwCheckpoint => self.checkpoint_high_watermarks(ctx),
            BrokerTimer::Fetch(tp) => self.on_fetch_timer(ctx, &tp),
            BrokerTimer::FetchTimeout(tp) => {
                self.on_fetch_timeout(ctx, &tp);
                Ok(())
            }
            BrokerTimer::ReplicaLag(tp, replica) => self.on_replica_lag(ctx, &tp, replica),
            BrokerTimer::AlterPartitionTimeout(tp) => {
                // The outcome is unknown: redial and propose the same ISR again (every
                // path that settles a proposal cancels its timer; the check is a guard).
                if self.pending_isr(&tp) {
                    ctx.disconnect(self.controller());
                    self.control_in_flight = false;
                    self.propose_pending_isrs(ctx);
                }
                Ok(())
            }
            BrokerTimer::ShutdownTimeout => {
                self.shut_down(ctx);
                Ok(())
            }
            BrokerTimer::ProduceTimeout(tp, required_offset) => {
                self.purgatory.time_out(&tp, required_offset);
                self.complete_delayed(ctx);
                Ok(())
            }
            BrokerTimer::FetchWait(tp, from) => self.on_fetch_wait(ctx, &tp, from),
        };
        let _halted = handled.and_then(|()| self.release_held_fetches(ctx));
    }

    /// A connection was reset by the other end or the network.
    fn on_disconnect(&mut self, ctx: &mut KCtx<'_>, peer: Peer) {
        match peer.channel {
            CONTROL => {
                // Nothing on it will be answered: propose what was pending again, and
                // whatever changes are due.
                self.control_in_flight = false;
                self.propose_pending_isrs(ctx);
                let tps: Vec<TopicPartition> = self.partitions.keys().cloned().collect();
                for tp in tps {
                    self.maybe_update_isr(ctx, &tp);
                }
            }
            REPLICATION if peer.role == odradek_sim::Role::Server => {
                self.leader_connection_lost(ctx, broker_id(peer.node));
            }
            REPLICATION => self.forget_held_fetches(ctx, peer),
            CLIENT => {
                self.purgatory.forget(peer);
                self.forget_held_fetches(ctx, peer);
            }
            _ => {}
        }
        let _halted = self.release_held_fetches(ctx);
    }

    /// Kafka's controlled shutdown: asks the controller to move this broker's leaderships
    /// away; its answer (or a timeout) flushes every log, writes the clean-shutdown
    /// markers and exits, so the restart is clean and keeps the ELR standing (KIP-966).
    fn on_stop(&mut self, ctx: &mut KCtx<'_>) {
        if self.stopping {
            return;
        }
        self.stopping = true;
        let Some(broker_epoch) = self.broker_epoch else {
            self.shut_down(ctx);
            return;
        };
        let req = Msg::ControlledShutdownRequest {
            broker: self.id,
            broker_epoch,
        };
        ctx.send(self.controller(), req);
        let timeout_ms = self.config.heartbeat_ms * SHUTDOWN_HEARTBEATS_MAX;
        ctx.set_timer(BrokerTimer::ShutdownTimeout, timeout_ms);
    }
}

impl Broker {
    /// The broker id.
    pub fn id(&self) -> BrokerId {
        self.id
    }

    /// The replica of `tp` hosted here.
    pub fn partition(&self, tp: &TopicPartition) -> Option<&Partition> {
        self.partitions.get(tp)
    }

    /// The broker's current registration epoch.
    pub fn broker_epoch(&self) -> Option<i64> {
        self.broker_epoch
    }

    /// Whether a proposed ISR of `tp` awaits its outcome.
    fn pending_isr(&self, tp: &TopicPartition) -> bool {
        (self.partitions.get(tp))
            .is_some_and(|p| matches!(&p.role, Role::Leader(l) if l.pending_isr.is_some()))
    }

    fn controller(&self) -> Peer {
        Peer::server(self.config.controller, CONTROL)
    }

    fn recover(&mut self, ctx: &mut KCtx<'_>) -> Result<(), Halted> {
        let mut dirs: Vec<String> = (ctx.disk().list().iter())
            .filter_map(|name| name.split_once('/').map(|(dir, _)| dir.to_string()))
            .collect();
        dirs.sort();
        dirs.dedup();
        let mut all_clean = !dirs.is_empty();
        for dir in dirs {
            let Some(tp) = parse_dir(&dir) else { continue };
            let opened = partition::Partition::open(ctx.disk(), &tp).map_err(|e| halt(ctx, e))?;
            // A marker says the shutdown was clean, not that the disk kept everything:
            // a recovery that cut anything (damage found since) is an unclean restart.
            let cut = opened.cut.is_some() || opened.report.truncation.is_some();
            all_clean &= opened.report.clean_shutdown && !cut;
            if let Some((from_offset, to_offset)) = opened.cut {
                ctx.observe(Observation::Truncated {
                    partition: tp.to_ref(),
                    from_offset,
                    to_offset,
                    cause: TruncationCause::Corruption,
                });
            }
            let log = &opened.partition.log;
            ctx.observe(Observation::Recovered {
                partition: tp.to_ref(),
                log_end_offset: log.log_end_offset(),
                high_watermark: log.high_watermark(),
                clean_shutdown: opened.report.clean_shutdown,
                recovery_cut: opened.report.truncation.as_ref().map(|cut| RecoveryCut {
                    offset: cut.offset,
                    bytes: cut.bytes,
                }),
            });
            self.partitions.insert(tp, opened.partition);
        }
        self.clean = all_clean;
        Ok(())
    }

    fn register(&mut self, ctx: &mut KCtx<'_>) {
        let req = RegisterRequest {
            broker: self.id,
            clean: self.clean,
        };
        ctx.send(self.controller(), Msg::RegisterRequest(req));
        self.control_in_flight = true;
    }

    fn handle(&mut self, ctx: &mut KCtx<'_>, from: Peer, msg: Msg) -> Result<(), Halted> {
        match (from.channel, msg) {
            (CLIENT, Msg::ProduceRequest(req)) => self.on_produce(ctx, from, req),
            (CLIENT | REPLICATION, Msg::FetchRequest(req)) => self.on_fetch(ctx, from, req),
            (CLIENT, Msg::ListOffsetsRequest(req)) => {
                let resp = self.list_offsets(&req);
                ctx.send(from, Msg::ListOffsetsResponse(resp));
                Ok(())
            }
            (CLIENT, Msg::MetadataRequest) => {
                let partitions = self.metadata.values().cloned().collect();
                ctx.send(from, Msg::MetadataResponse(MetadataResponse { partitions }));
                Ok(())
            }
            (REPLICATION, Msg::OffsetsForLeaderEpochRequest(req)) => {
                let resp = self.offsets_for_leader_epoch(&req, false);
                ctx.send(from, Msg::OffsetsForLeaderEpochResponse(resp));
                Ok(())
            }
            (CLIENT, Msg::OffsetsForLeaderEpochRequest(req)) => {
                let resp = self.offsets_for_leader_epoch(&req, true);
                ctx.send(from, Msg::OffsetsForLeaderEpochResponse(resp));
                Ok(())
            }
            (REPLICATION, Msg::OffsetsForLeaderEpochResponse(resp)) => {
                self.on_offsets_for_leader_epoch(ctx, from, resp)
            }
            (REPLICATION, Msg::FetchResponse(resp)) => self.on_fetch_response(ctx, from, resp),
            (CONTROL, Msg::RegisterResponse(resp)) => {
                self.control_in_flight = false;
                if resp.error == ErrorCode::None {
                    self.broker_epoch = Some(resp.broker_epoch);
                    self.clean = true;
                    self.heartbeat(ctx);
                }
                Ok(())
            }
            (CONTROL, Msg::HeartbeatResponse(resp)) => {
                self.control_in_flight = false;
                if resp.error == ErrorCode::StaleBrokerEpoch {
                    // Fenced out by the controller, but this process lost nothing.
                    self.broker_epoch = None;
                    self.clean = true;
                    self.register(ctx);
                    return Ok(());
                }
                for state in resp.updates {
                    self.apply_state(ctx, state)?;
                }
                Ok(())
            }
            (CONTROL, Msg::AlterPartitionResponse(resp)) => {
                self.on_alter_partition_response(ctx, resp)
            }
            (CONTROL, Msg::ControlledShutdownResponse { .. }) if self.stopping => {
                self.shut_down(ctx);
                Ok(())
            }
            // Only for this registration: a push sent before a restart is stale.
            (
                PUSH,
                Msg::PartitionChange {
                    broker_epoch,
                    state,
                },
            ) if Some(broker_epoch) == self.broker_epoch => self.apply_state(ctx, state),
            (_, Msg::ErrorResponse(_)) => Ok(()),
            (_, msg) if from.role == odradek_sim::Role::Client => {
                let _ = msg;
                ctx.send(from, Msg::ErrorResponse(ErrorCode::InvalidRequest));
                Ok(())
            }
            // An unexpected response: nothing to answer.
            _ => Ok(()),
        }
    }

    fn on_heartbeat_timer(&mut self, ctx: &mut KCtx<'_>) {
        if self.stopping {
            // A heartbeat would put it back in service.
            return;
        }
        ctx.set_timer(BrokerTimer::Heartbeat, self.config.heartbeat_ms);
        if self.control_in_flight {
            // The controller did not answer within a heartbeat: redial, as on a request
            // timeout, and propose the pending ISR changes lost with that connection again.
            ctx.disconnect(self.controller());
            self.control_in_flight = false;
            self.propose_pending_isrs(ctx);
        }
        match self.broker_epoch {
            None => self.register(ctx),
            Some(_) => self.heartbeat(ctx),
        }
    }

    fn heartbeat(&mut self, ctx: &mut KCtx<'_>) {
        let Some(broker_epoch) = self.broker_epoch else {
            return;
        };
        let known = (self.metadata.values())
            .map(|s| (s.tp.clone(), s.leader_epoch, s.partition_epoch))
            .collect();
        let req = HeartbeatRequest {
            broker: self.id,
            broker_epoch,
            known,
        };
        ctx.send(self.controller(), Msg::HeartbeatRequest(req));
        self.control_in_flight = true;
    }

    fn checkpoint_high_watermarks(&mut self, ctx: &mut KCtx<'_>) -> Result<(), Halted> {
        ctx.set_timer(BrokerTimer::HwCheckpoint, self.config.hw_checkpoint_ms);
        for partition in self.partitions.values() {
            if let Err(error) = partition.log.checkpoint_high_watermark(ctx.disk()) {
                return Err(halt(ctx, error));
            }
        }
        Ok(())
    }

    /// Takes a partition state from the controller: newer states only; opens the replica
    /// if it is assigned here and changes its role.
    fn apply_state(&mut self, ctx: &mut KCtx<'_>, state: PartitionState) -> Result<(), Halted> {
        if self.broker_epoch.is_none() {
            // Not registered yet: the state may predate this process's unclean restart.
            return Ok(());
        }
        if let Some(known) = self.metadata.get(&state.tp) {
            if !state.newer_than(known.leader_epoch, known.partition_epoch) {
                return Ok(());
            }
        }
        self.metadata.insert(state.tp.clone(), state.clone());
        if !state.replicas.contains(&self.id) {
            return Ok(());
        }
        if !self.partitions.contains_key(&state.tp) {
            let opened = Partition::open(ctx.disk(), &state.tp).map_err(|e| halt(ctx, e))?;
            self.partitions.insert(state.tp.clone(), opened.partition);
        }
        let partition = self.partitions.get_mut(&state.tp).expect("opened");
        let same_epoch = partition.leader_epoch == state.leader_epoch;
        match state.leader {
            Some(leader) if leader == self.id && same_epoch && partition.is_leader() => {
                self.update_leader_isr(ctx, &state);
            }
            Some(leader) if leader == self.id => self.become_leader(ctx, &state)?,
            leader => {
                let unchanged = same_epoch
                    && matches!(&partition.role, Role::Follower(f) if Some(f.leader) == leader);
                if !unchanged {
                    self.become_follower(ctx, &state, leader);
                }
            }
        }
        self.complete_delayed(ctx);
        Ok(())
    }
}

impl Broker {
    /// Closes every log (flush, high-watermark checkpoint, clean-shutdown marker unless
    /// the controller never heard of what this process's start lost) and exits. A disk
    /// error halts instead: that restart is unclean.
    fn shut_down(&mut self, ctx: &mut KCtx<'_>) {
        // Exiting closes every connection: held fetches are never answered.
        self.held_fetches = HeldFetches::default();
        for (_, partition) in std::mem::take(&mut self.partitions) {
            let closed = match self.clean {
                true => partition.log.close(ctx.disk()),
                false => partition.log.close_without_marker(ctx.disk()),
            };
            if let Err(error) = closed {
                halt(ctx, error);
                return;
            }
        }
        ctx.exit();
    }
}

/// `t-0` to its partition.
fn parse_dir(dir: &str) -> Option<TopicPartition> {
    let (topic, partition) = dir.rsplit_once('-')?;
    Some(TopicPartition::new(topic, partition.parse().ok()?))
}

fn halt(ctx: &mut KCtx<'_>, error: LogError) -> Halted {
    ctx.observe(Observation::Halted {
        reason: error.to_string(),
    });
    ctx.halt();
    Halted
}
