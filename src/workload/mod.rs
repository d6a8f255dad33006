//! Workload applications: the nodes that drive the real producer and consumer inside the
//! simulated cluster, and record what they did as the invariants crate's history.
//!
//! - [`ProducerApp`] owns a [`Sender`](crate::producer::Sender), the partitioner and the
//!   serializers, and sends the unique values `1..=values_max` at a fixed rate.
//! - [`ConsumerApp`] owns a [`Consumer`](crate::consumer::Consumer), assigns partitions
//!   and polls whenever an input may have given it records.
//!
//! The clients are sans-IO state machines that speak in [`Command`]s; this module is the
//! thin layer that turns them into `Ctx` calls: a [`Destination`] becomes a `Peer` on the
//! [`CLIENT`] channel, a client timer is wrapped in the cluster's [`Timer`], and a `Peer`
//! that answered becomes a `Destination` again. So the same clients run under the
//! simulation driver and the explorer.

mod consumer_app;
mod producer_app;

pub use consumer_app::{ConsumerApp, ConsumerAppConfig};
pub use producer_app::{ProducerApp, ProducerAppConfig};

use odradek_sim::{nemesis, Ctx, NodeId, Peer, RngStream, Scenario, SimRng};
use serde::{Deserialize, Serialize};

use crate::cluster::{
    broker_id, broker_node, ClusterSpec, KafkaNode, NodeConfig, Timer, CLIENT, HOLD_KINDS,
};
use crate::consumer::{ConsumerConfig, ConsumerTimer};
use crate::producer::{Command, Destination, SenderTimer};

type KCtx<'a> = Ctx<'a, KafkaNode>;

/// The workload applications' timers, wrapped in the cluster's [`Timer::Workload`].
#[derive(Debug, Clone, PartialEq, Eq, Hash, PartialOrd, Ord, Serialize, Deserialize)]
pub enum WorkloadTimer {
    /// Producer application: hand the next values to the Sender.
    ProduceTick,
    /// Producer application: one of its Sender's timers.
    Sender(SenderTimer),
    /// Consumer application: one of its consumer's timers.
    Consumer(ConsumerTimer),
}

/// Where a client's requests go: brokers by id, and the controller if the client has one.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
struct Routes {
    /// The controller's node; `None` for a client that never asks it (the consumer).
    controller: Option<NodeId>,
}

impl Routes {
    fn peer(self, to: Destination) -> Peer {
        let node = match to {
            Destination::Broker(broker) => {
                broker_node(broker).expect("metadata names brokers by their node ids")
            }
            Destination::Controller => self
                .controller
                .expect("only a client configured with a controller asks it"),
        };
        Peer::server(node, CLIENT)
    }

    fn destination(self, peer: Peer) -> Destination {
        if Some(peer.node) == self.controller {
            Destination::Controller
        } else {
            Destination::Broker(broker_id(peer.node))
        }
    }

    /// Carries out `commands` in order: messages and resets go to their peers, timers are
    /// wrapped by `timer` into [`Timer::Workload`], and events are handed to `event`.
    fn carry_out<T, E>(
        self,
        ctx: &mut KCtx<'_>,
        commands: Vec<Command<T, E>>,
        timer: fn(T) -> WorkloadTimer,
        mut event: impl FnMut(&mut KCtx<'_>, E),
    ) {
        for command in commands {
            match command {
                Command::Send { to, msg } => ctx.send(self.peer(to), msg),
                Command::Disconnect(to) => ctx.disconnect(self.peer(to)),
                Command::SetTimer { timer: t, delay_ms } => {
                    ctx.set_timer(Timer::Workload(timer(t)), delay_ms)
                }
                Command::CancelTimer(t) => ctx.cancel_timer(Timer::Workload(timer(t))),
                Command::Event(e) => event(ctx, e),
            }
        }
    }
}

/// The nodes of a pipeline run: the controller (node 0), the brokers (nodes 1..), then one
/// producer application and one consumer application that reads every partition of the
/// cluster from the earliest offset. The end-to-end tests and the pipeline benchmark share
/// this shape, so their figures describe the same system.
pub fn pipeline_configs(
    cluster: &ClusterSpec,
    producer: ProducerAppConfig,
    consumer: ConsumerConfig,
) -> Vec<NodeConfig> {
    assert_eq!(cluster.controller, NodeId(0), "the controller is node 0");
    for (i, broker) in cluster.brokers.iter().enumerate() {
        assert_eq!(broker.index(), i + 1, "brokers are nodes 1..");
    }
    let mut configs = vec![NodeConfig::Controller(cluster.clone())];
    configs.extend(
        cluster
            .brokers
            .iter()
            .map(|_| NodeConfig::Broker(cluster.clone())),
    );
    configs.push(NodeConfig::Producer(producer));
    configs.push(NodeConfig::Consumer(ConsumerAppConfig {
        brokers: cluster.brokers.clone(),
        partitions: cluster.partitions(),
        consumer,
        max_poll_records: MAX_POLL_RECORDS,
    }));
    configs
}

/// Kafka's default `max.poll.records`.
pub const MAX_POLL_RECORDS: usize = 500;

/// The seed's swarm scenario for a pipeline run, within the fault budget of the cluster
/// tests (`tests/cluster_swarm.rs`): the nemesis draws kinds and rates from the seed, and
/// crashes, disk and clock faults hit only the controller and the brokers (the
/// applications keep no durable state, so a crash of theirs would only forget sends).
/// Crashes of any mode and disk damage (bit flips, read errors, failed fsyncs, full disks)
/// hit one broker the nemesis draws per seed (`NemesisOptions::lossy_nodes_max`,
/// `crashes_are_lossy`). So at most one replica restarts unclean or loses unsynced data,
/// fewer than `min.insync.replicas`, and every acked acks=all record must survive.
pub fn pipeline_swarm(
    seed: u64,
    cluster: &ClusterSpec,
    faults_ms: u64,
    settle_ms: u64,
) -> Scenario {
    let mut rng = SimRng::for_stream(seed, RngStream::Swarm);
    let mut targets = vec![cluster.controller];
    targets.extend(&cluster.brokers);
    let kinds = HOLD_KINDS.iter().map(|k| k.to_string()).collect();
    let mut options = nemesis::swarm(&mut rng, targets, kinds);
    // One broker drawn per seed may lose data; every crash is an unclean shutdown that
    // KIP-966 counts as possibly lossy, so crashes are confined to it as well. The
    // controller holds the only copy of the metadata: it crashes, but loses nothing.
    options.lossy_nodes_max = Some(1);
    options.lossless = vec![cluster.controller];
    options.crashes_are_lossy = true;
    Scenario {
        faults_ms,
        settle_ms,
        nemesis: options,
        ..Scenario::default()
    }
}
