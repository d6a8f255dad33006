//! Runs a swarm of seeds over the primary-backup example and reports what it found.
//!
//! ```text
//! cargo run --release -p odradek-sim --example swarm -- --seeds 1000
//! cargo run --release -p odradek-sim --example swarm -- --seeds 300 --bug
//! cargo run --release -p odradek-sim --example swarm -- --seed 17 --bug --trace
//! ```
//!
//! Each seed draws its own fault kinds and rates (swarm testing). `--trace` prints every
//! event of each run; `RUST_LOG=debug` logs every fault with its virtual time. Exit
//! status: 0 when every seed passed, 1 when one failed, 2 on bad usage.

#[path = "primary_backup/mod.rs"]
mod primary_backup;

use std::collections::BTreeMap;
use std::process::ExitCode;
use std::time::Instant;

use odradek_sim::harness::{self, Failure};

use primary_backup::{Options, Outcome};

const USAGE: &str =
    "usage: swarm [--seeds N] [--start S] [--seed S] [--bug] [--no-faults] [--trace]";

/// Failing seeds printed in full; the rest are counted.
const FAILURES_SHOWN: usize = 10;

struct Args {
    start: u64,
    count: u64,
    options: Options,
    trace: bool,
}

fn parse(mut args: impl Iterator<Item = String>) -> Result<Args, String> {
    let mut parsed = Args {
        start: 0,
        count: 1000,
        options: Options::default(),
        trace: false,
    };
    let number = |flag: &str, value: Option<String>| {
        let value = value.ok_or_else(|| format!("{flag} needs a value"))?;
        value
            .parse::<u64>()
            .map_err(|_| format!("{flag} needs an unsigned integer, got {value:?}"))
    };
    while let Some(arg) = args.next() {
        match arg.as_str() {
            "--seeds" => parsed.count = number("--seeds", args.next())?,
            "--start" => parsed.start = number("--start", args.next())?,
            "--seed" => {
                parsed.start = number("--seed", args.next())?;
                parsed.count = 1;
            }
            "--bug" => parsed.options.bug = true,
            "--no-faults" => parsed.options.faults = false,
            "--trace" => parsed.trace = true,
            other => return Err(format!("unknown argument {other:?}")),
        }
    }
    Ok(parsed)
}

fn replay_line(seed: u64, options: &Options) -> String {
    let mut line = format!("cargo run --release -p odradek-sim --example swarm -- --seed {seed}");
    if options.bug {
        line.push_str(" --bug");
    }
    if !options.faults {
        line.push_str(" --no-faults");
    }
    line
}

fn main() -> ExitCode {
    if std::env::var_os("RUST_LOG").is_some() {
        let filter = tracing_subscriber::EnvFilter::from_default_env();
        tracing_subscriber::fmt().with_env_filter(filter).init();
    }
    let args = match parse(std::env::args().skip(1)) {
        Ok(args) => args,
        Err(message) => {
            eprintln!("error: {message}\n{USAGE}");
            return ExitCode::from(2);
        }
    };
    let started = Instant::now();
    let mut outcomes: Vec<Outcome> = Vec::new();
    let mut failures: Vec<Failure> = Vec::new();
    for seed in args.start..args.start.saturating_add(args.count) {
        let result = harness::run_seed(seed, |seed| {
            let (sim, result) = primary_backup::run(seed, &args.options);
            if args.trace {
                print!("{}", sim.trace().tail(usize::MAX));
            }
            result
        });
        match result {
            Ok(outcome) => outcomes.push(outcome),
            Err(failure) => {
                if failures.len() < FAILURES_SHOWN {
                    println!("{failure}\n  replay: {}", replay_line(seed, &args.options));
                }
                failures.push(failure);
            }
        }
    }
    summarize(&args, &outcomes, &failures, started.elapsed().as_secs_f64());
    if failures.is_empty() {
        ExitCode::SUCCESS
    } else {
        ExitCode::from(1)
    }
}

fn summarize(args: &Args, outcomes: &[Outcome], failures: &[Failure], wall_s: f64) {
    let sum = |f: fn(&Outcome) -> u64| outcomes.iter().map(f).sum::<u64>();
    let mut faults: BTreeMap<&str, u64> = BTreeMap::new();
    for outcome in outcomes {
        for (kind, count) in &outcome.faults {
            *faults.entry(kind).or_default() += count;
        }
    }
    let version = if args.options.bug { "buggy" } else { "correct" };
    println!(
        "seeds run: {} ({version} version, faults {})",
        args.count,
        if args.options.faults { "on" } else { "off" }
    );
    println!(
        "simulated: {:.1} s in {wall_s:.2} s wall",
        sum(|o| o.simulated_ms) as f64 / 1000.0
    );
    println!(
        "passing seeds: acked writes {}, failovers {}, catch-ups {}, events {}",
        sum(|o| o.acked),
        sum(|o| o.failovers),
        sum(|o| o.catch_ups),
        sum(|o| o.events)
    );
    println!("faults fired: {faults:?}");
    match failures.len() {
        0 => println!("violations: 0"),
        n if n > FAILURES_SHOWN => println!("violations: {n} (first {FAILURES_SHOWN} shown above)"),
        n => println!("violations: {n} (shown above)"),
    }
    if let Some(first) = failures.first() {
        println!("first failing seed: {}", first.seed);
        println!("  replay: {}", replay_line(first.seed, &args.options));
    }
}
