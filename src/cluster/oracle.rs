//! The cluster's runs judged by the oracle (`odradek-invariants`): the engine's log entries
//! converted to the oracle's, the replicas at rest read from the world, and the settings
//! the invariants depend on taken from the cluster spec.

use odradek_invariants::{
    DiskFaultKind, Entry, Event, Observation, Oracle, OracleConfig, Quiescence, ReplicaAtRest,
    ReplicaContents, Verdict,
};
use odradek_sim::{fnv64, CrashMode, FaultKind, Observed, Status, World};

use super::{KafkaNode, NodeConfig};
use crate::log::ReadLimits;
use crate::protocol::broker_node;

/// The oracle's settings for a run of `configs` (its controller's `min.insync.replicas`
/// and unclean election setting), whose producers are idempotent (or send one request at
/// a time) when `ordered` holds.
pub fn oracle_config(configs: &[NodeConfig], ordered: bool) -> OracleConfig {
    let controller = configs.iter().find_map(|config| match config {
        NodeConfig::Controller(controller) => Some(controller),
        _ => None,
    });
    OracleConfig {
        min_insync_replicas: controller.map_or(1, |c| c.min_insync_replicas),
        unclean_leader_election_enable: controller
            .is_some_and(|c| c.unclean_leader_election_enable),
        idempotent: ordered,
        ordered_sends: ordered,
    }
}

/// One engine log entry as the oracle reads it.
pub fn entry(logged: &odradek_sim::Observation<Observation>) -> Entry {
    let event = match &logged.what {
        Observed::Node(obs) => Event::Node(obs.clone()),
        Observed::DiskFault(report) => Event::DiskFault {
            file: report.name.clone(),
            start: report.range.start,
            end: report.range.end,
            kind: match report.kind {
                FaultKind::PowerLoss(_) => DiskFaultKind::PowerLoss,
                FaultKind::ReadError => DiskFaultKind::ReadError,
                FaultKind::BitFlip => DiskFaultKind::BitFlip,
                FaultKind::SyncFailed => DiskFaultKind::SyncFailed,
            },
        },
        Observed::Crashed { mode, halted } => Event::Crashed {
            power_loss: matches!(mode, CrashMode::PowerLoss(_)),
            halted: *halted,
        },
        Observed::Restarted => Event::Restarted,
        Observed::Stopped => Event::Stopped,
    };
    Entry {
        time_us: logged.time_us,
        node: i32::from(logged.node.0),
        event,
    }
}

/// Feeds `logged` to `oracle`, as a simulation's check hook: the run stops at the first
/// step violation, with its virtual time.
pub fn observe(
    oracle: &mut Oracle,
    logged: &odradek_sim::Observation<Observation>,
) -> Result<(), String> {
    oracle.observe(&entry(logged)).map_err(|v| v.to_string())
}

/// Every assigned replica of every partition the controller knows, read whole from the
/// world: a down broker or a failed read is an error, never an empty log.
pub fn quiescence(world: &World<KafkaNode>) -> Quiescence {
    let controller = world.ids().find_map(|id| world.node(id)?.as_controller());
    let Some(controller) = controller else {
        return Quiescence::default();
    };
    let mut replicas = Vec::new();
    for state in &controller.state().partitions {
        for &broker in &state.replicas {
            let contents = broker_node(broker)
                .filter(|&node| world.status(node) == Status::Up)
                .and_then(|node| {
                    let partition = world.node(node)?.as_broker()?.partition(&state.tp)?;
                    let log = &partition.log;
                    let read = log.read(world.disk(node), 0, ReadLimits::to_log_end(usize::MAX));
                    Some(read.map_err(|e| e.to_string()).map(|read| ReplicaContents {
                        log_end_offset: log.log_end_offset(),
                        high_watermark: log.high_watermark(),
                        digest: fnv64(&read.bytes[..]),
                    }))
                })
                .unwrap_or_else(|| Err("broker down or replica not open".into()));
            replicas.push(ReplicaAtRest {
                partition: state.tp.to_ref(),
                broker,
                contents,
            });
        }
    }
    Quiescence { replicas }
}

/// The oracle's verdict on a finished run.
pub fn judge(oracle: Oracle, world: &World<KafkaNode>) -> Verdict {
    oracle.finish(&quiescence(world))
}
