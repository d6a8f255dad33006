//! `odradek swarm`: seeds of the default Kafka scenario on `--jobs` threads, a progress
//! line, and a summary: seeds, simulated and wall time, violations by invariant, allowed
//! losses, and the replay line of each failing seed. The summary depends only on the seeds,
//! never on the number of threads.

use std::collections::BTreeMap;
use std::io::IsTerminal;
use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::Mutex;
use std::time::Instant;

use std::path::Path;

use odradek::bugs::Bugs;
use odradek::cluster::{outcome_name, Case, KafkaOutcome, KafkaRun};
use odradek_sim::Scenario;

use super::{bug_flags, parse_bugs, Exit};

#[derive(Debug, clap::Args)]
pub(crate) struct Args {
    /// How many seeds.
    #[arg(long, default_value_t = 100)]
    seeds: u64,
    /// The first seed.
    #[arg(long, default_value_t = 1)]
    start: u64,
    /// Threads running seeds (default: the machine's cores).
    #[arg(long)]
    jobs: Option<usize>,
    /// A bug-zoo switch to turn on (see `odradek bugs`); repeatable.
    #[arg(long = "bug", value_name = "NAME")]
    bugs: Vec<String>,
    /// The run's shape as TOML (`odradek scenario` prints the default).
    #[arg(long, value_name = "FILE")]
    scenario: Option<std::path::PathBuf>,
    /// Write each failing seed as a case file (created if missing), expecting what it found.
    #[arg(long, value_name = "DIR")]
    save: Option<std::path::PathBuf>,
}

pub(crate) fn swarm(args: &Args) -> Exit {
    let bugs = match parse_bugs(&args.bugs) {
        Ok(bugs) => bugs,
        Err(message) => {
            eprintln!("{message}");
            return Exit::BadInput;
        }
    };
    let run = match super::load_run(args.scenario.as_deref(), &bugs) {
        Ok(run) => run,
        Err(message) => {
            eprintln!("{message}");
            return Exit::BadInput;
        }
    };
    let jobs = args
        .jobs
        .unwrap_or_else(|| std::thread::available_parallelism().map_or(1, |n| n.get()));
    let started = Instant::now();
    let outcomes = run_seeds(&run, args.start, args.seeds, jobs.max(1));
    let wall_s = started.elapsed().as_secs_f64();
    if let Some(dir) = &args.save {
        if let Err(message) = save(&run, &bugs, &outcomes, dir) {
            eprintln!("odradek: {message}");
            return Exit::BadInput;
        }
    }
    print_summary(&outcomes, wall_s, &bug_flags(&bugs))
}

/// Writes every failing seed of `outcomes` to `dir` as a case with its explicit schedule.
fn save(run: &KafkaRun, bugs: &Bugs, outcomes: &[KafkaOutcome], dir: &Path) -> Result<(), String> {
    std::fs::create_dir_all(dir).map_err(|e| format!("{}: {e}", dir.display()))?;
    for outcome in outcomes
        .iter()
        .filter(|o| o.violation.is_some() || o.stopped.is_some())
    {
        // Run it again for its schedule: the run is deterministic.
        let (again, sim) = run.run(outcome.seed);
        debug_assert_eq!(again.trace_hash, outcome.trace_hash);
        let scenario = Scenario {
            schedule: Some(sim.schedule().to_vec()),
            ..run.scenario(outcome.seed)
        };
        let named: Vec<String> = bugs.iter().map(|b| b.to_string()).collect();
        let about = format!(
            "odradek swarm{} found {} on seed {}",
            bug_flags(bugs),
            outcome_name(&again),
            again.seed
        );
        let case = Case::of_run(about, run, &again, &scenario);
        let stem = if named.is_empty() {
            "clean".to_string()
        } else {
            named.join("+")
        };
        let path = dir.join(format!("{stem}-{}.toml", again.seed));
        case.save(&path).map_err(|e| e.to_string())?;
        println!("saved: {}", path.display());
    }
    Ok(())
}

/// Runs every seed, on `jobs` threads taking the next seed from a shared counter; the
/// outcomes come back in seed order.
fn run_seeds(run: &KafkaRun, start: u64, count: u64, jobs: usize) -> Vec<KafkaOutcome> {
    let next = AtomicU64::new(0);
    let done = Mutex::new(Vec::new());
    let terminal = std::io::stderr().is_terminal();
    std::thread::scope(|scope| {
        for _ in 0..jobs {
            scope.spawn(|| loop {
                let i = next.fetch_add(1, Ordering::Relaxed);
                if i >= count {
                    return;
                }
                let (outcome, _) = run.run(start.wrapping_add(i));
                let mut done = done.lock().expect("a seed's thread panicked");
                done.push(outcome);
                progress(done.len() as u64, count, terminal);
            });
        }
    });
    let mut outcomes = done.into_inner().expect("a seed's thread panicked");
    outcomes.sort_by_key(|o| o.seed.wrapping_sub(start));
    outcomes
}

/// One progress line: rewritten in place on a terminal, every tenth otherwise.
fn progress(done: u64, count: u64, terminal: bool) {
    if terminal {
        eprint!("\r{done}/{count} seeds");
        if done == count {
            eprintln!();
        }
    } else if done == count || done % (count / 10).max(1) == 0 {
        eprintln!("{done}/{count} seeds");
    }
}

fn print_summary(outcomes: &[KafkaOutcome], wall_s: f64, flags: &str) -> Exit {
    let simulated_s: f64 = outcomes
        .iter()
        .map(|o| o.simulated_ms as f64 / 1000.0)
        .sum();
    let sum = |f: fn(&KafkaOutcome) -> u64| outcomes.iter().map(f).sum::<u64>();
    println!(
        "seeds: {}   simulated: {simulated_s:.0} s   wall: {wall_s:.1} s   simulated s per wall s: {:.0}",
        outcomes.len(),
        simulated_s / wall_s.max(1e-9),
    );
    println!(
        "acked: {}   polled: {}   faults injected: {}   failovers: {}   truncations: {}   allowed losses: {}",
        sum(|o| o.counts.acked),
        sum(|o| o.counts.polled),
        sum(|o| o.faults),
        sum(|o| o.counts.failovers),
        sum(|o| o.counts.truncations),
        sum(|o| o.allowed_losses.len() as u64),
    );
    let mut by_invariant: BTreeMap<&str, u64> = BTreeMap::new();
    let failing: Vec<&KafkaOutcome> = (outcomes.iter())
        .filter(|o| o.violation.is_some() || o.stopped.is_some())
        .collect();
    for outcome in &failing {
        let name = outcome
            .violation
            .as_ref()
            .map_or("stopped", |v| v.invariant.name());
        *by_invariant.entry(name).or_default() += 1;
    }
    if failing.is_empty() {
        println!("violations: none");
        return Exit::Clean;
    }
    let listed: Vec<String> = by_invariant
        .iter()
        .map(|(n, c)| format!("{n} {c}"))
        .collect();
    println!(
        "violations: {} seeds ({})",
        failing.len(),
        listed.join(", ")
    );
    for outcome in failing {
        match (&outcome.violation, &outcome.stopped) {
            (Some(violation), _) => println!("violation: {violation}"),
            (None, Some(stopped)) => println!("stopped: {stopped}"),
            (None, None) => {}
        }
        println!("replay: odradek run --seed {}{flags}", outcome.seed);
    }
    Exit::Violation
}
