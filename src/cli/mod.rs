//! The command line's commands and what they share: parsing, bug names, exit status.
//!
//! Exit status: 0 no violation, 1 a violation was found, 2 bad usage or bad input.

mod bench;
mod bugs;
mod check;
mod merge;
mod replay;
mod run;
#[cfg(all(unix, not(madsim)))]
mod serve;
mod shrink;
mod swarm;
mod trace;
mod view;

use std::process::ExitCode;

use clap::{Parser, Subcommand};
use odradek::bugs::{Bug, Bugs};
use odradek::cluster::KafkaRun;

/// Deterministic simulation testing of a Kafka-style replicated log.
#[derive(Debug, Parser)]
#[command(name = "odradek", version)]
struct Cli {
    #[command(subcommand)]
    command: Command,
}

#[derive(Debug, Subcommand)]
enum Command {
    /// Swarm the default Kafka scenario over many seeds and summarise what broke.
    Swarm(swarm::Args),
    /// Run one seed of the default Kafka scenario and print its verdict and trace hash
    /// (`RUST_LOG=debug` also logs every fault with its virtual time).
    Run(run::Args),
    /// Replay saved cases and check each meets its expectation.
    Replay(replay::Args),
    /// Shrink a failing case to a smaller run that fails with the same invariant, saved as
    /// a case file.
    Shrink(shrink::Args),
    /// Draw a case's run as one self-contained HTML page: a lane per node, messages,
    /// faults, partitions and the violation.
    View(view::Args),
    /// Merge the JSON-lines reports of sharded swarms into one summary.
    Merge(merge::Args),
    /// List the bug zoo: name, invariant expected to catch it, historical source.
    Bugs,
    /// Print the default Kafka scenario as TOML, for `--scenario FILE` to take an edited copy.
    Scenario,
    /// Model-check the real controller, brokers and test client at small bounds, breadth
    /// first (or `--search dfs`): a violation prints its counterexample (breadth first, the
    /// shortest) and exits 1.
    Check(check::Args),
    /// Measure the default scenario's speed (faults on and off) and the swarm's seeds per
    /// minute; `--zoo` adds the bug-finding power per switch.
    Bench(bench::Args),
    /// Real mode: the controller and brokers as OS processes on 127.0.0.1 with real files,
    /// serving real Kafka clients; a broker process that dies is restarted.
    #[cfg(all(unix, not(madsim)))]
    Serve(serve::Args),
    /// One node of `serve` (started by `serve`, not by hand).
    #[cfg(all(unix, not(madsim)))]
    #[command(hide = true)]
    ServeNode(serve::NodeArgs),
}

/// How a command ended.
pub(crate) enum Exit {
    /// Nothing broke.
    Clean,
    /// A violation was found.
    Violation,
    /// Bad usage or bad input, already reported.
    BadInput,
}

pub(crate) fn main() -> ExitCode {
    let cli = Cli::parse();
    // `RUST_LOG=debug` logs every fault with its virtual time, `trace` every event.
    tracing_subscriber::fmt()
        .with_env_filter(tracing_subscriber::EnvFilter::from_default_env())
        .with_writer(std::io::stderr)
        .with_ansi(std::io::IsTerminal::is_terminal(&std::io::stderr()))
        .without_time()
        .init();
    let exit = match cli.command {
        Command::Swarm(args) => swarm::swarm(&args),
        Command::Run(args) => run::run(&args),
        Command::Replay(args) => replay::replay(&args),
        Command::Shrink(args) => shrink::shrink_case(&args),
        Command::View(args) => view::view(&args),
        Command::Merge(args) => merge::merge(&args),
        Command::Bugs => bugs::list(),
        Command::Bench(args) => bench::bench(&args),
        Command::Check(args) => check::check(&args),
        #[cfg(all(unix, not(madsim)))]
        Command::Serve(args) => serve::serve(&args),
        #[cfg(all(unix, not(madsim)))]
        Command::ServeNode(args) => return serve::serve_node(&args),
        Command::Scenario => {
            print!("{}", scenario_toml());
            Exit::Clean
        }
    };
    match exit {
        Exit::Clean => ExitCode::SUCCESS,
        Exit::Violation => ExitCode::from(1),
        Exit::BadInput => ExitCode::from(2),
    }
}

/// The switches named by `--bug`; an unknown name is bad input.
fn parse_bugs(names: &[String]) -> Result<Bugs, String> {
    (names.iter())
        .map(|name| {
            Bug::from_name(name).ok_or_else(|| {
                let known: Vec<&str> = Bug::ALL.iter().map(|b| b.name()).collect();
                format!("odradek: unknown bug '{name}'. known: {}", known.join(", "))
            })
        })
        .collect()
}

/// The default Kafka scenario as TOML, every field documented, under a header that says
/// what it is.
fn scenario_toml() -> String {
    let header = "# The default Kafka scenario of `odradek swarm`: the cluster, the producer and\n\
                  # consumer settings (Kafka's names), and the fault and settle phases in virtual\n\
                  # ms. Each seed draws its own nemesis within the fault budget. Edit a copy and\n\
                  # pass it with --scenario FILE; an unknown or malformed field exits 2.\n\n";
    odradek::cluster::documented_toml(&KafkaRun::default(), header)
}

/// The switches `--bug` names and the run a command uses with them on: the default, or the
/// one `--scenario FILE` gives.
pub(crate) fn run_of(
    names: &[String],
    path: Option<&std::path::Path>,
) -> Result<(Bugs, KafkaRun), String> {
    let bugs = parse_bugs(names)?;
    let run = load_run(path, &bugs)?;
    Ok((bugs, run))
}

/// The run a command uses: the default, or the one `--scenario FILE` gives, with `bugs` on.
fn load_run(path: Option<&std::path::Path>, bugs: &Bugs) -> Result<KafkaRun, String> {
    let run = match path {
        None => KafkaRun::default(),
        Some(path) => {
            let text = std::fs::read_to_string(path)
                .map_err(|e| format!("odradek: {}: {e}", path.display()))?;
            toml::from_str(&text).map_err(|e| {
                format!(
                    "odradek: {}: {}",
                    path.display(),
                    e.to_string().replace('\n', " ")
                )
            })?
        }
    };
    let run = run.with_bugs(bugs);
    let shown = path.map_or("the default scenario".into(), |p| p.display().to_string());
    run.validate()
        .map_err(|e| format!("odradek: {shown}: {e}"))?;
    Ok(run)
}

/// The `--bug` flags that reproduce a run with `bugs` on.
pub(crate) fn bug_flags(bugs: &Bugs) -> String {
    bugs.iter().map(|b| format!(" --bug {b}")).collect()
}
