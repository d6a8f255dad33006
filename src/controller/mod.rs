//! The controller: the ZooKeeper role of the seed, as one sans-IO node.
//!
//! It owns broker registrations (broker epochs, heartbeat sessions, fencing), topic
//! creation with replica assignment, leader election (ISR, then ELR, then the last known
//! leader, then unclean only if enabled), ISR changes requested by leaders (fenced by
//! leader, partition and broker epochs), producer ids, and the propagation of every
//! committed partition change to every broker. Its state lives on its disk and is written
//! durably before any answer or push leaves, so a crash and restart lose nothing that was
//! acted on. Session expiry is a timer firing; it reads no clock.

mod config;
mod election;
mod state;

pub use config::{ControllerConfig, ControllerTimer, TopicSpec};
pub use state::{BrokerRecord, ControllerState, StateError};

use std::collections::BTreeMap;

use odradek_invariants::{ElectionKind, Observation};
use odradek_sim::{Ctx, Node, NodeId, Peer};

use crate::protocol::{
    broker_id, broker_node, AlterPartitionRequest, AlterPartitionResponse, BrokerId, ErrorCode,
    HeartbeatRequest, HeartbeatResponse, Msg, PartitionState, RegisterRequest, RegisterResponse,
    TopicPartition, PUSH,
};

type KCtx<'a> = Ctx<'a, Controller>;

/// The controller node. See the module docs.
#[derive(Debug, Clone, PartialEq, Eq, Hash)]
pub struct Controller {
    me: NodeId,
    config: ControllerConfig,
    state: ControllerState,
    /// Per partition, the leader epoch the last-known-leader fallback last installed: the
    /// elections the controller records as possible losses (DESIGN, "History and
    /// invariants"). In memory only, for the explorer's `lost-write`; the oracle reads the
    /// same from the observations.
    fallbacks: BTreeMap<TopicPartition, i32>,
}

/// The controller halted on a disk error; the handler must stop.
struct Halted;

impl Node for Controller {
    type Msg = Msg;
    type Timer = ControllerTimer;
    type Obs = Observation;
    type Config = ControllerConfig;

    /// A fresh controller; `on_start` loads its state from disk.
    fn new(me: NodeId, config: &ControllerConfig) -> Self {
        Self {
            me,
            config: config.clone(),
            state: ControllerState::default(),
            fallbacks: BTreeMap::new(),
        }
    }

    /// Loads the state (halting on a damaged one), or creates it on first start, and arms
    /// every live broker's session.
    fn on_start(&mut self, ctx: &mut KCtx<'_>) {
        match ControllerState::load(ctx.disk()) {
            Ok(Some(state)) => self.state = state,
            Ok(None) => {
                self.state = self.initial_state();
                if self.persist(ctx).is_err() {
                    return;
                }
            }
            // A damaged state is never replaced by a fresh one: that would hand out broker,
            // leader and partition epochs again from the start. The single controller
            // holds the only copy, so it stays down, as ZooKeeper refuses a corrupt
            // snapshot.
            Err(error) => {
                halt(ctx, error.to_string());
                return;
            }
        }
        let live: Vec<BrokerId> = (self.state.brokers.iter())
            .filter(|(_, b)| !b.fenced)
            .map(|(id, _)| *id)
            .collect();
        for broker in live {
            self.arm_session(ctx, broker);
        }
    }

    /// Handles a request from a broker or client. Anything else gets an error response.
    fn on_message(&mut self, ctx: &mut KCtx<'_>, from: Peer, msg: Msg) {
        let _halted = match msg {
            Msg::RegisterRequest(req) => self.on_register(ctx, from, req),
            Msg::HeartbeatRequest(req) => self.on_heartbeat(ctx, from, req),
            Msg::AlterPartitionRequest(req) => self.on_alter_partition(ctx, from, req),
            Msg::InitProducerIdRequest => self.on_init_producer_id(ctx, from),
            Msg::CreateTopicRequest {
                name,
                partitions,
                replication_factor,
            } => {
                let topic = TopicSpec {
                    name,
                    partitions,
                    replication_factor,
                };
                self.on_create_topic(ctx, from, topic)
            }
            Msg::ControlledShutdownRequest {
                broker,
                broker_epoch,
            } => self.on_controlled_shutdown(ctx, from, broker, broker_epoch),
            _ => {
                ctx.send(from, Msg::ErrorResponse(ErrorCode::InvalidRequest));
                Ok(())
            }
        };
    }

    /// A broker's session expired: fence it.
    fn on_timer(&mut self, ctx: &mut KCtx<'_>, timer: ControllerTimer) {
        let ControllerTimer::Session(broker) = timer;
        let _halted = self.fence(ctx, broker);
    }

    /// Brokers redial; nothing the controller holds depends on a connection.
    fn on_disconnect(&mut self, _ctx: &mut KCtx<'_>, _peer: Peer) {}
}

impl Controller {
    /// The committed state.
    pub fn state(&self) -> &ControllerState {
        &self.state
    }

    /// The leader epoch of `tp` the last-known-leader fallback last installed, if any.
    pub fn fallback_epoch(&self, tp: &TopicPartition) -> Option<i32> {
        self.fallbacks.get(tp).copied()
    }

    /// (Re)starts a broker's session, unless periodic timers (heartbeats) are off.
    fn arm_session(&self, ctx: &mut KCtx<'_>, broker: BrokerId) {
        if self.config.sessions_expire {
            ctx.set_timer(
                ControllerTimer::Session(broker),
                self.config.session_timeout_ms,
            );
        }
    }

    fn initial_state(&self) -> ControllerState {
        ControllerState {
            brokers: Default::default(),
            partitions: Vec::new(),
            next_broker_epoch: 1,
            next_producer_id: 1000,
        }
    }

    /// Creates the configured topics once every configured broker has registered, with
    /// every assigned replica in the ISR, as Kafka creates a topic on live brokers. A
    /// topic created on request before then (the real mode's auto-creation) is kept.
    fn maybe_create_topics(&mut self) -> Vec<TopicPartition> {
        let brokers: Vec<BrokerId> = self.config.brokers.iter().map(|&n| broker_id(n)).collect();
        let missing: Vec<TopicSpec> = (self.config.topics.iter())
            .filter(|topic| !self.has_topic(&topic.name))
            .cloned()
            .collect();
        if missing.is_empty() || !brokers.iter().all(|&b| self.state.available(b)) {
            return Vec::new();
        }
        missing
            .iter()
            .flat_map(|topic| self.create_topic(topic, &brokers))
            .collect()
    }

    fn has_topic(&self, name: &str) -> bool {
        (self.state.partitions.iter()).any(|p| &*p.tp.topic == name)
    }

    /// Adds `topic`'s partitions, their replicas assigned round robin over `brokers`,
    /// keeping the partitions in order; returns them.
    fn create_topic(&mut self, topic: &TopicSpec, brokers: &[BrokerId]) -> Vec<TopicPartition> {
        let mut created = Vec::new();
        for p in 0..topic.partitions {
            let replicas: Vec<BrokerId> = (0..topic.replication_factor.min(brokers.len()))
                .map(|i| brokers[(p as usize + i) % brokers.len()])
                .collect();
            created.push(TopicPartition::new(&topic.name, p));
            self.state.partitions.push(PartitionState {
                tp: TopicPartition::new(&topic.name, p),
                replicas: replicas.clone(),
                leader: None,
                leader_epoch: 0,
                partition_epoch: 0,
                isr: replicas,
                elr: Vec::new(),
                last_known_leader: None,
            });
        }
        self.state.partitions.sort_by(|a, b| a.tp.cmp(&b.tp));
        created
    }

    /// A client asks for a topic (Kafka's auto-creation on Metadata): created on the
    /// available brokers if it does not exist, and its leaders elected.
    fn on_create_topic(
        &mut self,
        ctx: &mut KCtx<'_>,
        from: Peer,
        topic: TopicSpec,
    ) -> Result<(), Halted> {
        let available: Vec<BrokerId> = (self.config.brokers.iter())
            .map(|&n| broker_id(n))
            .filter(|&b| self.state.available(b))
            .collect();
        let error = if self.has_topic(&topic.name) {
            ErrorCode::None
        } else if topic.partitions < 1
            || topic.replication_factor < 1
            || topic.replication_factor > available.len()
        {
            ErrorCode::InvalidRequest
        } else {
            let mut changed = self.create_topic(&topic, &available);
            changed.extend(self.elect_offline(ctx));
            self.persist(ctx)?;
            self.publish(ctx, &changed);
            ErrorCode::None
        };
        ctx.send(from, Msg::CreateTopicResponse(error));
        Ok(())
    }

    fn on_register(
        &mut self,
        ctx: &mut KCtx<'_>,
        from: Peer,
        req: RegisterRequest,
    ) -> Result<(), Halted> {
        let known = broker_node(req.broker).is_some_and(|n| self.config.brokers.contains(&n));
        if !known || broker_id(from.node) != req.broker {
            let error = ErrorCode::InvalidRequest;
            ctx.send(
                from,
                Msg::RegisterResponse(RegisterResponse {
                    error,
                    broker_epoch: -1,
                }),
            );
            return Ok(());
        }
        let broker_epoch = self.state.next_broker_epoch;
        self.state.next_broker_epoch += 1;
        self.state.brokers.insert(
            req.broker,
            BrokerRecord {
                broker_epoch,
                fenced: false,
            },
        );
        let min_isr = self.config.min_insync_replicas;
        let bugs = &self.config.bugs;
        let mut changed = Vec::new();
        for state in &mut self.state.partitions {
            let left = match req.clean {
                // A clean restart keeps its ISR and ELR standing, not its leaderships.
                true => election::resign(state, req.broker),
                false => election::remove_from_isr(state, &[req.broker], min_isr, false, bugs),
            };
            if left {
                changed.push(state.tp.clone());
            }
        }
        // Observed before the elections it may cause, so the oracle re-derives the ISR and
        // ELR they were drawn from.
        ctx.observe(Observation::BrokerRegistered {
            broker: req.broker,
            broker_epoch,
            clean: req.clean,
        });
        changed.extend(self.maybe_create_topics());
        changed.extend(self.elect_offline(ctx));
        self.persist(ctx)?;
        ctx.send(
            from,
            Msg::RegisterResponse(RegisterResponse {
                error: ErrorCode::None,
                broker_epoch,
            }),
        );
        self.arm_session(ctx, req.broker);
        self.publish(ctx, &changed);
        Ok(())
    }

    fn on_heartbeat(
        &mut self,
        ctx: &mut KCtx<'_>,
        from: Peer,
        req: HeartbeatRequest,
    ) -> Result<(), Halted> {
        let current = self.state.brokers.get(&req.broker).cloned();
        let Some(record) = current.filter(|r| r.broker_epoch == req.broker_epoch) else {
            let error = ErrorCode::StaleBrokerEpoch;
            let updates = Vec::new();
            ctx.send(
                from,
                Msg::HeartbeatResponse(HeartbeatResponse { error, updates }),
            );
            return Ok(());
        };
        if broker_id(from.node) != req.broker {
            // Only a broker renews its own session (checked after the epoch, so a stale
            // incarnation still learns it is stale).
            let (error, updates) = (ErrorCode::InvalidRequest, Vec::new());
            ctx.send(
                from,
                Msg::HeartbeatResponse(HeartbeatResponse { error, updates }),
            );
            return Ok(());
        }
        let mut changed = Vec::new();
        if record.fenced {
            self.state.brokers.insert(
                req.broker,
                BrokerRecord {
                    fenced: false,
                    ..record
                },
            );
            changed = self.elect_offline(ctx);
            self.persist(ctx)?;
        }
        self.arm_session(ctx, req.broker);
        let updates = (self.state.partitions.iter())
            .filter(|state| {
                let known = req.known.iter().find(|(tp, _, _)| *tp == state.tp);
                known.is_none_or(|(_, le, pe)| state.newer_than(*le, *pe))
            })
            .cloned()
            .collect();
        let error = ErrorCode::None;
        ctx.send(
            from,
            Msg::HeartbeatResponse(HeartbeatResponse { error, updates }),
        );
        self.publish(ctx, &changed);
        Ok(())
    }

    fn on_alter_partition(
        &mut self,
        ctx: &mut KCtx<'_>,
        from: Peer,
        req: AlterPartitionRequest,
    ) -> Result<(), Halted> {
        let (tp, proposed_at) = (req.tp.clone(), req.partition_epoch);
        let reply = |ctx: &mut KCtx<'_>, error, state| {
            let tp = tp.clone();
            ctx.send(
                from,
                Msg::AlterPartitionResponse(AlterPartitionResponse {
                    tp,
                    proposed_at,
                    error,
                    state,
                }),
            );
        };
        // Only the leader itself proposes its partition's ISR (checked after the epochs).
        let named = broker_id(from.node) == req.broker;
        let checked = self.check_alter(&req);
        let checked = checked.and_then(|()| named.then_some(()).ok_or(ErrorCode::InvalidRequest));
        if let Err(error) = checked {
            reply(ctx, error, None);
            return Ok(());
        }
        let min_isr = self.config.min_insync_replicas;
        let new_isr: Vec<BrokerId> = req.new_isr.iter().map(|m| m.broker).collect();
        let state = self.state.partition_mut(&req.tp).expect("checked");
        election::alter_isr(state, &new_isr, min_isr, &self.config.bugs);
        state.partition_epoch += 1;
        let committed = state.clone();
        self.persist(ctx)?;
        reply(ctx, ErrorCode::None, Some(committed));
        self.publish(ctx, &[req.tp]);
        Ok(())
    }

    /// Fencing by broker, leader and partition epochs; added members must be live and
    /// fetching with their current broker epoch (KIP-966's eligibility).
    fn check_alter(&self, req: &AlterPartitionRequest) -> Result<(), ErrorCode> {
        let record = self.state.brokers.get(&req.broker);
        if record.is_none_or(|r| r.broker_epoch != req.broker_epoch || r.fenced) {
            return Err(ErrorCode::StaleBrokerEpoch);
        }
        let state = self
            .state
            .partition(&req.tp)
            .ok_or(ErrorCode::UnknownTopicOrPartition)?;
        if state.leader != Some(req.broker) || state.leader_epoch != req.leader_epoch {
            return Err(ErrorCode::FencedLeaderEpoch);
        }
        if state.partition_epoch != req.partition_epoch {
            return Err(ErrorCode::InvalidUpdateVersion);
        }
        let members: Vec<BrokerId> = req.new_isr.iter().map(|m| m.broker).collect();
        if !members.contains(&req.broker) || members.iter().any(|b| !state.replicas.contains(b)) {
            return Err(ErrorCode::InvalidRequest);
        }
        for member in &req.new_isr {
            if state.isr.contains(&member.broker) {
                continue;
            }
            let eligible = self
                .state
                .brokers
                .get(&member.broker)
                .is_some_and(|r| !r.fenced && r.broker_epoch == member.broker_epoch);
            if !eligible {
                return Err(ErrorCode::IneligibleReplica);
            }
        }
        Ok(())
    }

    fn on_init_producer_id(&mut self, ctx: &mut KCtx<'_>, from: Peer) -> Result<(), Halted> {
        let producer_id = self.state.next_producer_id;
        self.state.next_producer_id += 1;
        self.persist(ctx)?;
        ctx.send(
            from,
            Msg::InitProducerIdResponse {
                error: ErrorCode::None,
                producer_id,
                producer_epoch: 0,
            },
        );
        Ok(())
    }

    /// A broker shuts down cleanly: it leaves service as a fenced broker does (out of every
    /// ISR, staying eligible by KIP-966's rule, leading nothing), and its leaderships go to
    /// the replicas left. Its session no longer runs; its clean restart re-registers.
    fn on_controlled_shutdown(
        &mut self,
        ctx: &mut KCtx<'_>,
        from: Peer,
        broker: BrokerId,
        broker_epoch: i64,
    ) -> Result<(), Halted> {
        let current = self.state.brokers.get(&broker);
        if broker_id(from.node) != broker || current.is_none_or(|r| r.broker_epoch != broker_epoch)
        {
            let error = ErrorCode::StaleBrokerEpoch;
            ctx.send(from, Msg::ControlledShutdownResponse { error });
            return Ok(());
        }
        ctx.cancel_timer(ControllerTimer::Session(broker));
        if let Some(record) = self.state.brokers.get_mut(&broker) {
            record.fenced = true;
        }
        let mut changed = self.leave_isrs(broker);
        ctx.observe(Observation::ControlledShutdown { broker });
        changed.extend(self.elect_offline(ctx));
        self.persist(ctx)?;
        let error = ErrorCode::None;
        ctx.send(from, Msg::ControlledShutdownResponse { error });
        self.publish(ctx, &changed);
        Ok(())
    }

    /// `broker` leaves every ISR it is in, staying eligible by KIP-966's rule, and every
    /// leadership: the partitions that changed.
    fn leave_isrs(&mut self, broker: BrokerId) -> Vec<TopicPartition> {
        let min_isr = self.config.min_insync_replicas;
        let bugs = &self.config.bugs;
        let mut changed = Vec::new();
        for state in &mut self.state.partitions {
            if election::remove_from_isr(state, &[broker], min_isr, true, bugs) {
                changed.push(state.tp.clone());
            }
        }
        changed
    }

    /// A session expired: the broker may no longer lead or stay in an ISR. Members it
    /// leaves at or below `min.insync.replicas` stay eligible (ELR).
    fn fence(&mut self, ctx: &mut KCtx<'_>, broker: BrokerId) -> Result<(), Halted> {
        match self.state.brokers.get_mut(&broker) {
            Some(record) if !record.fenced => record.fenced = true,
            _ => return Ok(()),
        }
        let mut changed = self.leave_isrs(broker);
        ctx.observe(Observation::BrokerFenced { broker });
        changed.extend(self.elect_offline(ctx));
        self.persist(ctx)?;
        self.publish(ctx, &changed);
        Ok(())
    }

    /// Elects a leader for every leaderless partition that can have one.
    fn elect_offline(&mut self, ctx: &mut KCtx<'_>) -> Vec<TopicPartition> {
        let min_isr = self.config.min_insync_replicas;
        let bugs = &self.config.bugs;
        let unclean = self.config.unclean_leader_election_enable;
        let available: Vec<BrokerId> = (self.state.brokers.iter())
            .filter(|(_, r)| !r.fenced)
            .map(|(id, _)| *id)
            .collect();
        let mut elected = Vec::new();
        for state in &mut self.state.partitions {
            if state.leader.is_some() {
                continue;
            }
            let Some(kind) =
                election::elect(state, |b| available.contains(&b), unclean, min_isr, bugs)
            else {
                continue;
            };
            state.partition_epoch += 1;
            if kind == ElectionKind::LastKnownLeader {
                self.fallbacks.insert(state.tp.clone(), state.leader_epoch);
            }
            ctx.observe(Observation::LeaderElected {
                partition: state.tp.to_ref(),
                leader: state.leader.expect("elected"),
                leader_epoch: state.leader_epoch,
                kind,
            });
            elected.push(state.tp.clone());
        }
        elected
    }

    /// Observes and pushes every changed partition to every registered broker.
    fn publish(&mut self, ctx: &mut KCtx<'_>, changed: &[TopicPartition]) {
        let mut changed = changed.to_vec();
        changed.sort();
        changed.dedup();
        for tp in &changed {
            let state = self.state.partition(tp).expect("known partition").clone();
            ctx.observe(Observation::PartitionChanged {
                partition: tp.to_ref(),
                leader: state.leader,
                leader_epoch: state.leader_epoch,
                partition_epoch: state.partition_epoch,
                isr: state.isr.clone(),
                elr: state.elr.clone(),
            });
            for (&broker, record) in &self.state.brokers {
                if let Some(node) = broker_node(broker) {
                    let msg = Msg::PartitionChange {
                        broker_epoch: record.broker_epoch,
                        state: state.clone(),
                    };
                    ctx.send(Peer::server(node, PUSH), msg);
                }
            }
        }
    }

    fn persist(&mut self, ctx: &mut KCtx<'_>) -> Result<(), Halted> {
        self.state
            .store(ctx.disk())
            .map_err(|error| halt(ctx, error.to_string()))
    }

    /// The node id.
    pub fn id(&self) -> NodeId {
        self.me
    }
}

fn halt(ctx: &mut KCtx<'_>, reason: String) -> Halted {
    ctx.observe(Observation::Halted { reason });
    ctx.halt();
    Halted
}
