//! Shared by the cluster tests: a controller (n0), three brokers (n1-n3, replication
//! factor 3, `min.insync.replicas` 2) and the typed client (n4) writing to `t-0`; and a
//! run driver that judges every run by the oracle (`odradek-invariants`).

#![allow(dead_code)] // Each test binary uses part of it.

use std::collections::BTreeMap;

use odradek::client::ClientConfig;
use odradek::cluster::{
    judge, observe, oracle_config, ClusterSpec, KafkaNode, NodeConfig, Timing, TopicSpec,
};
use odradek::protocol::{TopicPartition, ACKS_ALL};
use odradek_invariants::{
    Counts, ElectionKind, HistoryEvent, Observation, Oracle, SendOutcome, Verdict,
};
use odradek_sim::{Fault, NodeId, Observed, RunError, Scenario, Simulation, Timed, World};

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
        bugs: Default::default(),
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
    configs_of(&spec(&BROKERS), writes_max, final_read_at_ms)
}

/// The nodes of `spec` (three brokers) and the client.
pub fn configs_of(
    spec: &ClusterSpec,
    writes_max: u64,
    final_read_at_ms: Option<u64>,
) -> Vec<NodeConfig> {
    let mut configs = spec.server_configs();
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
    /// Elections after the boot election: failovers.
    pub failovers: u64,
    /// Bytes disk faults changed or lost.
    pub disk_bytes_lost: u64,
    pub elections_by_kind: BTreeMap<String, u64>,
    pub truncations: u64,
    /// Restarts whose log recovery cut a torn or corrupt tail.
    pub recovery_cuts: u64,
    pub isr_shrinks: u64,
    pub isr_expansions: u64,
    pub fenced: u64,
    pub final_read: u64,
    pub faults: BTreeMap<&'static str, u64>,
    /// Faults injected (`RunStats::faults_injected`).
    pub faults_injected: u64,
    pub events: u64,
    pub trace_hash: u64,
}

/// The oracle over a run, plus when each ack arrived (for scenarios that ask about a
/// window of time).
#[derive(Debug)]
pub struct Checker {
    oracle: Oracle,
    acked_at_us: BTreeMap<u64, u64>,
    /// The oracle's verdict, once the run ended without a step violation.
    pub verdict: Option<Verdict>,
}

impl Checker {
    pub fn new(configs: &[NodeConfig]) -> Self {
        Self {
            oracle: Oracle::new(oracle_config(configs, true)),
            acked_at_us: BTreeMap::new(),
            verdict: None,
        }
    }

    pub fn observe(&mut self, entry: &odradek_sim::Observation<Observation>) -> Result<(), String> {
        if let Observed::Node(Observation::History(HistoryEvent::Complete(c))) = &entry.what {
            if matches!(c.outcome, SendOutcome::Ok { .. }) {
                self.acked_at_us.insert(c.value, entry.time_us);
            }
        }
        observe(&mut self.oracle, entry)
    }

    /// Acks received in `[from_us, to_us)`.
    pub fn acked_between(&self, from_us: u64, to_us: u64) -> u64 {
        self.acked_at_us
            .values()
            .filter(|&&t| from_us <= t && t < to_us)
            .count() as u64
    }

    /// Judges the history invariants; the first violation is the run's error.
    fn finish(&mut self, world: &World<KafkaNode>) -> Result<(), RunError> {
        let oracle = self.oracle.clone();
        let verdict = judge(oracle, world);
        let first = verdict.violations.first().map(|v| RunError::Violation {
            time_us: v.time_us,
            message: v.to_string(),
        });
        self.verdict = Some(verdict);
        first.map_or(Ok(()), Err)
    }
}

/// What a run did, as the oracle counted it.
pub fn outcome(counts: &Counts, sim: &Simulation<KafkaNode>) -> Outcome {
    Outcome {
        acked: counts.acked,
        failed: counts.failed,
        elections: counts.elections_by_kind.values().sum(),
        failovers: counts.failovers,
        disk_bytes_lost: counts.disk_bytes_lost,
        elections_by_kind: counts.elections_by_kind.clone(),
        truncations: counts.truncations,
        recovery_cuts: counts.recovery_cuts,
        isr_shrinks: counts.isr_shrinks,
        isr_expansions: counts.isr_expansions,
        fenced: counts.fenced,
        final_read: counts.final_read,
        faults: sim.stats().faults.clone(),
        faults_injected: sim.stats().faults_injected(),
        events: sim.stats().events,
        trace_hash: sim.trace().hash(),
    }
}

/// Runs a scenario and judges it by the oracle: a step violation stops the run; the
/// history invariants are judged at its end.
pub fn run(
    seed: u64,
    scenario: &Scenario,
    configs: Vec<NodeConfig>,
) -> (Simulation<KafkaNode>, Checker, Result<Outcome, RunError>) {
    let mut checker = Checker::new(&configs);
    let mut sim = Simulation::new(configs, scenario, seed).expect("a valid scenario");
    let result = sim.run(&mut |entry| checker.observe(entry));
    let result = result.and_then(|()| checker.finish(sim.world()));
    let outcome = result.map(|()| outcome(checker.oracle.counts(), &sim));
    (sim, checker, outcome)
}

/// Each broker's digest of t-0's whole log, for brokers whose replica could be read.
pub fn replica_digests(world: &World<KafkaNode>) -> BTreeMap<NodeId, u64> {
    let replicas = odradek::cluster::quiescence(world).replicas.into_iter();
    (replicas.filter(|r| r.partition == tp().to_ref()))
        .filter_map(|r| Some((NodeId(r.broker as u16), r.contents.ok()?.digest)))
        .collect()
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

/// Replication messages from `from` to `to` wait (`hold`) or flow again.
pub fn replication(hold: bool, from: NodeId, to: NodeId) -> Fault {
    let channel = Some(odradek::protocol::REPLICATION);
    match hold {
        true => Fault::Hold { from, to, channel },
        false => Fault::Release { from, to, channel },
    }
}

/// Streams from `from` to `to` (any node for `None`) wait from their first message of
/// `kind` on (`hold`), or flow again.
pub fn held_kind(hold: bool, kind: &str, from: Option<NodeId>, to: Option<NodeId>) -> Fault {
    let kind = kind.to_string();
    match hold {
        true => Fault::HoldKind { kind, from, to },
        false => Fault::ReleaseKind { kind, from, to },
    }
}
