//! The explorer on the real Kafka nodes (`odradek check`): a controller, `replicas` brokers
//! hosting one partition, and the typed test client writing acks=all records, searched
//! breadth first (the first violation found is a shortest counterexample) or depth first
//! (fingerprints only, for bounds whose frontier does not fit in memory), from boot, from a
//! leader with the full ISR, or from the client's first ack (where every state holds an
//! acked record, so durability is judged after each crash).
//!
//! Time is abstracted (any armed timer may fire next) and the client has no request
//! timeout. The timers that re-arm forever (`Timing::periodic_timers`: heartbeats, session
//! expiry, high-watermark checkpoints) are off unless asked for: with them on a session may
//! expire at any moment, so leader changes arise without a crash, at a cost of 20x the
//! states at depth 8 and 36x at depth 10 (two replicas, one record, from the booted
//! start). Without them leader changes come from crashes, restarts (a restarted broker
//! registers with a new broker epoch) and ISR changes. The
//! model's constraint is the number of messages in flight per stream; the search's limits
//! are the depth bound and the state budget, and the report says which one cut it.
//!
//! The properties are predicates over the world's state, named like the oracle's
//! invariants: `lost-write` (every acked record is at its offset on the newest leader, but
//! for a leader the last-known-leader fallback installed: an allowed loss),
//! `strong-isr` (the leader's high watermark is within the log of every committed ISR
//! member following it), `two-leaders` (one leader per epoch), `log-divergence` (up
//! replicas agree below the smaller of their high watermarks).

use std::collections::BTreeMap;

use odradek_sim::explorer::{Explorer, ExplorerError, Report, WorldBounds, WorldModel};
use odradek_sim::{CrashMode, NodeId, PowerLoss, SimDiskOptions, World};

use super::{ClusterSpec, KafkaNode, NodeConfig, Timing};
use crate::broker::Role;
use crate::bugs::Bugs;
use crate::client::ClientConfig;
use crate::controller::TopicSpec;
use crate::log::ReadLimits;
use crate::protocol::{TopicPartition, ACKS_ALL};
use crate::record::RecordBatch;

/// `lost-write`, on the state: an acked record is missing from its offset on the leader
/// with the highest epoch.
pub const LOST_WRITE: &str = "lost-write";
/// `strong-isr`: the leader's high watermark passed the log end of a member of the ISR the
/// controller committed, following it in the same epoch.
pub const STRONG_ISR: &str = "strong-isr";
/// `two-leaders`: two up brokers lead the partition in one epoch.
pub const TWO_LEADERS: &str = "two-leaders";
/// `log-divergence`: two up replicas differ below the smaller of their high watermarks.
pub const LOG_DIVERGENCE: &str = "log-divergence";

/// The constraint on the leader epochs the controller commits.
pub const LEADER_EPOCHS: &str = "leader epochs";
/// The constraint on the partition changes the controller commits.
pub const PARTITION_EPOCHS: &str = "partition epochs";

/// The controller's node.
const CONTROLLER: NodeId = NodeId(0);

/// What `odradek check` explores.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct CheckOptions {
    /// Brokers, every one a replica of the one partition.
    pub replicas: u16,
    /// Records the client writes, one at a time.
    pub records: u64,
    /// `min.insync.replicas`.
    pub min_insync_replicas: usize,
    /// Crashes along a path (and as many restarts).
    pub crashes: u8,
    /// Crashes are power losses that lose the page cache, instead of process crashes.
    pub power_loss: bool,
    /// Only the first broker may crash.
    pub crash_first_only: bool,
    /// Messages in flight per stream beyond which a state is not expanded.
    pub in_flight_max: usize,
    /// The highest leader epoch the controller may commit (the specs' epochs 0..N; the
    /// boot's election is epoch 1); `None`: no bound.
    pub epochs_max: Option<i32>,
    /// The most partition changes (leader or ISR or ELR, KIP-966's partition epoch) the
    /// controller may commit; `None`: no bound.
    pub partition_epochs_max: Option<i32>,
    /// Bug-zoo switches of the controller and brokers.
    pub bugs: Bugs,
    /// The search's depth bound.
    pub depth_max: Option<usize>,
    /// The search's state budget.
    pub states_max: Option<u64>,
    /// Threads searching (breadth first only).
    pub threads: usize,
    /// Breadth first (shortest counterexamples, the frontier's states in memory) or depth
    /// first (fingerprints only, so deeper bounds fit; a counterexample is not proven
    /// shortest).
    pub search: Search,
    /// The timers that re-arm forever run (`Timing::periodic_timers`): broker heartbeats,
    /// the controller's session expiry and high-watermark checkpoints. With time
    /// abstracted a session may expire at any moment, so the controller fences a live
    /// broker and elects another leader without a crash, as a slow heartbeat does.
    pub periodic_timers: bool,
    /// Search from boot rather than from the world a deterministic run reaches once a
    /// leader is elected with every replica in the ISR ([`BOOTED`]).
    pub from_boot: bool,
    /// Search from the world a deterministic run reaches once the client's first record
    /// is acked ([`ACKED`]): every state searched holds an acked record, so durability is
    /// judged after every crash the budget allows, at depths a search from boot cannot
    /// afford. Takes precedence over `from_boot`.
    pub from_ack: bool,
}

/// Where the search starts with `from_ack`.
pub const ACKED: &str = "the client's first record acked";

/// The order `odradek check` searches in.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub enum Search {
    /// Breadth first: the first violation found is a shortest counterexample.
    #[default]
    Bfs,
    /// Depth first: memory for the states' fingerprints and one path only, so bounds too
    /// deep for breadth first fit; a counterexample is one path, not proven shortest. With
    /// a depth bound a state reached again at a smaller depth is expanded again, so a
    /// search no limit cut still covers every state within the bound.
    Dfs,
}

/// Where the search starts unless `from_boot`: as the TLA+ specs' `Init`, a running
/// cluster.
pub const BOOTED: &str = "a leader elected with every replica in its ISR";

impl Default for CheckOptions {
    /// Two replicas, one record, `min.insync.replicas` 1 (the ISR may shrink to the
    /// leader, as the TLA+ specifications let it), one process crash (the page cache is
    /// kept) of any broker, one message in flight per stream, 20 steps deep.
    fn default() -> Self {
        Self {
            replicas: 2,
            records: 1,
            min_insync_replicas: 1,
            crashes: 1,
            power_loss: false,
            crash_first_only: false,
            in_flight_max: 1,
            epochs_max: None,
            partition_epochs_max: None,
            bugs: Bugs::default(),
            depth_max: Some(20),
            states_max: None,
            threads: 1,
            search: Search::Bfs,
            periodic_timers: false,
            from_boot: false,
            from_ack: false,
        }
    }
}

impl CheckOptions {
    fn brokers(&self) -> Vec<NodeId> {
        (1..=self.replicas).map(NodeId).collect()
    }

    fn client(&self) -> NodeId {
        NodeId(self.replicas + 1)
    }

    /// The nodes' configurations: controller, brokers, client.
    pub fn configs(&self) -> Vec<NodeConfig> {
        let brokers = self.brokers();
        let spec = ClusterSpec {
            controller: CONTROLLER,
            brokers: brokers.clone(),
            topics: vec![TopicSpec {
                name: "t".into(),
                partitions: 1,
                replication_factor: usize::from(self.replicas),
            }],
            min_insync_replicas: self.min_insync_replicas,
            unclean_leader_election_enable: false,
            timing: Timing {
                periodic_timers: self.periodic_timers,
                ..Timing::default()
            },
            bugs: self.bugs.clone(),
        };
        let mut configs = spec.server_configs();
        configs.push(NodeConfig::Client(ClientConfig {
            brokers,
            controller: CONTROLLER,
            tp: partition(),
            writes_max: self.records,
            acks: ACKS_ALL,
            request_timeout_ms: None,
            retry_backoff_ms: 20,
            final_read_at_ms: None,
            script: Vec::new(),
        }));
        configs
    }

    /// The world as a model, with the three properties.
    pub fn model(&self) -> Result<WorldModel<KafkaNode>, ExplorerError> {
        let mode = match self.power_loss {
            true => CrashMode::PowerLoss(PowerLoss::LoseAll),
            false => CrashMode::Process,
        };
        let bounds = WorldBounds {
            crashes_max: self.crashes,
            restarts_max: self.crashes,
            crash_modes: vec![mode],
            crashable: match self.crash_first_only {
                true => vec![NodeId(1)],
                false => self.brokers(),
            },
            in_flight_max: self.in_flight_max,
            ..WorldBounds::default()
        };
        let (brokers, client) = (self.brokers(), self.client());
        let (b1, b2, b3, b4) = (
            brokers.clone(),
            brokers.clone(),
            brokers.clone(),
            brokers.clone(),
        );
        let model = WorldModel::new(self.configs(), SimDiskOptions::default(), bounds)?
            .always(LOST_WRITE, move |w| {
                acked_on_newest_leader(w, &brokers, client)
            })
            .always(STRONG_ISR, move |w| hw_within_committed_isr(w, &b4))
            .always(TWO_LEADERS, move |w| one_leader_per_epoch(w, &b1))
            .always(LOG_DIVERGENCE, move |w| replicas_agree_below_hw(w, &b2));
        let committed = |w: &World<KafkaNode>| {
            let controller = w.node(CONTROLLER)?.as_controller()?;
            let state = controller
                .state()
                .partitions
                .iter()
                .find(|p| p.tp == partition())?;
            Some((state.leader_epoch, state.partition_epoch))
        };
        let model = match self.epochs_max {
            Some(max) => model.constraint(LEADER_EPOCHS, move |w| {
                committed(w).is_none_or(|(epoch, _)| epoch <= max)
            }),
            None => model,
        };
        let model = match self.partition_epochs_max {
            Some(max) => model.constraint(PARTITION_EPOCHS, move |w| {
                committed(w).is_none_or(|(_, epoch)| epoch <= max)
            }),
            None => model,
        };
        Ok(match (self.from_ack, self.from_boot) {
            (true, _) => model.start_when(ACKED, move |w| {
                (w.node(client).and_then(KafkaNode::as_client))
                    .is_some_and(|c| !c.acked().is_empty())
            }),
            (false, true) => model,
            (false, false) => model.start_when(BOOTED, move |w| full_isr_leader(w, &b3)),
        })
    }

    /// Searches in the order of [`CheckOptions::search`].
    pub fn run(&self) -> Result<Report<WorldModel<KafkaNode>>, ExplorerError> {
        let mut explorer = Explorer::new(self.model()?).threads(self.threads);
        if let Some(depth) = self.depth_max {
            explorer = explorer.depth_max(depth);
        }
        if let Some(states) = self.states_max {
            explorer = explorer.states_max(states);
        }
        match self.search {
            Search::Bfs => explorer.bfs(),
            Search::Dfs => explorer.dfs(),
        }
    }
}

/// The partition explored.
pub fn partition() -> TopicPartition {
    TopicPartition::new("t", 0)
}

/// The bytes of every batch below `end` on `broker`, if it is up and hosts the partition.
fn log_below(world: &World<KafkaNode>, broker: NodeId, end: i64) -> Option<Vec<u8>> {
    let partition = world
        .node(broker)?
        .as_broker()?
        .partition(&self::partition())?;
    let limits = ReadLimits::to_offset(usize::MAX, end);
    let read = partition.log.read(world.disk(broker), 0, limits).ok()?;
    Some(read.bytes.to_vec())
}

/// Up brokers leading the partition, with their epochs.
fn leaders(world: &World<KafkaNode>, brokers: &[NodeId]) -> Vec<(i32, NodeId)> {
    (brokers.iter())
        .filter_map(|&b| {
            let partition = world.node(b)?.as_broker()?.partition(&partition())?;
            partition.is_leader().then_some((partition.leader_epoch, b))
        })
        .collect()
}

/// Every value the client saw acked (one record per batch) is at its offset in the log of
/// the up leader with the highest epoch, unless the last-known-leader fallback installed
/// that leader in that epoch: the controller records such an election as a possible loss,
/// and it elects so only with the ISR and the ELR empty (DESIGN's allowed loss, judged
/// from the state the controller keeps).
pub fn acked_on_newest_leader(
    world: &World<KafkaNode>,
    brokers: &[NodeId],
    client: NodeId,
) -> bool {
    let Some(client) = world.node(client).and_then(KafkaNode::as_client) else {
        return true;
    };
    let Some((epoch, leader)) = leaders(world, brokers).into_iter().max() else {
        return true;
    };
    let controller = world.node(CONTROLLER).and_then(KafkaNode::as_controller);
    if controller.and_then(|c| c.fallback_epoch(&partition())) == Some(epoch) {
        return true;
    }
    client.acked().iter().all(|(&value, &offset)| {
        let Some(bytes) = log_below(world, leader, offset + 1) else {
            return false;
        };
        let mut found = None;
        let mut rest = &bytes[..];
        while let Ok((batch, used)) = RecordBatch::decode(rest) {
            for record in &batch.records {
                if batch.record_offset(record) == offset {
                    found = record.value.clone();
                }
            }
            rest = &rest[used..];
        }
        found.as_deref() == Some(&value.to_be_bytes()[..])
    })
}

/// An up broker leads the partition with every replica in its ISR.
pub fn full_isr_leader(world: &World<KafkaNode>, brokers: &[NodeId]) -> bool {
    (brokers.iter()).any(|&b| {
        let partition = world
            .node(b)
            .and_then(|n| n.as_broker()?.partition(&partition()));
        matches!(
            partition.map(|p| &p.role),
            Some(Role::Leader(leader)) if leader.isr.len() == brokers.len()
        )
    })
}

/// The leader in the controller's committed epoch has its high watermark at most at the
/// log end of every committed ISR member that follows it in that epoch (a member that has
/// not learnt of the epoch yet, or is down, is not judged).
pub fn hw_within_committed_isr(world: &World<KafkaNode>, brokers: &[NodeId]) -> bool {
    let Some(controller) = world.node(CONTROLLER).and_then(KafkaNode::as_controller) else {
        return true;
    };
    let Some(committed) = (controller.state().partitions.iter()).find(|p| p.tp == partition())
    else {
        return true;
    };
    let replica = |b: NodeId| world.node(b)?.as_broker()?.partition(&partition());
    let Some(leader) = (brokers.iter())
        .filter_map(|&b| replica(b))
        .find(|p| p.is_leader() && p.leader_epoch == committed.leader_epoch)
    else {
        return true;
    };
    let hw = leader.log.high_watermark();
    (brokers.iter()).all(|&b| {
        let Some(member) = replica(b) else {
            return true;
        };
        let following = matches!(member.role, Role::Follower(_))
            && member.leader_epoch == committed.leader_epoch;
        let in_isr = committed.isr.contains(&crate::protocol::broker_id(b));
        !(following && in_isr) || hw <= member.log.log_end_offset()
    })
}

/// No two up brokers lead the partition in one epoch.
pub fn one_leader_per_epoch(world: &World<KafkaNode>, brokers: &[NodeId]) -> bool {
    let mut by_epoch: BTreeMap<i32, u32> = BTreeMap::new();
    for (epoch, _) in leaders(world, brokers) {
        *by_epoch.entry(epoch).or_default() += 1;
    }
    by_epoch.values().all(|&count| count == 1)
}

/// Any two up replicas hold the same bytes below the smaller of their high watermarks.
pub fn replicas_agree_below_hw(world: &World<KafkaNode>, brokers: &[NodeId]) -> bool {
    let hw = |b: NodeId| {
        let partition = world.node(b)?.as_broker()?.partition(&partition())?;
        Some(partition.log.high_watermark())
    };
    let up: Vec<(NodeId, i64)> = (brokers.iter())
        .filter_map(|&b| Some((b, hw(b)?)))
        .collect();
    up.iter().enumerate().all(|(i, &(a, hw_a))| {
        up[i + 1..].iter().all(|&(b, hw_b)| {
            let end = hw_a.min(hw_b);
            log_below(world, a, end) == log_below(world, b, end)
        })
    })
}
