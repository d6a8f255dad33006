//! `odradek shrink`: a failing case reduced to a smaller one that fails with the same
//! invariant, written as a case file that replays from its explicit schedule.

use std::io::IsTerminal;
use std::path::{Path, PathBuf};

use odradek::cluster::{shrink, Case, Progress, ShrinkOptions};

use super::{bug_flags, Exit};

#[derive(Debug, clap::Args)]
pub(crate) struct Args {
    /// The failing case (`swarm --save DIR` or `run --save FILE` writes one).
    #[arg(required_unless_present = "seed", conflicts_with_all = ["seed", "bugs", "scenario"])]
    case: Option<PathBuf>,
    /// Shrink this seed's run instead of a case file.
    #[arg(long)]
    seed: Option<u64>,
    /// With `--seed`: a bug-zoo switch to turn on; repeatable.
    #[arg(long = "bug", value_name = "NAME")]
    bugs: Vec<String>,
    /// With `--seed`: the run's shape as TOML (`odradek scenario` prints the default).
    #[arg(long, value_name = "FILE")]
    scenario: Option<PathBuf>,
    /// Where to write the shrunk case (default: beside CASE as NAME.shrunk.toml, or
    /// SWITCHES-SEED.shrunk.toml).
    #[arg(long, value_name = "FILE")]
    out: Option<PathBuf>,
    /// Replays the search may run before it stops with what it has.
    #[arg(long, default_value_t = ShrinkOptions::default().replays_max)]
    replays_max: usize,
}

pub(crate) fn shrink_case(args: &Args) -> Exit {
    let (case, out) = match case_of(args) {
        Ok(found) => found,
        Err(message) => {
            eprintln!("odradek: {message}");
            return Exit::BadInput;
        }
    };
    let options = ShrinkOptions {
        replays_max: args.replays_max,
    };
    println!("shrinking seed {} ({})", case.seed, case.expect);
    // A spinner with the replay count on a terminal; the kept steps as lines either way.
    let bar = std::io::stderr().is_terminal().then(|| {
        let bar = indicatif::ProgressBar::new(options.replays_max as u64);
        let style = indicatif::ProgressStyle::with_template("{bar:30} {pos}/{len} replays {msg}");
        bar.set_style(style.unwrap_or_else(|_| indicatif::ProgressStyle::default_bar()));
        bar
    });
    let mut progress = |progress: Progress<'_>| match progress {
        Progress::Replaying(replays) => {
            if let Some(bar) = &bar {
                bar.set_position(replays as u64);
            }
        }
        Progress::Kept(kept) => {
            let line = format!("  replay {:>4}: {}: {}", kept.replays, kept.step, kept.size);
            match &bar {
                Some(bar) => bar.println(line),
                None => println!("{line}"),
            }
        }
    };
    let shrunk = shrink(&case, options, &mut progress);
    if let Some(bar) = bar {
        bar.finish_and_clear();
    }
    let shrunk = match shrunk {
        Ok(shrunk) => shrunk,
        Err(error) => {
            eprintln!("odradek: {error}");
            return Exit::BadInput;
        }
    };
    println!("before: {}", shrunk.before);
    println!("after:  {}", shrunk.after);
    let ended = match shrunk.budget_spent {
        true => "the replay budget ran out (--replays-max); a larger one may shrink further",
        false => "no step kept anything more",
    };
    println!("{} replays; {ended}", shrunk.replays);
    for timed in shrunk.case.scenario.schedule.iter().flatten() {
        println!("  at {:>6} ms: {:?}", timed.at_ms, timed.fault);
    }
    if let Some(violation) = &shrunk.outcome.violation {
        println!("violation: {violation}");
    }
    if let Err(error) = shrunk.case.save(&out) {
        eprintln!("odradek: {error}");
        return Exit::BadInput;
    }
    println!("saved: {}", out.display());
    println!("replay: odradek replay {}", out.display());
    // DESIGN: a command that writes a file exits 0 once it has.
    Exit::Clean
}

/// The case to shrink and where its result goes.
fn case_of(args: &Args) -> Result<(Case, PathBuf), String> {
    if let Some(path) = &args.case {
        let case = Case::load(path).map_err(|e| e.to_string())?;
        let out = args.out.clone().unwrap_or_else(|| shrunk_beside(path));
        return Ok((case, out));
    }
    let seed = args.seed.expect("clap requires CASE or --seed");
    let (bugs, run) = super::run_of(&args.bugs, args.scenario.as_deref())?;
    let (outcome, sim) = run.run(seed);
    let found = odradek::cluster::outcome_name(&outcome);
    let about = format!("odradek run --seed {seed}{}: {found}", bug_flags(&bugs));
    let case = Case::of_simulation(about, &run, &outcome, &sim);
    let named: Vec<String> = bugs.iter().map(|b| b.to_string()).collect();
    let stem = match named.is_empty() {
        true => "seed".to_string(),
        false => named.join("+"),
    };
    let out =
        (args.out.clone()).unwrap_or_else(|| PathBuf::from(format!("{stem}-{seed}.shrunk.toml")));
    Ok((case, out))
}

/// `dir/name.toml` becomes `dir/name.shrunk.toml`.
fn shrunk_beside(path: &Path) -> PathBuf {
    let stem = path
        .file_stem()
        .map_or("case".into(), |s| s.to_string_lossy());
    path.with_file_name(format!("{stem}.shrunk.toml"))
}
