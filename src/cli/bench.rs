//! `odradek bench`: the Kafka figures BENCHMARKS.md records. The default scenario with
//! faults on and off on one core (simulated seconds per wall second), swarm seeds per wall
//! minute on every core, and with `--zoo` the swarm's bug-finding power per switch. The
//! framework's micro-benchmarks stay example binaries.

use std::collections::BTreeMap;
use std::time::Instant;

use odradek::bugs::{Bug, Bugs};
use odradek::cluster::KafkaRun;
use odradek_sim::Scenario;

use super::Exit;

#[derive(Debug, clap::Args)]
pub(crate) struct Args {
    /// Seeds per figure.
    #[arg(long, default_value_t = 40)]
    seeds: u64,
    /// Also measure the bug-finding power of the swarm (several minutes).
    #[arg(long)]
    zoo: bool,
    /// For `--zoo`: seeds each of its ten runs per switch tries before giving up.
    #[arg(long, default_value_t = 20)]
    zoo_seeds: u64,
}

/// The zoo's disjoint runs: run `r` covers seeds `r * ZOO_STRIDE + 1 ..`.
const ZOO_RUNS: u64 = 10;
const ZOO_STRIDE: u64 = 1_000_000;

pub(crate) fn bench(args: &Args) -> Exit {
    let run = KafkaRun::default();
    let seeds: Vec<u64> = (1..=args.seeds.max(1)).collect();
    let on = one_core(&seeds, |seed| run.outcome(seed).simulated_ms);
    println!("default scenario, faults on: {on:.0} simulated s per wall s (one core)");
    let quiet = Scenario {
        faults_ms: run.faults_ms,
        settle_ms: run.settle_ms,
        ..Scenario::default()
    };
    let off = one_core(&seeds, |seed| {
        let outcome = (run.outcome_under(seed, &quiet)).expect("a valid scenario");
        outcome.simulated_ms
    });
    println!("default scenario, faults off: {off:.0} simulated s per wall s (one core)");
    let jobs = std::thread::available_parallelism().map_or(1, |n| n.get());
    let started = Instant::now();
    let all = super::swarm::Seeds::shard(1, seeds.len() as u64, 1, 1);
    let swarmed = super::swarm::run_seeds(&run, all, jobs, None).len();
    let minutes = started.elapsed().as_secs_f64() / 60.0;
    println!(
        "swarm: {:.0} seeds per wall minute ({jobs} threads)",
        swarmed as f64 / minutes.max(1e-9)
    );
    if args.zoo {
        zoo(args.zoo_seeds);
    }
    Exit::Clean
}

/// Simulated seconds per wall second of running `seeds` one after another.
fn one_core(seeds: &[u64], mut run: impl FnMut(u64) -> u64) -> f64 {
    let started = Instant::now();
    let simulated_ms: u64 = seeds.iter().map(|&seed| run(seed)).sum();
    simulated_ms as f64 / 1000.0 / started.elapsed().as_secs_f64().max(1e-9)
}

/// For every switch, ten disjoint runs of the default scenario with it on, each stopping at
/// its first detection or after `seeds_max` seeds: how many detected it, the median seeds
/// and simulated seconds to the first, the invariants that caught it.
fn zoo(seeds_max: u64) {
    println!();
    println!("| switch | seeds run | seeds detecting | median seeds to first | median simulated s to first | caught by | first detecting seeds |");
    println!("| --- | ---: | ---: | ---: | ---: | --- | --- |");
    for bug in Bug::ALL {
        let run = KafkaRun::default().with_bugs(&Bugs::only(bug));
        let mut run_count = 0;
        let mut firsts = Vec::new();
        let mut firsts_s = Vec::new();
        let mut caught_by: BTreeMap<&str, u64> = BTreeMap::new();
        let mut found = Vec::new();
        for r in 0..ZOO_RUNS {
            let mut simulated_ms = 0;
            for i in 0..seeds_max {
                let seed = r * ZOO_STRIDE + 1 + i;
                let outcome = run.outcome(seed);
                run_count += 1;
                simulated_ms += outcome.simulated_ms;
                if let Some(violation) = &outcome.violation {
                    *caught_by.entry(violation.invariant.name()).or_default() += 1;
                    firsts.push(i + 1);
                    found.push(seed.to_string());
                    firsts_s.push(simulated_ms / 1000);
                    break;
                }
            }
        }
        let detecting = firsts.len();
        let beyond = format!("> {seeds_max} ({detecting} of {ZOO_RUNS} runs)");
        let caught: Vec<String> = caught_by.iter().map(|(n, c)| format!("{n} {c}")).collect();
        let caught = if caught.is_empty() {
            "-".to_string()
        } else {
            caught.join(", ")
        };
        println!(
            "| {bug} | {run_count} | {detecting} | {} | {} | {caught} | {} |",
            median(&mut firsts, beyond),
            median(&mut firsts_s, "-".into()),
            found.join(" ")
        );
    }
}

/// The median over the zoo's runs; only when more than half of them detected the switch.
fn median(values: &mut [u64], beyond: String) -> String {
    values.sort_unstable();
    match values.len() {
        n if n * 2 <= ZOO_RUNS as usize => beyond,
        n => values[n / 2].to_string(),
    }
}
