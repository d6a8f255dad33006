//! The command line's commands and what they share: parsing, bug names, exit status.
//!
//! Exit status: 0 no violation, 1 a violation was found, 2 bad usage or bad input.

mod bugs;
mod replay;
mod run;
mod swarm;

use std::process::ExitCode;

use clap::{Parser, Subcommand};
use odradek::bugs::{Bug, Bugs};

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
    /// Run one seed of the default Kafka scenario and print its verdict and trace hash.
    Run(run::Args),
    /// Replay saved cases and check each meets its expectation.
    Replay(replay::Args),
    /// List the bug zoo: name, invariant expected to catch it, historical source.
    Bugs,
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
    let exit = match cli.command {
        Command::Swarm(args) => swarm::swarm(&args),
        Command::Run(args) => run::run(&args),
        Command::Replay(args) => replay::replay(&args),
        Command::Bugs => bugs::list(),
    };
    match exit {
        Exit::Clean => ExitCode::SUCCESS,
        Exit::Violation => ExitCode::from(1),
        Exit::BadInput => ExitCode::from(2),
    }
}

/// The switches named by `--bug`; an unknown name is bad input.
pub(crate) fn parse_bugs(names: &[String]) -> Result<Bugs, String> {
    (names.iter())
        .map(|name| {
            Bug::from_name(name).ok_or_else(|| {
                let known: Vec<&str> = Bug::ALL.iter().map(|b| b.name()).collect();
                format!("odradek: unknown bug '{name}'. known: {}", known.join(", "))
            })
        })
        .collect()
}

/// The `--bug` flags that reproduce a run with `bugs` on.
pub(crate) fn bug_flags(bugs: &Bugs) -> String {
    bugs.iter().map(|b| format!(" --bug {b}")).collect()
}
