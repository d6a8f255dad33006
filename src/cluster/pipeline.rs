//! Whole runs of the real clients: the nodes of a pipeline run and its swarm scenario,
//! shared by the end-to-end tests and the pipeline benchmark so their figures describe
//! the same system.

use odradek_sim::{nemesis, RngStream, Scenario, SimRng};

use super::{ClusterSpec, NodeConfig};
use crate::consumer::ConsumerConfig;
use crate::protocol::HOLD_KINDS;
use crate::workload::{ConsumerAppConfig, ProducerAppConfig, MAX_POLL_RECORDS};

/// The nodes of a pipeline run: the controller (node 0), the brokers (nodes 1..), then one
/// producer application and one consumer application that reads every partition of the
/// cluster from the earliest offset.
pub fn pipeline_configs(
    cluster: &ClusterSpec,
    producer: ProducerAppConfig,
    consumer: ConsumerConfig,
) -> Vec<NodeConfig> {
    let mut configs = cluster.server_configs();
    configs.push(NodeConfig::Producer(producer));
    configs.push(NodeConfig::Consumer(ConsumerAppConfig {
        brokers: cluster.brokers.clone(),
        partitions: cluster.partitions(),
        consumer,
        max_poll_records: MAX_POLL_RECORDS,
    }));
    configs
}

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
