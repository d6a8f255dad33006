//! `odradek view CASE --html FILE` (and `run --html FILE`): a run as one self-contained
//! HTML page, a space-time diagram with its faults, partitions and violation.

use std::path::{Path, PathBuf};

use odradek::cluster::{Case, KafkaNode, KafkaOutcome, KafkaRun, View};
use odradek_sim::Simulation;

use super::Exit;

#[derive(Debug, clap::Args)]
pub(crate) struct Args {
    /// The case to draw (`swarm --save`, `run --save` or `shrink` writes one); it is
    /// replayed at its concrete times.
    case: PathBuf,
    /// Where to write the page.
    #[arg(long, value_name = "FILE")]
    html: PathBuf,
}

pub(crate) fn view(args: &Args) -> Exit {
    let case = match Case::load(&args.case) {
        Ok(case) => case,
        Err(error) => {
            eprintln!("odradek: {error}");
            return Exit::BadInput;
        }
    };
    let (outcome, sim) = match case.run.run_scenario(case.seed, &case.scenario) {
        Ok(found) => found,
        Err(error) => {
            eprintln!("odradek: {}: {error}", args.case.display());
            return Exit::BadInput;
        }
    };
    match write(&args.html, &case.run, &outcome, &sim) {
        Ok(()) => Exit::Clean,
        Err(message) => {
            eprintln!("odradek: {message}");
            Exit::BadInput
        }
    }
}

/// Writes the page of `run`'s finished simulation to `path`, and says so.
pub(crate) fn write(
    path: &Path,
    run: &KafkaRun,
    outcome: &KafkaOutcome,
    sim: &Simulation<KafkaNode>,
) -> Result<(), String> {
    let view = View::of_run(outcome, &run.configs(outcome.seed), sim);
    std::fs::write(path, view.to_html()).map_err(|e| format!("{}: {e}", path.display()))?;
    println!(
        "view: {} ({} nodes, {} messages, {} faults, {})",
        path.display(),
        view.nodes.len(),
        view.messages.len(),
        view.faults.len(),
        view.outcome
    );
    Ok(())
}
