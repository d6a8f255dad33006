//! A small system to prove the engine on: a primary-backup replicated log with a client.
//!
//! Two replicas (`n0`, `n1`) keep a log; the primary of each epoch replicates every write
//! to the backup before it acks the client (`n2`), and a backup that loses its primary
//! takes over (failover). The bug switch `ack_before_backup` makes the primary ack as
//! soon as the write is in its own log: one wrong decision, invisible without faults,
//! which loses acked writes when a failover follows.
//!
//! Shared by the tests (`tests/primary_backup.rs`) and the `swarm` and `bench` examples
//! through `#[path]` modules; it is not part of the framework's API.

mod checker;
mod client;
// Used only by the explorer's users (examples/explore.rs, tests/primary_backup_explorer.rs).
#[allow(dead_code)]
pub mod explore;
mod replica;
mod storage;

use std::collections::BTreeMap;

use odradek_sim::{
    nemesis, Channel, Ctx, Message, Node, NodeId, Peer, RngStream, RunError, Scenario, SimRng,
    Simulation,
};
use serde::{Deserialize, Serialize};

pub use checker::Checker;
pub use client::Client;
pub use replica::Replica;
pub use storage::Entry;

/// Replication: the primary dials the backup.
pub const REPLICATION: Channel = Channel(0);
/// Client requests: the client dials a replica.
pub const CLIENT: Channel = Channel(1);
/// The replicas.
pub const REPLICAS: [NodeId; 2] = [NodeId(0), NodeId(1)];
/// The client.
pub const CLIENT_NODE: NodeId = NodeId(2);
/// Message kinds the nemesis may hold (delayed acks and confirmations).
pub const HOLD_KINDS: [&str; 3] = ["ack", "append", "appended"];

/// Everything the nodes say to each other.
#[derive(Debug, Clone, PartialEq, Eq, Hash)]
pub enum Msg {
    /// Client to replica: append `value`.
    Write {
        /// The client's unique value.
        value: u64,
    },
    /// Replica to client: `value` is durable at `index` on both replicas.
    Ack {
        /// The value written.
        value: u64,
        /// Where it sits in the log.
        index: u64,
    },
    /// Replica to client: ask the other replica.
    NotPrimary,
    /// Replica to client: no room on disk; retry later.
    Rejected,
    /// Primary to backup: make your log your first `prev_len` entries (the last of epoch
    /// `prev_epoch`) followed by `entries`.
    Append {
        /// The primary's epoch.
        epoch: u32,
        /// How much of the backup's log is kept.
        prev_len: u64,
        /// The epoch of the entry at `prev_len - 1`, to check the prefix matches.
        prev_epoch: u32,
        /// Everything the primary has after the prefix.
        entries: Vec<Entry>,
    },
    /// Backup to primary: my log equals your first `len` entries, durably.
    Appended {
        /// The epoch confirmed.
        epoch: u32,
        /// The matching length.
        len: u64,
    },
    /// Backup to primary: the prefix did not match; try from `len`.
    Mismatch {
        /// The epoch.
        epoch: u32,
        /// A length to try next, below the one that failed.
        len: u64,
    },
    /// Backup to an old primary: a later epoch exists.
    Stale {
        /// The later epoch.
        epoch: u32,
    },
}

impl Message for Msg {
    fn kind(&self) -> &'static str {
        match self {
            Msg::Write { .. } => "write",
            Msg::Ack { .. } => "ack",
            Msg::NotPrimary => "not_primary",
            Msg::Rejected => "rejected",
            Msg::Append { .. } => "append",
            Msg::Appended { .. } => "appended",
            Msg::Mismatch { .. } => "mismatch",
            Msg::Stale { .. } => "stale",
        }
    }
}

/// Every timer of either node kind.
#[derive(Debug, Clone, PartialEq, Eq, Hash, PartialOrd, Ord, Serialize, Deserialize)]
pub enum Timer {
    /// Backup: the primary has been silent too long.
    Election,
    /// Primary: time to send an append, even an empty one.
    Heartbeat,
    /// Primary: the backup has not answered.
    AppendTimeout,
    /// Client: send the next write or a retry.
    Send,
    /// Client: the replica has not answered.
    RequestTimeout,
}

/// What the nodes report.
#[derive(Debug, Clone, PartialEq, Eq, Hash)]
pub enum Obs {
    /// The client got an ack: a promise that `value` stays at `index`.
    Acked {
        /// The value.
        value: u64,
        /// Its index.
        index: u64,
        /// The client's wall clock when the ack arrived.
        wall_clock_ms: i64,
    },
    /// A replica took over as primary of `epoch`.
    BecamePrimary {
        /// The epoch.
        epoch: u32,
    },
    /// A replica recovered from its disk.
    Recovered {
        /// Whether it found damage and must catch up before leading.
        catching_up: bool,
        /// Entries it kept.
        len: u64,
    },
    /// A damaged replica got a full log again.
    CaughtUp,
    /// A replica halted on a disk error.
    Halted {
        /// The error.
        reason: String,
    },
}

/// A node of the system.
#[derive(Debug, Clone, PartialEq, Eq, Hash)]
pub enum PbNode {
    /// A replica.
    Replica(Replica),
    /// The client.
    Client(Client),
}

/// How to build a node.
#[derive(Debug, Clone)]
pub enum Config {
    /// A replica and its partner.
    Replica {
        /// The other replica.
        other: NodeId,
        /// The bug switch.
        ack_before_backup: bool,
    },
    /// The client.
    Client {
        /// Values it writes at most.
        writes_max: u64,
    },
}

impl Node for PbNode {
    type Msg = Msg;
    type Timer = Timer;
    type Obs = Obs;
    type Config = Config;

    fn new(id: NodeId, config: &Config) -> Self {
        match *config {
            Config::Replica {
                other,
                ack_before_backup,
            } => PbNode::Replica(Replica::new(id, other, ack_before_backup)),
            Config::Client { writes_max } => PbNode::Client(Client::new(REPLICAS, writes_max)),
        }
    }

    fn on_start(&mut self, ctx: &mut Ctx<'_, Self>) {
        match self {
            PbNode::Replica(replica) => replica.on_start(ctx),
            PbNode::Client(client) => client.on_start(ctx),
        }
    }

    fn on_message(&mut self, ctx: &mut Ctx<'_, Self>, from: Peer, msg: Msg) {
        match self {
            PbNode::Replica(replica) => replica.on_message(ctx, from, msg),
            PbNode::Client(client) => client.on_message(ctx, from, msg),
        }
    }

    fn on_timer(&mut self, ctx: &mut Ctx<'_, Self>, timer: Timer) {
        match self {
            PbNode::Replica(replica) => replica.on_timer(ctx, timer),
            PbNode::Client(client) => client.on_timer(ctx, timer),
        }
    }

    fn on_disconnect(&mut self, ctx: &mut Ctx<'_, Self>, peer: Peer) {
        match self {
            PbNode::Replica(replica) => replica.on_disconnect(ctx, peer),
            PbNode::Client(client) => client.on_disconnect(ctx, peer),
        }
    }
}

/// How to run the system.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Options {
    /// Switch the bug on.
    pub bug: bool,
    /// Draw a swarm of faults from the seed (otherwise none).
    pub faults: bool,
    /// Length of the fault phase.
    pub faults_ms: u64,
    /// Length of the heal-and-settle phase.
    pub settle_ms: u64,
}

impl Default for Options {
    fn default() -> Self {
        Self {
            bug: false,
            faults: true,
            faults_ms: 10_000,
            settle_ms: 5_000,
        }
    }
}

/// What one run did, for tests to demand minimum counts of.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct Outcome {
    /// Acks the client received.
    pub acked: u64,
    /// Acks received after the heal.
    pub acked_after_heal: u64,
    /// Epoch changes after the first.
    pub failovers: u64,
    /// Damaged replicas that caught up again.
    pub catch_ups: u64,
    /// Faults applied, by kind.
    pub faults: BTreeMap<&'static str, u64>,
    /// Events applied.
    pub events: u64,
    /// Virtual time the run covered.
    pub simulated_ms: u64,
    /// The trace hash.
    pub trace_hash: u64,
}

/// The node configurations: two replicas, then a client that writes without end.
pub fn configs(bug: bool) -> Vec<Config> {
    configs_writing(bug, u64::MAX)
}

/// The node configurations: two replicas, then a client that writes `writes_max` values.
pub fn configs_writing(bug: bool, writes_max: u64) -> Vec<Config> {
    let replica = |other| Config::Replica {
        other,
        ack_before_backup: bug,
    };
    vec![
        replica(REPLICAS[1]),
        replica(REPLICAS[0]),
        Config::Client { writes_max },
    ]
}

/// The scenario for a seed: a swarm of faults drawn from it, or none.
pub fn scenario(seed: u64, options: &Options) -> Scenario {
    let mut scenario = Scenario {
        faults_ms: options.faults_ms,
        settle_ms: options.settle_ms,
        ..Scenario::default()
    };
    if options.faults {
        let mut rng = SimRng::for_stream(seed, RngStream::Swarm);
        let kinds = HOLD_KINDS.iter().map(|kind| kind.to_string()).collect();
        scenario.nemesis = nemesis::swarm(&mut rng, REPLICAS.to_vec(), kinds);
    }
    scenario
}

/// Builds, runs and checks the system for a seed with the swarm (or no) faults that
/// `options` ask for. Returns the simulation too, for its trace.
pub fn run(seed: u64, options: &Options) -> (Simulation<PbNode>, Result<Outcome, RunError>) {
    run_scenario(seed, &scenario(seed, options), options.bug)
}

/// Builds, runs and checks the system for a seed under a given scenario: one primary per
/// epoch as it goes; every acked write in the final log, replicas agreeing and writes
/// acked after the heal at the end.
pub fn run_scenario(
    seed: u64,
    scenario: &Scenario,
    bug: bool,
) -> (Simulation<PbNode>, Result<Outcome, RunError>) {
    let mut sim = Simulation::new(configs(bug), scenario, seed).expect("a valid scenario");
    let result = run_checked(&mut sim, scenario.faults_ms * 1000);
    (sim, result)
}

fn run_checked(sim: &mut Simulation<PbNode>, heal_us: u64) -> Result<Outcome, RunError> {
    let mut checker = Checker::default();
    sim.run(&mut |entry| checker.observe(entry))?;
    checker
        .finish(sim.world(), heal_us)
        .map_err(|message| RunError::Violation {
            time_us: sim.now_us(),
            message,
        })?;
    Ok(Outcome {
        acked: checker.acked(),
        acked_after_heal: checker.acked_after(heal_us),
        failovers: checker.failovers(),
        catch_ups: checker.catch_ups(),
        faults: sim.stats().faults.clone(),
        events: sim.stats().events,
        simulated_ms: sim.now_us() / 1000,
        trace_hash: sim.trace().hash(),
    })
}
