//! Throughput of the whole simulated pipeline: the producer application -> a controller
//! and three brokers (replication factor 3, `min.insync.replicas` 2, three partitions,
//! acks=all, idempotence on) -> the consumer application. Not a test: it prints a table
//! for BENCHMARKS.md.
//!
//! Each run is 6 virtual seconds of load (with or without the swarm nemesis, within the
//! end-to-end tests' fault budget) and 4 of settling. "records/s" counts records the
//! consumer polled per wall second; "sim s/s" is virtual seconds per wall second; both over
//! `SEEDS` seeds per row, each seed a fresh simulation.
//!
//! Run: `cargo run --release -p odradek --example pipeline_bench`

use std::time::Instant;

use odradek::cluster::{
    pipeline_configs, pipeline_swarm, ClusterSpec, KafkaNode, KafkaRun, NodeConfig,
};
use odradek::consumer::{ConsumerConfig, OffsetReset};
use odradek::producer::ProducerConfig;
use odradek::workload::ProducerAppConfig;
use odradek_invariants::{HistoryEvent, Observation};
use odradek_sim::{Observed, Scenario, Simulation};

const FAULTS_MS: u64 = 6_000;
const SETTLE_MS: u64 = 4_000;
const TICK_MS: u64 = 10;
/// Seeds per row.
const SEEDS: u64 = 20;

/// The default Kafka scenario's cluster (`odradek swarm`).
fn cluster() -> ClusterSpec {
    KafkaRun::default().cluster
}

/// `per_tick` values every 10 virtual ms through the load phase.
fn configs(per_tick: u64) -> Vec<NodeConfig> {
    let cluster = cluster();
    let producer = ProducerAppConfig {
        controller: cluster.controller,
        brokers: cluster.brokers.clone(),
        topic: "t".into(),
        producer: ProducerConfig {
            linger_ms: 5,
            request_timeout_ms: 500,
            retry_backoff_ms: 20,
            delivery_timeout_ms: 3_000,
            max_block_ms: 1_000,
            ..ProducerConfig::default()
        },
        key_space: None,
        values_max: FAULTS_MS / TICK_MS * per_tick,
        values_per_tick: per_tick,
        tick_ms: TICK_MS,
    };
    let consumer = ConsumerConfig {
        auto_offset_reset: OffsetReset::Earliest,
        fetch_max_wait_ms: 20,
        request_timeout_ms: 500,
        retry_backoff_ms: 20,
        ..ConsumerConfig::default()
    };
    pipeline_configs(&cluster, producer, consumer)
}

/// One row: records polled, acked sends, events, wall seconds over every seed.
fn row(per_tick: u64, faults: bool) -> (u64, u64, u64, f64) {
    let (mut polled, mut acked, mut events, mut wall_s) = (0, 0, 0, 0.0);
    for seed in 1..=SEEDS {
        let scenario = if faults {
            pipeline_swarm(seed, &cluster(), FAULTS_MS, SETTLE_MS)
        } else {
            Scenario {
                faults_ms: FAULTS_MS,
                settle_ms: SETTLE_MS,
                schedule: Some(Vec::new()),
                ..Scenario::default()
            }
        };
        let mut sim: Simulation<KafkaNode> =
            Simulation::new(configs(per_tick), &scenario, seed).expect("a valid scenario");
        let start = Instant::now();
        let result = sim.run(&mut |entry| {
            match &entry.what {
                Observed::Node(Observation::History(HistoryEvent::Poll { records, .. })) => {
                    polled += records.len() as u64;
                }
                Observed::Node(Observation::History(HistoryEvent::Complete(c))) => {
                    acked += u64::from(matches!(
                        c.outcome,
                        odradek_invariants::SendOutcome::Ok { .. }
                    ));
                }
                _ => {}
            }
            Ok(())
        });
        wall_s += start.elapsed().as_secs_f64();
        result.expect("the run ends");
        events += sim.stats().events;
    }
    (polled, acked, events, wall_s)
}

fn main() {
    println!("| load (records/virtual s) | faults | records polled | acked | records/s | sim s/s | events/s |");
    println!("| ---: | --- | ---: | ---: | ---: | ---: | ---: |");
    for per_tick in [1, 10, 50] {
        for faults in [false, true] {
            let (polled, acked, events, wall_s) = row(per_tick, faults);
            let sim_s = (SEEDS * (FAULTS_MS + SETTLE_MS)) as f64 / 1000.0;
            println!(
                "| {} | {} | {polled} | {acked} | {:.0} | {:.1} | {:.0} |",
                per_tick * 1000 / TICK_MS,
                if faults { "swarm" } else { "none" },
                polled as f64 / wall_s,
                sim_s / wall_s,
                events as f64 / wall_s,
            );
        }
    }
}
