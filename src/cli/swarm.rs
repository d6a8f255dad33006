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
use odradek::cluster::{hazards, outcome_name, Case, KafkaOutcome, KafkaRun};

use super::{bug_flags, Exit};

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
    /// Run only shard I of N (1-based) of the seeds: those whose index modulo N is I - 1.
    #[arg(long, value_name = "I/N", value_parser = parse_shard)]
    shard: Option<(u64, u64)>,
    /// Write one JSON line per seed (what `odradek merge` reads).
    #[arg(long, value_name = "FILE")]
    json: Option<std::path::PathBuf>,
    /// Take no new seed after this many wall seconds; the summary says how many ran.
    #[arg(long, value_name = "SECONDS")]
    time_limit: Option<f64>,
    /// Exit 1 when a hazard (a failover, an injector, ...) was reached by no seed.
    #[arg(long)]
    require_coverage: bool,
}

/// `I/N` with `1 <= I <= N`.
fn parse_shard(text: &str) -> Result<(u64, u64), String> {
    let parsed = text
        .split_once('/')
        .and_then(|(i, n)| Some((i.parse().ok()?, n.parse().ok()?)));
    match parsed {
        Some((i, n)) if 1 <= i && i <= n => Ok((i, n)),
        _ => Err(format!("'{text}' is not I/N with 1 <= I <= N")),
    }
}

pub(crate) fn swarm(args: &Args) -> Exit {
    let (bugs, run) = match super::run_of(&args.bugs, args.scenario.as_deref()) {
        Ok(found) => found,
        Err(message) => {
            eprintln!("{message}");
            return Exit::BadInput;
        }
    };
    let jobs = args
        .jobs
        .unwrap_or_else(|| std::thread::available_parallelism().map_or(1, |n| n.get()));
    let (index, shards) = args.shard.unwrap_or((1, 1));
    let seeds = Seeds::shard(args.start, args.seeds, index, shards);
    let started = Instant::now();
    let deadline = args
        .time_limit
        .map(|s| started + std::time::Duration::from_secs_f64(s.max(0.0)));
    let outcomes = run_seeds(&run, seeds, jobs.max(1), deadline);
    let wall_s = started.elapsed().as_secs_f64();
    if (outcomes.len() as u64) < seeds.len() {
        println!(
            "time limit: {} of {} seeds ran",
            outcomes.len(),
            seeds.len()
        );
    }
    if let Some(path) = &args.json {
        let lines: String = (outcomes.iter())
            .map(|o| serde_json::to_string(o).expect("an outcome serializes") + "\n")
            .collect();
        if let Err(error) = std::fs::write(path, lines) {
            eprintln!("odradek: {}: {error}", path.display());
            return Exit::BadInput;
        }
    }
    if let Some(dir) = &args.save {
        if let Err(message) = save(&run, &bugs, &outcomes, dir) {
            eprintln!("odradek: {message}");
            return Exit::BadInput;
        }
    }
    let mut flags = bug_flags(&bugs);
    if let Some(path) = &args.scenario {
        flags += &format!(" --scenario {}", path.display());
    }
    print_summary(&outcomes, Some(wall_s), &flags, args.require_coverage)
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
        let named: Vec<String> = bugs.iter().map(|b| b.to_string()).collect();
        let about = format!(
            "odradek swarm{} found {} on seed {}",
            bug_flags(bugs),
            outcome_name(&again),
            again.seed
        );
        let case = Case::of_simulation(about, run, &again, &sim);
        let stem = if named.is_empty() {
            "seed".to_string()
        } else {
            named.join("+")
        };
        let path = dir.join(format!("{stem}-{}.toml", again.seed));
        case.save(&path).map_err(|e| e.to_string())?;
        println!("saved: {}", path.display());
    }
    Ok(())
}

/// A shard of `count` consecutive seeds from `start`: those whose index modulo `shards` is
/// `index - 1`, computed, not listed, so a time-limited swarm may ask for billions.
#[derive(Debug, Clone, Copy)]
pub(crate) struct Seeds {
    first: u64,
    step: u64,
    len: u64,
}

impl Seeds {
    pub(crate) fn shard(start: u64, count: u64, index: u64, shards: u64) -> Self {
        let offset = index - 1;
        Self {
            first: start.wrapping_add(offset),
            step: shards,
            len: count.saturating_sub(offset).div_ceil(shards),
        }
    }

    fn len(self) -> u64 {
        self.len
    }

    fn get(self, i: u64) -> u64 {
        self.first.wrapping_add(i * self.step)
    }
}

/// Runs the seeds, on `jobs` threads taking the next from a shared counter, until
/// `deadline`; the outcomes come back in the order of `seeds`.
pub(crate) fn run_seeds(
    run: &KafkaRun,
    seeds: Seeds,
    jobs: usize,
    deadline: Option<Instant>,
) -> Vec<KafkaOutcome> {
    let next = AtomicU64::new(0);
    let done = Mutex::new(Vec::new());
    let count = seeds.len();
    let progress = Progress::new(count);
    std::thread::scope(|scope| {
        for _ in 0..jobs {
            scope.spawn(|| loop {
                let i = next.fetch_add(1, Ordering::Relaxed);
                if i >= count || deadline.is_some_and(|d| Instant::now() >= d) {
                    return;
                }
                let outcome = run.outcome(seeds.get(i));
                let failed = outcome.violation.is_some() || outcome.stopped.is_some();
                let mut done = done.lock().expect("a seed's thread panicked");
                done.push((i, outcome));
                progress.seed_done(done.len() as u64, failed);
            });
        }
    });
    progress.finish();
    let mut outcomes = done.into_inner().expect("a seed's thread panicked");
    outcomes.sort_by_key(|(i, _)| *i);
    outcomes.into_iter().map(|(_, o)| o).collect()
}

/// Progress on standard error: a bar on a terminal, a plain line every tenth of the seeds
/// otherwise (a CI log).
struct Progress {
    bar: Option<indicatif::ProgressBar>,
    count: u64,
    failed: AtomicU64,
}

impl Progress {
    fn new(count: u64) -> Self {
        let bar = std::io::stderr().is_terminal().then(|| {
            let bar = indicatif::ProgressBar::new(count);
            let style = indicatif::ProgressStyle::with_template(
                "{bar:40} {pos}/{len} seeds, {msg} failing, {elapsed} elapsed, eta {eta}",
            )
            .expect("a valid template");
            bar.set_style(style);
            bar.set_message("0");
            bar
        });
        Self {
            bar,
            count,
            failed: AtomicU64::new(0),
        }
    }

    fn seed_done(&self, done: u64, failed: bool) {
        let failing =
            self.failed.fetch_add(u64::from(failed), Ordering::Relaxed) + u64::from(failed);
        match &self.bar {
            Some(bar) => {
                bar.set_position(done);
                bar.set_message(failing.to_string());
            }
            None if done == self.count || done % (self.count / 10).max(1) == 0 => {
                eprintln!("{done}/{} seeds, {failing} failing", self.count);
            }
            None => {}
        }
    }

    fn finish(&self) {
        if let Some(bar) = &self.bar {
            bar.finish_and_clear();
        }
    }
}

/// Prints the summary of `outcomes`; `wall_s` when known (not for merged reports). With
/// `require_coverage`, a hazard no seed reached makes the exit a violation's.
pub(crate) fn print_summary(
    outcomes: &[KafkaOutcome],
    wall_s: Option<f64>,
    flags: &str,
    require_coverage: bool,
) -> Exit {
    let simulated_s: f64 = (outcomes.iter())
        .map(|o| o.simulated_ms as f64 / 1000.0)
        .sum();
    let sum = |f: fn(&KafkaOutcome) -> u64| outcomes.iter().map(f).sum::<u64>();
    let wall = match wall_s {
        Some(wall_s) => format!(
            "   wall: {wall_s:.1} s   simulated s per wall s: {:.0}",
            simulated_s / wall_s.max(1e-9)
        ),
        None => String::new(),
    };
    println!(
        "seeds: {}   simulated: {simulated_s:.0} s{wall}",
        outcomes.len()
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
    let covered = print_coverage(outcomes);
    let gate_failed = require_coverage && !covered;
    if gate_failed {
        println!("coverage required: a hazard above was reached by no seed");
    }
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
        return match gate_failed {
            true => Exit::Violation,
            false => Exit::Clean,
        };
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

/// Prints how many seeds reached each hazard and names those none reached; whether every
/// hazard was reached.
fn print_coverage(outcomes: &[KafkaOutcome]) -> bool {
    let mut seeds: BTreeMap<String, u64> = BTreeMap::new();
    for outcome in outcomes {
        for hazard in outcome.hazards() {
            *seeds.entry(hazard).or_default() += 1;
        }
    }
    let all = hazards();
    let (reached, unreached): (Vec<&String>, Vec<&String>) =
        all.iter().partition(|h| seeds.contains_key(*h));
    let listed: Vec<String> = (reached.iter())
        .map(|h| format!("{h} {}", seeds[*h]))
        .collect();
    println!(
        "coverage: {} of {} hazards reached (seeds each): {}",
        reached.len(),
        all.len(),
        listed.join(", ")
    );
    match unreached.is_empty() {
        true => println!("unreached: none"),
        false => {
            let names: Vec<&str> = unreached.iter().map(|h| h.as_str()).collect();
            println!("unreached: {}", names.join(", "));
        }
    }
    unreached.is_empty()
}
