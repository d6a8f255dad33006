//! Bug-finding power of the swarm: for every bug-zoo switch, the default Kafka scenario
//! (`odradek swarm --bug NAME`) over 10 disjoint runs of up to `SEEDS_MAX` seeds each: how
//! many seeds detected the switch, the median number of seeds until the first detection,
//! the median simulated seconds to it, and the invariants that caught it. Not a test: it
//! prints a table for BENCHMARKS.md.
//!
//! Run: `cargo run --release -p odradek --example zoo_bench [-- SEEDS_MAX]`

use std::collections::BTreeMap;

use odradek::bugs::{Bug, Bugs};
use odradek::cluster::KafkaRun;

/// Disjoint starts: run `r` covers seeds `r * STRIDE + 1 ..`.
const RUNS: u64 = 10;
const STRIDE: u64 = 1_000_000;

fn main() {
    let seeds_max: u64 = std::env::args()
        .nth(1)
        .and_then(|a| a.parse().ok())
        .unwrap_or(20);
    println!("| switch | seeds run | seeds detecting | median seeds to first | median simulated s to first | caught by | first detecting seeds |");
    println!("| --- | ---: | ---: | ---: | ---: | --- | --- |");
    for bug in Bug::ALL {
        let run = KafkaRun::default().with_bugs(&Bugs::only(bug));
        let mut run_count = 0;
        let mut detecting = 0;
        let mut firsts = Vec::new();
        let mut firsts_s = Vec::new();
        let mut caught_by: BTreeMap<&str, u64> = BTreeMap::new();
        let mut found = Vec::new();
        for r in 0..RUNS {
            let mut simulated_ms = 0;
            for i in 0..seeds_max {
                let (outcome, _) = run.run(r * STRIDE + 1 + i);
                run_count += 1;
                simulated_ms += outcome.simulated_ms;
                if let Some(violation) = &outcome.violation {
                    detecting += 1;
                    *caught_by.entry(violation.invariant.name()).or_default() += 1;
                    firsts.push(i + 1);
                    found.push(r * STRIDE + 1 + i);
                    firsts_s.push(simulated_ms / 1000);
                    break;
                }
            }
        }
        // A median over the runs exists only when more than half of them detected it.
        let median = |v: &mut Vec<u64>, beyond: String| {
            v.sort_unstable();
            match v.len() {
                n if n * 2 <= RUNS as usize => beyond,
                n => v[n / 2].to_string(),
            }
        };
        let beyond = format!("> {seeds_max} ({} of {RUNS} runs)", firsts.len());
        let caught: Vec<String> = caught_by.iter().map(|(n, c)| format!("{n} {c}")).collect();
        let seeds: Vec<String> = found.iter().map(u64::to_string).collect();
        println!(
            "| {bug} | {run_count} | {detecting} | {} | {} | {} | {} |",
            median(&mut firsts, beyond),
            median(&mut firsts_s, "-".into()),
            if caught.is_empty() {
                "-".to_string()
            } else {
                caught.join(", ")
            },
            seeds.join(" ")
        );
    }
}
