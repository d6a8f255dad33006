//! `odradek merge FILE...`: the JSON-lines reports of sharded swarms (`--shard I/N --json
//! FILE`) as one summary.

use std::path::PathBuf;

use odradek::cluster::KafkaOutcome;

use super::Exit;

#[derive(Debug, clap::Args)]
pub(crate) struct Args {
    /// JSON-lines reports.
    #[arg(required = true)]
    files: Vec<PathBuf>,
    /// Exit 1 when a hazard was reached by no seed of any shard.
    #[arg(long)]
    require_coverage: bool,
}

pub(crate) fn merge(args: &Args) -> Exit {
    let mut outcomes = Vec::new();
    for path in &args.files {
        let text = match std::fs::read_to_string(path) {
            Ok(text) => text,
            Err(error) => {
                eprintln!("odradek: {}: {error}", path.display());
                return Exit::BadInput;
            }
        };
        for (number, line) in text
            .lines()
            .enumerate()
            .filter(|(_, l)| !l.trim().is_empty())
        {
            match serde_json::from_str::<KafkaOutcome>(line) {
                Ok(outcome) => outcomes.push(outcome),
                Err(error) => {
                    eprintln!("odradek: {}: line {}: {error}", path.display(), number + 1);
                    return Exit::BadInput;
                }
            }
        }
    }
    outcomes.sort_by_key(|o| o.seed);
    super::swarm::print_summary(&outcomes, None, "", args.require_coverage)
}
