//! Runs the explorer (model checker) over the primary-backup example and prints what it
//! found; saves a counterexample as a file of steps, or replays one in the simulation
//! driver.
//!
//! ```text
//! cargo run --release -p odradek-sim --example explore -- --depth 14
//! cargo run --release -p odradek-sim --example explore -- --bug --save cex.json
//! cargo run --release -p odradek-sim --example explore -- --bug --replay cex.json
//! ```
//!
//! Options: `--bug` (the buggy version), `--depth D` (default 12), `--writes W` (values the
//! client writes, default 1), `--dfs`, `--threads T`, `--states N` (budget), `--save FILE`,
//! `--replay FILE`. Exit status: 0 no violation, 1 a violation, 2 bad usage or input.

#[path = "primary_backup/mod.rs"]
#[allow(dead_code)] // The swarm half of the example is not used here.
mod primary_backup;

use std::process::ExitCode;
use std::time::Duration;

use odradek_sim::explorer::{replay_steps, Explorer, WorldStep};
use odradek_sim::{Scenario, Simulation};

use primary_backup::{configs_writing, explore, Timer};

const USAGE: &str = "usage: explore [--bug] [--depth D] [--writes W] [--dfs] [--threads T] \
                     [--states N] [--save FILE | --replay FILE]";

#[derive(Default)]
struct Args {
    bug: bool,
    depth: Option<usize>,
    writes: Option<u64>,
    dfs: bool,
    threads: Option<usize>,
    states: Option<u64>,
    save: Option<String>,
    replay: Option<String>,
}

fn parse(mut args: impl Iterator<Item = String>) -> Result<Args, String> {
    let mut parsed = Args::default();
    fn number<T: std::str::FromStr>(flag: &str, value: Option<String>) -> Result<T, String> {
        let value = value.ok_or_else(|| format!("{flag} needs a value"))?;
        value
            .parse()
            .map_err(|_| format!("{flag} needs an unsigned integer, got {value:?}"))
    }
    while let Some(arg) = args.next() {
        match arg.as_str() {
            "--bug" => parsed.bug = true,
            "--dfs" => parsed.dfs = true,
            "--depth" => parsed.depth = Some(number("--depth", args.next())?),
            "--writes" => parsed.writes = Some(number("--writes", args.next())?),
            "--threads" => parsed.threads = Some(number("--threads", args.next())?),
            "--states" => parsed.states = Some(number("--states", args.next())?),
            "--save" => parsed.save = Some(args.next().ok_or("--save needs a file")?),
            "--replay" => parsed.replay = Some(args.next().ok_or("--replay needs a file")?),
            other => return Err(format!("unknown argument {other:?}")),
        }
    }
    Ok(parsed)
}

fn main() -> ExitCode {
    let args = match parse(std::env::args().skip(1)) {
        Ok(args) => args,
        Err(message) => {
            eprintln!("explore: {message}\n{USAGE}");
            return ExitCode::from(2);
        }
    };
    let writes = args.writes.unwrap_or(1);
    match &args.replay {
        Some(file) => replay(file, args.bug, writes),
        None => search(&args, writes),
    }
}

fn search(args: &Args, writes: u64) -> ExitCode {
    let mut explorer = Explorer::new(explore::model(args.bug, writes))
        .depth_max(args.depth.unwrap_or(12))
        .threads(args.threads.unwrap_or(1))
        .progress(Duration::from_secs(5));
    if let Some(states) = args.states {
        explorer = explorer.states_max(states);
    }
    let report = if args.dfs {
        explorer.dfs()
    } else {
        explorer.bfs()
    };
    let report = match report {
        Ok(report) => report,
        Err(error) => {
            eprintln!("explore: {error}");
            return ExitCode::from(2);
        }
    };
    println!("{report}");
    let Some(path) = report.counterexample(explore::ACKED_WRITES_SURVIVE) else {
        return ExitCode::SUCCESS;
    };
    println!(
        "\nviolation: {}. steps={}",
        explore::ACKED_WRITES_SURVIVE,
        path.len()
    );
    print!("{}", path.describe(explorer.model()));
    if let Some(file) = &args.save {
        let steps = explorer.model().steps(path);
        let json = serde_json::to_string_pretty(&steps).expect("steps serialize");
        if let Err(error) = std::fs::write(file, json) {
            eprintln!("explore: cannot write {file}: {error}");
            return ExitCode::from(2);
        }
        let bug = if args.bug { " --bug" } else { "" };
        println!(
            "saved to {file}; replay: cargo run --release -p odradek-sim --example explore --{bug} --writes {writes} --replay {file}"
        );
    }
    ExitCode::from(1)
}

fn replay(file: &str, bug: bool, writes: u64) -> ExitCode {
    let steps: Vec<WorldStep<Timer>> = match std::fs::read_to_string(file)
        .map_err(|e| e.to_string())
        .and_then(|text| serde_json::from_str(&text).map_err(|e| e.to_string()))
    {
        Ok(steps) => steps,
        Err(error) => {
            eprintln!("explore: {file}: {error}");
            return ExitCode::from(2);
        }
    };
    let mut sim = Simulation::new(configs_writing(bug, writes), &Scenario::default(), 0)
        .expect("the default scenario is valid");
    if let Err(error) = replay_steps(&mut sim, &steps) {
        println!("replay diverged: {error}");
        return ExitCode::from(2);
    }
    println!(
        "replayed {} steps; trace-hash: {:016x}",
        steps.len(),
        sim.trace().hash()
    );
    if explore::acked_writes_survive(sim.world()) {
        println!("no violation at the end of the replay");
        ExitCode::SUCCESS
    } else {
        println!("violation: {}", explore::ACKED_WRITES_SURVIVE);
        ExitCode::from(1)
    }
}
