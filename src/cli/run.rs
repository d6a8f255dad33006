//! `odradek run`: one seed of the default Kafka scenario, its verdict and trace hash.

use super::{bug_flags, Exit};

#[derive(Debug, clap::Args)]
pub(crate) struct Args {
    /// The seed.
    #[arg(long)]
    seed: u64,
    /// A bug-zoo switch to turn on (see `odradek bugs`); repeatable.
    #[arg(long = "bug", value_name = "NAME")]
    bugs: Vec<String>,
    /// The run's shape as TOML (`odradek scenario` prints the default).
    #[arg(long, value_name = "FILE")]
    scenario: Option<std::path::PathBuf>,
    /// Write the run's events, observations and history as JSON lines (`-`: standard
    /// output; the format is docs/trace-format.md).
    #[arg(long, value_name = "FILE")]
    trace: Option<std::path::PathBuf>,
    /// Write the run as one self-contained HTML page (what `odradek view` draws).
    #[arg(long, value_name = "FILE")]
    html: Option<std::path::PathBuf>,
    /// Write the run as a case file expecting what it found (clean or the violation).
    #[arg(long, value_name = "FILE")]
    save: Option<std::path::PathBuf>,
}

pub(crate) fn run(args: &Args) -> Exit {
    let (bugs, run) = match super::run_of(&args.bugs, args.scenario.as_deref()) {
        Ok(found) => found,
        Err(message) => {
            eprintln!("{message}");
            return Exit::BadInput;
        }
    };
    let (outcome, sim) = run.run(args.seed);
    if let Some(path) = &args.trace {
        let written = match path.as_os_str() == "-" {
            true => super::trace::write(&mut std::io::stdout().lock(), &outcome, &sim),
            false => std::fs::File::create(path).and_then(|file| {
                let mut out = std::io::BufWriter::new(file);
                super::trace::write(&mut out, &outcome, &sim)?;
                std::io::Write::flush(&mut out)
            }),
        };
        if let Err(error) = written {
            eprintln!("odradek: {}: {error}", path.display());
            return Exit::BadInput;
        }
    }
    if let Some(path) = &args.html {
        if let Err(message) = super::view::write(path, &run, &outcome, &sim) {
            eprintln!("odradek: {message}");
            return Exit::BadInput;
        }
    }
    if let Some(path) = &args.save {
        let found = odradek::cluster::outcome_name(&outcome);
        let about = format!(
            "odradek run --seed {}{}: {found}",
            args.seed,
            bug_flags(&bugs)
        );
        let case = odradek::cluster::Case::of_simulation(about, &run, &outcome, &sim);
        if let Err(error) = case.save(path) {
            eprintln!("odradek: {error}");
            return Exit::BadInput;
        }
        println!("saved: {}", path.display());
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
    let faults: Vec<String> = (outcome.faults_by_kind.iter())
        .map(|(kind, n)| format!("{kind} {n}"))
        .collect();
    println!("faults by kind: {}", faults.join(", "));
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
