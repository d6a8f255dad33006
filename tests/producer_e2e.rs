//! The real producer and consumer end to end in the simulated cluster: a controller (n0),
//! three brokers (n1-n3, replication factor 3, `min.insync.replicas` 2, one topic of three
//! partitions), a producer application (n4) sending unique values and a consumer
//! application (n5) reading every partition from the start.
//!
//! Direct checks over the history the two applications record: every send completes
//! exactly once, and all have completed after the settle phase; every acked acks=all
//! record is polled at its acked offset; polls of a partition skip nothing except across
//! a recorded reset; no value is polled at two offsets (idempotence is on); acked sends
//! of a partition land in send order; no definitely failed send is polled. The swarm runs
//! keep the fault budget of `cluster_swarm` (one broker may lose unsynced data; see
//! `odradek::cluster::pipeline_swarm`).
//!
//! Replay one seed: `ODRADEK_SEED=S cargo test -p odradek --test producer_e2e <test>`; more
//! seeds: `ODRADEK_SEEDS=N`.

mod cluster_common;

use std::collections::{BTreeMap, BTreeSet};
use std::fmt;

use cluster_common::{spec, BROKERS, CONTROLLER};
use odradek::cluster::{pipeline_configs, pipeline_swarm, ClusterSpec, KafkaNode, NodeConfig};
use odradek::consumer::{ConsumerConfig, OffsetReset};
use odradek::producer::{ProducerConfig, TopicPartition};
use odradek::protocol::Msg;
use odradek::record::RecordBatch;
use odradek::workload::{ProducerApp, ProducerAppConfig};
use odradek_invariants::{HistoryEvent, Observation, Operation, PartitionRef, SendOutcome};
use odradek_sim::harness::{self, Seeds};
use odradek_sim::{Event, NodeId, Observed, RunError, Scenario, Simulation};

const REPLAY: &str = "cargo test -p odradek --test producer_e2e";
const PRODUCER: NodeId = NodeId(4);
const TOPIC: &str = "t";
const PARTITIONS: i32 = 3;
const FAULTS_MS: u64 = 6_000;
const SETTLE_MS: u64 = 4_000;
const TICK_MS: u64 = 10;
/// One value per tick through the fault phase: the producer is done sending when faults
/// stop, and `delivery.timeout.ms` ends every send well inside the settle phase.
const VALUES_MAX: u64 = FAULTS_MS / TICK_MS;
const DELIVERY_TIMEOUT_MS: u64 = 3_000;
const _: () = assert!(DELIVERY_TIMEOUT_MS < SETTLE_MS);

/// The producer's settings: Kafka's defaults with timings scaled like the cluster's.
fn producer_config() -> ProducerConfig {
    ProducerConfig {
        linger_ms: 5,
        request_timeout_ms: 500,
        retry_backoff_ms: 20,
        delivery_timeout_ms: DELIVERY_TIMEOUT_MS,
        max_block_ms: 1_000,
        ..ProducerConfig::default()
    }
}

/// The consumer's settings, timings scaled the same way.
fn consumer_config() -> ConsumerConfig {
    ConsumerConfig {
        auto_offset_reset: OffsetReset::Earliest,
        fetch_max_wait_ms: 20,
        request_timeout_ms: 500,
        retry_backoff_ms: 20,
        ..ConsumerConfig::default()
    }
}

/// The cluster: `cluster_common`'s, with three partitions.
fn cluster() -> ClusterSpec {
    let mut cluster = spec(&BROKERS);
    cluster.topics[0].partitions = PARTITIONS;
    cluster
}

/// The pipeline; odd seeds send keyed records (murmur2), even seeds keyless (round robin).
fn configs(seed: u64, producer: ProducerConfig) -> Vec<NodeConfig> {
    let app = ProducerAppConfig {
        controller: CONTROLLER,
        brokers: BROKERS.to_vec(),
        topic: TOPIC.into(),
        producer,
        key_space: (seed % 2 == 1).then_some(16),
        values_max: VALUES_MAX,
        values_per_tick: 1,
        tick_ms: TICK_MS,
    };
    pipeline_configs(&cluster(), app, consumer_config())
}

/// The seed's swarm schedule within the cluster tests' fault budget.
fn swarm(seed: u64) -> Scenario {
    pipeline_swarm(seed, &cluster(), FAULTS_MS, SETTLE_MS)
}

/// No faults at all.
fn calm() -> Scenario {
    Scenario {
        faults_ms: FAULTS_MS,
        settle_ms: SETTLE_MS,
        schedule: Some(Vec::new()),
        ..Scenario::default()
    }
}

/// A broken promise, found in the history after the run.
#[derive(Debug, Clone, PartialEq, Eq, PartialOrd, Ord)]
enum Damage {
    /// A send that never completed.
    Incomplete { value: u64 },
    /// The producer application had values left to send or sends open at the end.
    ProducerBusy,
    /// An acked acks=all record not polled at its offset.
    LostAck {
        partition: String,
        offset: i64,
        value: u64,
        found: Option<u64>,
    },
    /// One value polled at two places.
    Duplicate { value: u64, at: Vec<(String, i64)> },
    /// A poll that did not continue where the last one ended.
    PollSkip {
        partition: String,
        expected: i64,
        got: i64,
    },
    /// Acked sends of a partition whose offsets are not in send order.
    SendOrder {
        partition: String,
        value: u64,
        offset: i64,
        earlier_value: u64,
        earlier_offset: i64,
    },
    /// A definitely failed send was polled.
    ReadOfFailed { value: u64, error: String },
}

impl fmt::Display for Damage {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            Damage::Incomplete { value } => {
                write!(f, "send never completed. value={value}")
            }
            Damage::ProducerBusy => write!(f, "producer not done after the settle phase"),
            Damage::LostAck {
                partition,
                offset,
                value,
                found,
            } => write!(
                f,
                "acked record not polled at its offset. partition={partition} offset={offset} value={value} found={found:?} acks=all"
            ),
            Damage::Duplicate { value, at } => {
                write!(f, "duplicate. value={value} at={at:?}")
            }
            Damage::PollSkip {
                partition,
                expected,
                got,
            } => write!(
                f,
                "poll skipped records. partition={partition} expected={expected} got={got}"
            ),
            Damage::SendOrder {
                partition,
                value,
                offset,
                earlier_value,
                earlier_offset,
            } => write!(
                f,
                "acked sends out of send order. partition={partition} value={value} offset={offset} earlier_value={earlier_value} earlier_offset={earlier_offset}"
            ),
            Damage::ReadOfFailed { value, error } => {
                write!(f, "definitely failed send polled. value={value} error={error}")
            }
        }
    }
}

fn name(partition: &PartitionRef) -> String {
    format!("{}-{}", partition.topic, partition.partition)
}

/// What a run did, and what it broke.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
struct Report {
    acked: u64,
    failed: u64,
    indeterminate: u64,
    polled: u64,
    resets: u64,
    retries: u64,
    leader_changes: u64,
    damage: Vec<Damage>,
}

/// One entry of a partition's poll stream.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Polled {
    /// A record polled at `offset`.
    Record { offset: i64, value: u64 },
    /// The position reset to `to`.
    Reset { to: i64 },
}

/// Collects the applications' history as it arrives; a second completion stops the run.
#[derive(Debug, Default)]
struct History {
    invoked: BTreeMap<u64, PartitionRef>,
    completed: BTreeMap<u64, SendOutcome>,
    /// Per partition, every polled record and reset, in poll order.
    polls: BTreeMap<PartitionRef, Vec<Polled>>,
    elections: BTreeMap<PartitionRef, u64>,
}

impl History {
    fn observe(&mut self, entry: &odradek_sim::Observation<Observation>) -> Result<(), String> {
        let Observed::Node(obs) = &entry.what else {
            return Ok(());
        };
        match obs {
            Observation::LeaderElected { partition, .. } => {
                *self.elections.entry(partition.clone()).or_default() += 1;
            }
            Observation::History(HistoryEvent::Invoke(Operation::Send {
                value,
                partition,
                ..
            })) => {
                let earlier = self.invoked.insert(*value, partition.clone());
                if earlier.is_some() {
                    return Err(format!("value sent twice. value={value}"));
                }
            }
            Observation::History(HistoryEvent::Complete(c)) => {
                if !self.invoked.contains_key(&c.value) {
                    return Err(format!("completion without invoke. value={}", c.value));
                }
                if let Some(first) = self.completed.insert(c.value, c.outcome.clone()) {
                    return Err(format!(
                        "send completed twice. value={} first={first:?} second={:?}",
                        c.value, c.outcome
                    ));
                }
            }
            Observation::History(HistoryEvent::Poll { partition, records }) => {
                let polls = self.polls.entry(partition.clone()).or_default();
                polls.extend(records.iter().map(|r| Polled::Record {
                    offset: r.offset,
                    value: r.value,
                }));
            }
            Observation::History(HistoryEvent::Reset { partition, to, .. }) => {
                let polls = self.polls.entry(partition.clone()).or_default();
                polls.push(Polled::Reset { to: *to });
            }
            _ => {}
        }
        Ok(())
    }

    /// The end-of-run checks and counts.
    fn report(&self) -> Report {
        let mut report = Report::default();
        for outcome in self.completed.values() {
            match outcome {
                SendOutcome::Ok { .. } => report.acked += 1,
                SendOutcome::Failed { .. } => report.failed += 1,
                SendOutcome::Indeterminate { .. } => report.indeterminate += 1,
            }
        }
        report.leader_changes = self.elections.values().map(|n| n - 1).sum();
        let damage = &mut report.damage;
        for &value in self.invoked.keys() {
            if !self.completed.contains_key(&value) {
                damage.push(Damage::Incomplete { value });
            }
        }
        let mut read_at: BTreeMap<(PartitionRef, i64), u64> = BTreeMap::new();
        let mut places: BTreeMap<u64, BTreeSet<(String, i64)>> = BTreeMap::new();
        for (partition, polls) in &self.polls {
            let mut expected = 0;
            for poll in polls {
                match *poll {
                    Polled::Reset { to } => {
                        report.resets += 1;
                        expected = to;
                    }
                    Polled::Record { offset, value } => {
                        report.polled += 1;
                        if offset != expected {
                            damage.push(Damage::PollSkip {
                                partition: name(partition),
                                expected,
                                got: offset,
                            });
                        }
                        expected = offset + 1;
                        read_at.insert((partition.clone(), offset), value);
                        places
                            .entry(value)
                            .or_default()
                            .insert((name(partition), offset));
                    }
                }
            }
        }
        for (&value, at) in &places {
            if at.len() > 1 {
                let at = at.iter().cloned().collect();
                damage.push(Damage::Duplicate { value, at });
            }
            if let Some(SendOutcome::Failed { error }) = self.completed.get(&value) {
                let error = error.clone();
                damage.push(Damage::ReadOfFailed { value, error });
            }
        }
        let mut last: BTreeMap<&PartitionRef, (u64, i64)> = BTreeMap::new();
        for (&value, outcome) in &self.completed {
            let SendOutcome::Ok { offset } = *outcome else {
                continue;
            };
            let partition = &self.invoked[&value];
            let found = read_at.get(&(partition.clone(), offset)).copied();
            if found != Some(value) {
                damage.push(Damage::LostAck {
                    partition: name(partition),
                    offset,
                    value,
                    found,
                });
            }
            if let Some((earlier_value, earlier_offset)) = last.insert(partition, (value, offset)) {
                if earlier_offset >= offset {
                    damage.push(Damage::SendOrder {
                        partition: name(partition),
                        value,
                        offset,
                        earlier_value,
                        earlier_offset,
                    });
                }
            }
        }
        report
    }
}

/// Produce batches the producer sent again: a batch delivered to a broker whose first
/// value was delivered before (the same batch retried, or its records re-sent under a new
/// sequence).
fn retries(sim: &Simulation<KafkaNode>) -> u64 {
    let mut seen = BTreeSet::new();
    let mut retries = 0;
    for entry in sim.trace().entries() {
        let (Event::Deliver(stream), Some(Msg::ProduceRequest(request))) =
            (&entry.event, &entry.message)
        else {
            continue;
        };
        if stream.from() != PRODUCER {
            continue;
        }
        for p in &request.partitions {
            let Ok((batch, _)) = RecordBatch::decode(&p.records) else {
                continue;
            };
            let first = batch.records.first().and_then(|r| r.value.clone());
            let tp = TopicPartition::new(p.tp.topic.clone(), p.tp.partition);
            if !seen.insert((tp, first)) {
                retries += 1;
            }
        }
    }
    retries
}

/// Runs one seed; the report holds the damage, the error only a stopped run.
fn run(seed: u64, scenario: &Scenario, producer: ProducerConfig) -> Result<Report, RunError> {
    let mut sim = Simulation::new(configs(seed, producer), scenario, seed).expect("valid");
    let mut history = History::default();
    sim.run(&mut |entry| history.observe(entry))?;
    let mut report = history.report();
    let producer = sim.world().node(PRODUCER).and_then(KafkaNode::as_producer);
    if !producer.is_some_and(ProducerApp::done) {
        report.damage.push(Damage::ProducerBusy);
    }
    report.retries = retries(&sim);
    Ok(report)
}

/// Runs one seed that must stay undamaged.
fn run_clean(seed: u64, scenario: &Scenario) -> Result<Report, RunError> {
    let report = run(seed, scenario, producer_config())?;
    match report.damage.first() {
        None => Ok(report),
        Some(damage) => Err(RunError::Violation {
            time_us: (FAULTS_MS + SETTLE_MS) * 1000,
            message: format!("{damage} (and {} more)", report.damage.len() - 1),
        }),
    }
}

/// Sums of the reports' counts.
fn totals(label: &str, reports: &[Report]) -> Report {
    let sum = |f: fn(&Report) -> u64| reports.iter().map(f).sum();
    let total = Report {
        acked: sum(|r| r.acked),
        failed: sum(|r| r.failed),
        indeterminate: sum(|r| r.indeterminate),
        polled: sum(|r| r.polled),
        resets: sum(|r| r.resets),
        retries: sum(|r| r.retries),
        leader_changes: sum(|r| r.leader_changes),
        damage: Vec::new(),
    };
    println!(
        "{label}: runs {}, acked {}, failed {}, indeterminate {}, polled {}, resets {}, retries {}, leader changes {}",
        reports.len(),
        total.acked,
        total.failed,
        total.indeterminate,
        total.polled,
        total.resets,
        total.retries,
        total.leader_changes
    );
    total
}

#[test]
fn without_faults_every_value_is_acked_once_and_polled_at_its_offset() {
    let reports: Vec<Report> = (1..=4)
        .map(|seed| harness::run_seed(seed, |s| run_clean(s, &calm())))
        .map(|r| r.unwrap_or_else(|failure| panic!("{failure}")))
        .collect();
    let total = totals("calm", &reports);
    for report in &reports {
        assert_eq!(report.acked, VALUES_MAX, "{report:?}");
        assert_eq!(report.polled, VALUES_MAX, "{report:?}");
        assert_eq!(report.leader_changes, 0, "{report:?}");
    }
    assert_eq!(total.retries, 0);
}

#[test]
fn fixed_swarm_seeds_complete_every_send_once_and_lose_no_acked_record() {
    // A fixed seed replays through the random test, which honours ODRADEK_SEED.
    let replay =
        format!("{REPLAY} random_swarm_seeds_complete_every_send_once_and_lose_no_acked_record");
    let seeds = Seeds {
        start: 1,
        count: 16,
    };
    let reports = harness::check_seeds(seeds, &replay, |seed| run_clean(seed, &swarm(seed)));
    let total = totals("fixed swarm seeds 1..=16", &reports);
    assert!(total.acked >= 16 * VALUES_MAX / 2, "{total:?}");
    assert!(total.polled >= total.acked, "{total:?}");
    assert!(total.retries >= 10, "{total:?}");
    assert!(total.leader_changes >= 8, "{total:?}");
}

#[test]
fn random_swarm_seeds_complete_every_send_once_and_lose_no_acked_record() {
    let seeds = Seeds::from_env(200).expect("seed variables");
    let replay =
        format!("{REPLAY} random_swarm_seeds_complete_every_send_once_and_lose_no_acked_record");
    let reports = harness::check_seeds(seeds, &replay, |seed| run_clean(seed, &swarm(seed)));
    let label = format!("random swarm seeds {}..+{}", seeds.start, seeds.count);
    let total = totals(&label, &reports);
    for report in &reports {
        assert!(
            report.acked >= VALUES_MAX / 10,
            "a run that did nothing: {report:?}"
        );
    }
    assert!(total.polled >= total.acked, "{total:?}");
    assert!(total.retries >= seeds.count / 4, "{total:?}");
    assert!(total.leader_changes >= seeds.count / 2, "{total:?}");
}

/// Runs a bug switch over `seeds` swarm seeds and a few calm ones; returns how many swarm
/// seeds showed the damage `is_damage` recognises, after checking the calm runs are clean.
fn bug_switch(
    label: &str,
    seeds: u64,
    producer: ProducerConfig,
    is_damage: fn(&Damage) -> bool,
) -> u64 {
    for seed in 1..=2 {
        let report = run(seed, &calm(), producer.clone()).expect("a calm run ends");
        assert_eq!(report.damage, [], "{label} without faults. seed={seed}");
        assert_eq!(
            report.acked, VALUES_MAX,
            "{label} without faults. seed={seed}"
        );
    }
    let mut reports = Vec::new();
    let mut damaged = Vec::new();
    for seed in 1..=seeds {
        let report = run(seed, &swarm(seed), producer.clone())
            .unwrap_or_else(|error| panic!("{label}: the run stopped. seed={seed} {error}"));
        if report.damage.iter().any(is_damage) {
            damaged.push(seed);
        }
        reports.push(report);
    }
    let total = totals(label, &reports);
    println!(
        "{label}: damage in {} of {seeds} swarm seeds: {damaged:?}",
        damaged.len()
    );
    assert!(total.acked >= seeds * VALUES_MAX / 2, "{total:?}");
    assert!(total.retries >= seeds / 4, "{total:?}");
    assert!(total.leader_changes >= seeds / 2, "{total:?}");
    damaged.len() as u64
}

#[test]
fn reassign_sequence_on_retry_duplicates_records_under_faults_only() {
    let producer = ProducerConfig {
        reassign_sequence_on_retry: true,
        ..producer_config()
    };
    let is_duplicate = |d: &Damage| matches!(d, Damage::Duplicate { .. });
    let damaged = bug_switch("reassign_sequence_on_retry", 40, producer, is_duplicate);
    // Seeds 1..=40 are fixed: 16 of them duplicated when this was written.
    assert!(
        damaged >= 10,
        "duplicates in only {damaged} of 40 swarm seeds"
    );
}

#[test]
fn acks_all_at_leader_append_loses_acked_records_under_faults_only() {
    let producer = ProducerConfig {
        acks_all_at_leader_append: true,
        ..producer_config()
    };
    let is_loss = |d: &Damage| matches!(d, Damage::LostAck { .. });
    let damaged = bug_switch("acks_all_at_leader_append", 40, producer, is_loss);
    // Seeds 1..=40 are fixed: 7 of them lost an acked record when this was written.
    assert!(
        damaged >= 3,
        "lost acked records in only {damaged} of 40 swarm seeds"
    );
}

#[test]
fn same_seed_gives_the_same_trace_hash() {
    for seed in [1, 2] {
        let trace = |seed| {
            let mut sim: Simulation<KafkaNode> =
                Simulation::new(configs(seed, producer_config()), &swarm(seed), seed)
                    .expect("valid");
            let _ = sim.run(&mut |_| Ok(()));
            sim.trace().clone()
        };
        if let Err(divergence) = harness::check_determinism(seed, trace) {
            panic!("seed {seed}: {divergence}");
        }
    }
}
