//! `odradek run`: one seed of the default Kafka scenario, its verdict and trace hash.

use odradek::cluster::KafkaRun;

use super::{bug_flags, parse_bugs, Exit};

#[derive(Debug, clap::Args)]
pub(crate) struct Args {
    /// The seed.
    #[arg(long)]
    seed: u64,
    /// A bug-zoo switch to turn on (see `odradek bugs`); repeatable.
    #[arg(long = "bug", value_name = "NAME")]
    bugs: Vec<String>,
    /// Print every event of the run with its virtual time and node.
    #[arg(long)]
    trace: bool,
}

pub(crate) fn run(args: &Args) -> Exit {
    let bugs = match parse_bugs(&args.bugs) {
        Ok(bugs) => bugs,
        Err(message) => {
            eprintln!("{message}");
            return Exit::BadInput;
        }
    };
    let run = KafkaRun::default().with_bugs(&bugs);
    let (outcome, sim) = run.run(args.seed);
    if args.trace {
        for entry in sim.trace().entries() {
            println!("{entry}");
        }
    }
    let counts = &outcome.counts;
    println!(
        "seed {}: {} events, {:.1} simulated s, {} faults injected, {} acked, {} polled, {} failovers, {} truncations",
        outcome.seed,
        outcome.events,
        outcome.simulated_ms as f64 / 1000.0,
        outcome.faults,
        counts.acked,
        counts.polled,
        counts.failovers,
        counts.truncations
    );
    for loss in &outcome.allowed_losses {
        println!("{loss}");
    }
    println!("trace-hash: {:016x}", outcome.trace_hash);
    if let Some(stopped) = &outcome.stopped {
        println!("stopped: {stopped}");
        return Exit::Violation;
    }
    match &outcome.violation {
        None => Exit::Clean,
        Some(violation) => {
            println!("violation: {violation}");
            println!(
                "replay: odradek run --seed {}{}",
                args.seed,
                bug_flags(&bugs)
            );
            Exit::Violation
        }
    }
}
