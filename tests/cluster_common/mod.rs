//! Shared by the cluster tests: a controller (n0), three brokers (n1-n3, replication
//! factor 3, `min.insync.replicas` 2) and the typed client (n4) writing to `t-0`; a run
//! driver; and the direct checks of issue 6 (every acked acks=all record at its offset in
//! the final read, on the final leader and on every ISR member; replicas byte-identical
//! after the settle phase; one leader per epoch).

#![allow(dead_code)] // Each test binary uses part of it.

use std::collections::BTreeMap;

use odradek::client::ClientConfig;
use odradek::cluster::{ClusterSpec, KafkaNode, NodeConfig, Timing, TopicSpec};
use odradek::log::ReadLimits;
use odradek::protocol::{TopicPartition, ACKS_ALL};
use odradek_invariants::{ElectionKind, HistoryEvent, Observation, ReadRecord, SendOutcome};
use odradek_sim::{
    Fault, FaultKind, NodeId, Observed, RunError, Scenario, Simulation, Status, Timed, World,
};

/// A scripted fault schedule from (virtual ms, fault) pairs.
pub fn timed(schedule: Vec<(u64, Fault)>) -> Vec<Timed> {
    (schedule.into_iter())
        .map(|(at_ms, fault)| Timed { at_ms, fault })
        .collect()
}

pub const CONTROLLER: NodeId = NodeId(0);
pub const BROKERS: [NodeId; 3] = [NodeId(1), NodeId(2), NodeId(3)];
pub const CLIENT: NodeId = NodeId(4);

pub fn tp() -> TopicPartition {
    TopicPartition::new("t", 0)
}

pub fn spec(brokers: &[NodeId]) -> ClusterSpec {
    ClusterSpec {
        controller: CONTROLLER,
        brokers: brokers.to_vec(),
        topics: vec![TopicSpec {
            name: "t".into(),
            partitions: 1,
            replication_factor: brokers.len(),
        }],
        min_insync_replicas: 2.min(brokers.len()),
        unclean_leader_election_enable: false,
        timing: Timing::default(),
    }
}

pub fn client(brokers: &[NodeId], writes_max: u64, final_read_at_ms: Option<u64>) -> ClientConfig {
    ClientConfig {
        brokers: brokers.to_vec(),
        controller: CONTROLLER,
        tp: tp(),
        writes_max,
        acks: ACKS_ALL,
        request_timeout_ms: Some(500),
        retry_backoff_ms: 20,
        final_read_at_ms,
        script: Vec::new(),
    }
}

/// Controller, three brokers, client.
pub fn configs(writes_max: u64, final_read_at_ms: Option<u64>) -> Vec<NodeConfig> {
    let mut configs = spec(&BROKERS).server_configs();
    configs.push(NodeConfig::Client(client(
        &BROKERS,
        writes_max,
        final_read_at_ms,
    )));
    configs
}

/// What a run did.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct Outcome {
    pub acked: u64,
    pub failed: u64,
    pub elections: u64,
    pub elections_by_kind: BTreeMap<String, u64>,
    pub truncations: u64,
    /// Restarts whose log recovery cut a torn or corrupt tail.
    pub recovery_cuts: u64,
    pub isr_shrinks: u64,
    pub isr_expansions: u64,
    pub fenced: u64,
    pub final_read: u64,
    pub faults: BTreeMap<&'static str, u64>,
    pub events: u64,
    pub trace_hash: u64,
}

/// Collects observations; checks one leader per epoch as they arrive.
#[derive(Debug, Default)]
pub struct Checker {
    leaders: BTreeMap<i32, NodeId>,
    acked: BTreeMap<u64, i64>,
    acked_at_us: BTreeMap<u64, u64>,
    final_read: Option<Vec<ReadRecord>>,
    last_isr_len: Option<usize>,
    /// Nodes whose disk took a bit flip or read error: their silent damage is the run's
    /// fault budget, so the byte comparison skips them.
    damaged: std::collections::BTreeSet<NodeId>,
    outcome: Outcome,
}

impl Checker {
    pub fn observe(&mut self, entry: &odradek_sim::Observation<Observation>) -> Result<(), String> {
        if let Observed::DiskFault(report) = &entry.what {
            if matches!(report.kind, FaultKind::BitFlip | FaultKind::ReadError) {
                self.damaged.insert(entry.node);
            }
        }
        let Observed::Node(obs) = &entry.what else {
            return Ok(());
        };
        let o = &mut self.outcome;
        match obs {
            Observation::BecameLeader { leader_epoch, .. } => {
                let first = *self.leaders.entry(*leader_epoch).or_insert(entry.node);
                if first != entry.node {
                    return Err(format!(
                        "two leaders in one epoch. partition=t-0 epoch={leader_epoch} first={first:?} second={:?}",
                        entry.node
                    ));
                }
            }
            Observation::LeaderElected { kind, .. } => {
                o.elections += 1;
                *o.elections_by_kind.entry(format!("{kind:?}")).or_default() += 1;
            }
            Observation::Truncated { .. } => o.truncations += 1,
            Observation::Recovered {
                recovery_cut: Some(_),
                ..
            } => o.recovery_cuts += 1,
            Observation::BrokerFenced { .. } => o.fenced += 1,
            Observation::PartitionChanged { isr, .. } => {
                if let Some(before) = self.last_isr_len {
                    if isr.len() < before {
                        o.isr_shrinks += 1;
                    }
                    if isr.len() > before {
                        o.isr_expansions += 1;
                    }
                }
                self.last_isr_len = Some(isr.len());
            }
            Observation::History(HistoryEvent::Complete(c)) => match &c.outcome {
                SendOutcome::Ok { offset } => {
                    o.acked += 1;
                    self.acked.insert(c.value, *offset);
                    self.acked_at_us.insert(c.value, entry.time_us);
                }
                SendOutcome::Failed { .. } => o.failed += 1,
                SendOutcome::Indeterminate { .. } => {}
            },
            Observation::History(HistoryEvent::FinalRead { records, .. }) => {
                o.final_read = records.len() as u64;
                self.final_read = Some(records.clone());
            }
            _ => {}
        }
        Ok(())
    }

    /// Acks received in `[from_us, to_us)`.
    pub fn acked_between(&self, from_us: u64, to_us: u64) -> u64 {
        self.acked_at_us
            .values()
            .filter(|&&t| from_us <= t && t < to_us)
            .count() as u64
    }

    /// The end-of-run checks.
    pub fn finish(&self, world: &World<KafkaNode>) -> Result<(), String> {
        let read = self
            .final_read
            .as_ref()
            .ok_or("no final read after the settle phase. liveness")?;
        let by_offset: BTreeMap<i64, u64> = read.iter().map(|r| (r.offset, r.value)).collect();
        for (&value, &offset) in &self.acked {
            if by_offset.get(&offset) != Some(&value) {
                return Err(format!(
                    "acked record missing from the final read. partition=t-0 offset={offset} value={value} found={:?} acks=all",
                    by_offset.get(&offset)
                ));
            }
        }
        let mut seen = BTreeMap::new();
        for r in read {
            if let Some(other) = seen.insert(r.value, r.offset) {
                return Err(format!(
                    "duplicate. value={} offsets={other},{}",
                    r.value, r.offset
                ));
            }
        }
        let replicas = replica_logs(world);
        let leader = BROKERS.iter().find(|&&b| {
            world
                .node(b)
                .and_then(|n| n.as_broker())
                .and_then(|b| b.partition(&tp()))
                .is_some_and(|p| p.is_leader())
        });
        let leader = leader.ok_or("no leader after the settle phase. liveness")?;
        let leader_bytes = &replicas[leader];
        for (node, bytes) in &replicas {
            if bytes != leader_bytes
                && !self.damaged.contains(node)
                && !self.damaged.contains(leader)
            {
                return Err(format!(
                    "replicas differ after the settle phase. partition=t-0 leader={leader:?} replica={node:?} leader_bytes={} replica_bytes={}",
                    leader_bytes.len(),
                    bytes.len()
                ));
            }
        }
        Ok(())
    }

    pub fn outcome(&self) -> Outcome {
        self.outcome.clone()
    }
}

/// Every up broker's log of t-0, read whole.
pub fn replica_logs(world: &World<KafkaNode>) -> BTreeMap<NodeId, Vec<u8>> {
    let mut logs = BTreeMap::new();
    for &b in &BROKERS {
        if world.status(b) != Status::Up {
            continue;
        }
        let Some(partition) = world
            .node(b)
            .and_then(|n| n.as_broker())
            .and_then(|b| b.partition(&tp()))
        else {
            continue;
        };
        let read = partition
            .log
            .read(world.disk(b), 0, ReadLimits::to_log_end(usize::MAX));
        logs.insert(b, read.map(|r| r.bytes.to_vec()).unwrap_or_default());
    }
    logs
}

/// Runs a scenario and checks it.
pub fn run(
    seed: u64,
    scenario: &Scenario,
    configs: Vec<NodeConfig>,
) -> (Simulation<KafkaNode>, Checker, Result<Outcome, RunError>) {
    let mut sim = Simulation::new(configs, scenario, seed).expect("a valid scenario");
    let mut checker = Checker::default();
    let result = sim.run(&mut |entry| checker.observe(entry));
    let result = result.and_then(|()| {
        checker
            .finish(sim.world())
            .map_err(|message| RunError::Violation {
                time_us: sim.now_us(),
                message,
            })
    });
    let outcome = result.map(|()| Outcome {
        faults: sim.stats().faults.clone(),
        events: sim.stats().events,
        trace_hash: sim.trace().hash(),
        ..checker.outcome()
    });
    (sim, checker, outcome)
}

pub fn is_elr(kind: ElectionKind) -> bool {
    kind == ElectionKind::Elr
}

/// Produce responses delivered to clients, by error.
pub fn produce_errors(sim: &Simulation<KafkaNode>) -> BTreeMap<odradek::protocol::ErrorCode, u64> {
    let mut counts = BTreeMap::new();
    for entry in sim.trace().entries() {
        if let Some(odradek::protocol::Msg::ProduceResponse(resp)) = &entry.message {
            for p in &resp.partitions {
                *counts.entry(p.error).or_default() += 1;
            }
        }
    }
    counts
}

/// A run of the cluster under the explicit `faults` for `run_ms`, without checks, whose
/// client writes `writes_max` values (none: it only sends `script`).
pub fn run_scripted_requests(
    seed: u64,
    writes_max: u64,
    script: Vec<odradek::client::Scripted>,
    faults: Vec<odradek_sim::Timed>,
    run_ms: u64,
) -> Simulation<KafkaNode> {
    let mut configs = configs(writes_max, None);
    if let Some(NodeConfig::Client(client)) = configs.last_mut() {
        client.script = script;
    }
    let scenario = Scenario {
        faults_ms: run_ms,
        settle_ms: 0,
        schedule: Some(faults),
        ..Scenario::default()
    };
    let mut sim = Simulation::new(configs, &scenario, seed).expect("a valid scenario");
    sim.run(&mut |_| Ok(())).expect("the run completes");
    sim
}

/// Every message delivered to `node` at or after `from_ms`, in delivery order.
pub fn delivered_to(
    sim: &Simulation<KafkaNode>,
    node: NodeId,
    from_ms: u64,
) -> Vec<odradek::protocol::Msg> {
    sim.trace()
        .entries()
        .iter()
        .filter(|e| e.time_us >= from_ms * 1000)
        .filter(|e| matches!(&e.event, odradek_sim::Event::Deliver(s) if s.to() == node))
        .filter_map(|e| e.message.clone())
        .collect()
}

/// A RecordBatch v2 of one record with `value`, as an idempotent producer's batch
/// `(producer_id, base_sequence)` or a plain one.
pub fn batch(value: u64, idempotent: Option<(i64, i32)>) -> bytes::Bytes {
    use odradek::record::{BatchBuilder, BatchOptions};
    let options = match idempotent {
        Some((producer_id, base_sequence)) => BatchOptions {
            producer_id,
            producer_epoch: 0,
            base_sequence,
            ..BatchOptions::default()
        },
        None => BatchOptions::default(),
    };
    let mut builder = BatchBuilder::new(options);
    let value = bytes::Bytes::copy_from_slice(&value.to_be_bytes());
    builder
        .append(0, None, Some(value), Vec::new())
        .expect("one record fits");
    builder.build().expect("builds").encode().expect("encodes")
}

/// A produce of `records` to `tp`.
pub fn produce(acks: i16, tp: TopicPartition, records: bytes::Bytes) -> odradek::protocol::Msg {
    odradek::protocol::Msg::ProduceRequest(odradek::protocol::ProduceRequest {
        acks,
        timeout_ms: 5_000,
        partitions: vec![odradek::protocol::PartitionProduce { tp, records }],
    })
}

/// The error and base offset of every produce response, in order.
pub fn produce_results(
    messages: &[odradek::protocol::Msg],
) -> Vec<(odradek::protocol::ErrorCode, i64)> {
    messages
        .iter()
        .filter_map(|m| match m {
            odradek::protocol::Msg::ProduceResponse(resp) => Some(resp),
            _ => None,
        })
        .flat_map(|resp| resp.partitions.iter().map(|p| (p.error, p.base_offset)))
        .collect()
}

/// The log end offset of t-0 on `broker`.
pub fn log_end_offset(world: &World<KafkaNode>, broker: NodeId) -> Option<i64> {
    let partition = world.node(broker)?.as_broker()?.partition(&tp())?;
    Some(partition.log.log_end_offset())
}
