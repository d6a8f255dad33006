//! The default Kafka scenario, the one `odradek swarm` runs with no flags: a controller and
//! three brokers (one topic of three partitions, replication factor 3,
//! `min.insync.replicas` 2), the real producer application (idempotent, acks=all, 100
//! records per simulated second, keyed on odd seeds and keyless on even ones) and the
//! consumer application, 30 simulated seconds of the swarm nemesis, 10 of heal and settle,
//! then the oracle.

use std::collections::BTreeMap;

use odradek_invariants::{Counts, Observation, Oracle, Violation};
use odradek_sim::{NodeId, RunError, Scenario, ScenarioError, Simulation, Trigger};

use super::{judge, oracle_config, pipeline_configs, pipeline_swarm};
use super::{ClusterSpec, Fires, KafkaNode, NodeConfig, Targeted, Timing, TopicSpec};
use crate::bugs::{Bug, Bugs};
use crate::consumer::{ConsumerConfig, OffsetReset};
use crate::producer::ProducerConfig;
use crate::workload::ProducerAppConfig;

/// Between the producer application's records by default: 100 per simulated second.
const RECORD_INTERVAL_MS: u64 = 10;

fn record_interval_default() -> u64 {
    RECORD_INTERVAL_MS
}

/// A Kafka run's shape. See the module docs for the defaults.
#[derive(Debug, Clone, PartialEq, Eq, serde::Serialize, serde::Deserialize)]
#[serde(deny_unknown_fields)]
pub struct KafkaRun {
    /// The cluster, with the server-side bug switches.
    pub cluster: ClusterSpec,
    /// The producer's settings, with the client-side bug switches.
    pub producer: ProducerConfig,
    /// The consumer's settings.
    pub consumer: ConsumerConfig,
    /// Virtual milliseconds of faults; the producer sends through them.
    pub faults_ms: u64,
    /// Virtual milliseconds of heal and settle.
    pub settle_ms: u64,
    /// Virtual milliseconds between the producer's records (one per tick).
    #[serde(default = "record_interval_default")]
    pub record_interval_ms: u64,
    /// Whether each seed also draws targeted injectors ([`Targeted::draw`]): faults aimed
    /// by what the cluster observes (the new leader, the last ISR member).
    pub targeted: bool,
}

impl Default for KafkaRun {
    fn default() -> Self {
        let brokers = vec![NodeId(1), NodeId(2), NodeId(3)];
        let cluster = ClusterSpec {
            controller: NodeId(0),
            brokers,
            topics: vec![TopicSpec {
                name: "t".into(),
                partitions: 3,
                replication_factor: 3,
            }],
            min_insync_replicas: 2,
            unclean_leader_election_enable: false,
            timing: Timing::default(),
            bugs: Bugs::default(),
        };
        // Kafka's defaults with timings scaled down like the cluster's: every send ends
        // (delivery.timeout.ms) well inside the settle phase.
        let producer = ProducerConfig {
            linger_ms: 5,
            request_timeout_ms: 500,
            retry_backoff_ms: 20,
            delivery_timeout_ms: 3_000,
            max_block_ms: 1_000,
            ..ProducerConfig::default()
        };
        let consumer = ConsumerConfig {
            auto_offset_reset: OffsetReset::Earliest,
            fetch_max_wait_ms: 20,
            request_timeout_ms: 500,
            retry_backoff_ms: 20,
            ..ConsumerConfig::default()
        };
        Self {
            cluster,
            producer,
            consumer,
            faults_ms: 30_000,
            settle_ms: 10_000,
            record_interval_ms: RECORD_INTERVAL_MS,
            targeted: true,
        }
    }
}

/// What one seed of a Kafka run did and what the oracle said: a line of
/// `odradek swarm --json`.
#[derive(Debug, Clone, PartialEq, Eq, serde::Serialize, serde::Deserialize)]
pub struct KafkaOutcome {
    /// The seed.
    pub seed: u64,
    /// The run's trace hash.
    pub trace_hash: u64,
    /// Events applied.
    pub events: u64,
    /// Virtual milliseconds run.
    pub simulated_ms: u64,
    /// Faults injected (not the boot's restarts, nor heals).
    pub faults: u64,
    /// Faults applied by kind ([`Fault::name`](odradek_sim::Fault::name)), undoing ones
    /// included.
    #[serde(default)]
    pub faults_by_kind: BTreeMap<String, u64>,
    /// Fires of each targeted injector ([`INJECTORS`](super::INJECTORS)) that fired.
    #[serde(default)]
    pub targeted: BTreeMap<String, u64>,
    /// The first violation, if any.
    pub violation: Option<Violation>,
    /// Losses the durability rule allowed, with their chains, as text.
    pub allowed_losses: Vec<String>,
    /// Why the run stopped before its end other than by a violation (an engine error,
    /// the event budget), if it did.
    pub stopped: Option<String>,
    /// What the oracle counted.
    pub counts: Counts,
}

impl KafkaRun {
    /// The run with `bugs` on as well, each on the side (server or producer) that honours
    /// it.
    pub fn with_bugs(mut self, bugs: &Bugs) -> Self {
        let client = [Bug::ReassignSequenceOnRetry, Bug::AcksAllAtLeaderAppend];
        let (producer, cluster) = (&self.producer.bugs, &self.cluster.bugs);
        let on_client = bugs.iter().filter(|b| client.contains(b));
        let on_server = bugs.iter().filter(|b| !client.contains(b));
        self.producer.bugs = producer.iter().chain(on_client).collect();
        self.cluster.bugs = cluster.iter().chain(on_server).collect();
        self
    }

    /// Why the run cannot be built, if it cannot: a shape the nodes would reject (read from
    /// a file, say). The message names the field.
    pub fn validate(&self) -> Result<(), String> {
        self.producer
            .validate()
            .map_err(|e| format!("field=producer {e}"))?;
        if self.record_interval_ms == 0 {
            return Err("field=record_interval_ms must be positive".into());
        }
        let cluster = &self.cluster;
        if cluster.controller != NodeId(0) {
            return Err("field=cluster.controller the controller is node 0".into());
        }
        let numbered = (cluster.brokers.iter().enumerate()).all(|(i, b)| b.index() == i + 1);
        if cluster.brokers.is_empty() || !numbered {
            return Err("field=cluster.brokers brokers are nodes 1, 2, ... in order".into());
        }
        let Some(topic) = cluster.topics.first() else {
            return Err("field=cluster.topics one topic is written".into());
        };
        if topic.partitions < 1 || topic.replication_factor < 1 {
            return Err("field=cluster.topics at least one partition and one replica".into());
        }
        if topic.replication_factor > cluster.brokers.len() {
            return Err(
                "field=cluster.topics.replication_factor more replicas than brokers".into(),
            );
        }
        if cluster.min_insync_replicas < 1 || cluster.min_insync_replicas > topic.replication_factor
        {
            return Err(
                "field=cluster.min_insync_replicas between 1 and the replication factor".into(),
            );
        }
        Ok(())
    }

    /// The nodes of `seed`'s run.
    pub fn configs(&self, seed: u64) -> Vec<NodeConfig> {
        let app = ProducerAppConfig {
            controller: self.cluster.controller,
            brokers: self.cluster.brokers.clone(),
            topic: self.cluster.topics[0].name.clone(),
            producer: self.producer.clone(),
            key_space: (seed % 2 == 1).then_some(16),
            values_max: self.faults_ms / self.record_interval_ms,
            values_per_tick: 1,
            tick_ms: self.record_interval_ms,
        };
        pipeline_configs(&self.cluster, app, self.consumer.clone())
    }

    /// `seed`'s scenario: the swarm nemesis within the pipeline's fault budget.
    pub fn scenario(&self, seed: u64) -> Scenario {
        pipeline_swarm(seed, &self.cluster, self.faults_ms, self.settle_ms)
    }

    /// The targeted injectors `seed` draws, if the run draws any.
    pub fn targeted(&self, seed: u64) -> Option<Targeted> {
        self.targeted
            .then(|| Targeted::draw(seed))
            .filter(Targeted::any)
    }

    /// Runs `seed` and judges it; the simulation is returned for a closer look (its
    /// schedule holds every fault the targeted injectors fired).
    pub fn run(&self, seed: u64) -> (KafkaOutcome, Simulation<KafkaNode>) {
        let scenario = self.scenario(seed);
        self.run_with(seed, &scenario, self.targeted(seed))
            .expect("the default scenario validates")
    }

    /// Runs `seed` and judges it, keeping only the trace's hash: what a swarm needs, at a
    /// fraction of the memory of [`KafkaRun::run`].
    pub fn outcome(&self, seed: u64) -> KafkaOutcome {
        let scenario = self.scenario(seed);
        (self.run_inner(
            seed,
            &scenario,
            self.targeted(seed).map(Aim::Targeted),
            false,
        ))
        .expect("the default scenario validates")
        .0
    }

    /// Runs `seed` under `scenario` without targeted injectors, keeping only the trace's
    /// hash.
    pub fn outcome_under(
        &self,
        seed: u64,
        scenario: &Scenario,
    ) -> Result<KafkaOutcome, ScenarioError> {
        Ok(self.run_inner(seed, scenario, None, false)?.0)
    }

    /// Runs `seed` under `scenario` with `trigger` firing faults (a saved case's faults
    /// re-anchored to their observations, say), and judges it.
    pub fn run_triggered(
        &self,
        seed: u64,
        scenario: &Scenario,
        trigger: Trigger<Observation>,
    ) -> Result<(KafkaOutcome, Simulation<KafkaNode>), ScenarioError> {
        self.run_inner(seed, scenario, Some(Aim::Given(trigger)), true)
    }

    /// Runs `seed` under `scenario` (a saved case's explicit schedule, say), without
    /// targeted injectors, and judges it.
    pub fn run_scenario(
        &self,
        seed: u64,
        scenario: &Scenario,
    ) -> Result<(KafkaOutcome, Simulation<KafkaNode>), ScenarioError> {
        self.run_with(seed, scenario, None)
    }

    /// Runs `seed` under `scenario` with `targeted` injectors on, and judges it.
    pub fn run_with(
        &self,
        seed: u64,
        scenario: &Scenario,
        targeted: Option<Targeted>,
    ) -> Result<(KafkaOutcome, Simulation<KafkaNode>), ScenarioError> {
        self.run_inner(seed, scenario, targeted.map(Aim::Targeted), true)
    }

    fn run_inner(
        &self,
        seed: u64,
        scenario: &Scenario,
        aim: Option<Aim>,
        keep_trace: bool,
    ) -> Result<(KafkaOutcome, Simulation<KafkaNode>), ScenarioError> {
        let configs = self.configs(seed);
        let producer = &self.producer;
        let mut config = oracle_config(&configs, true);
        // Duplicates are the price of retries without idempotence; order holds with
        // idempotence or one request in flight.
        config.idempotent = producer.enable_idempotence;
        config.ordered_sends =
            producer.enable_idempotence || producer.max_in_flight_requests_per_connection == 1;
        let mut oracle = Oracle::new(config);
        let mut sim = Simulation::new(configs, scenario, seed)?;
        if !keep_trace {
            sim.keep_trace_hash_only();
        }
        let fires = Fires::default();
        match aim {
            Some(Aim::Targeted(targeted)) => {
                let controller = self.cluster.controller;
                let trigger = targeted.trigger(seed, &scenario.nemesis, controller, fires.clone());
                sim.set_trigger(trigger);
            }
            Some(Aim::Given(trigger)) => sim.set_trigger(trigger),
            None => {}
        }
        let mut step_violation = None;
        let result = sim.run(&mut |entry| {
            let judged = oracle.observe(&super::entry(entry));
            judged.map_err(|violation| {
                let message = violation.to_string();
                step_violation = Some(violation);
                message
            })
        });
        let counts = oracle.counts().clone();
        let (violation, allowed_losses, counts, stopped) = match result {
            Ok(()) => {
                let verdict = judge(oracle, sim.world());
                let losses = verdict
                    .allowed_losses
                    .iter()
                    .map(ToString::to_string)
                    .collect();
                (
                    verdict.violations.first().cloned(),
                    losses,
                    verdict.counts,
                    None,
                )
            }
            Err(RunError::Violation { .. }) => (step_violation, Vec::new(), counts, None),
            Err(other) => (None, Vec::new(), counts, Some(other.to_string())),
        };
        let stats = sim.stats();
        let faults = stats.faults_injected();
        let outcome = KafkaOutcome {
            seed,
            trace_hash: sim.trace().hash(),
            events: stats.events,
            simulated_ms: sim.now_us() / 1000,
            faults,
            targeted: (fires.borrow().iter())
                .filter(|(_, &n)| n > 0)
                .map(|(name, &n)| (name.to_string(), n))
                .collect(),
            faults_by_kind: (stats.faults.iter())
                .map(|(kind, &n)| (kind.to_string(), n))
                .collect(),
            violation,
            allowed_losses,
            stopped,
            counts,
        };
        Ok((outcome, sim))
    }
}

/// Where a run's triggered faults come from.
enum Aim {
    /// The targeted injectors.
    Targeted(Targeted),
    /// A trigger of the caller's.
    Given(Trigger<Observation>),
}
