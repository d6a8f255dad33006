//! `odradek replay FILE...`: every saved case run again and held to its expectation.

use std::path::PathBuf;

use odradek::cluster::Case;

use super::Exit;

#[derive(Debug, clap::Args)]
pub(crate) struct Args {
    /// Case files (`swarm --save DIR` writes them).
    #[arg(required = true)]
    files: Vec<PathBuf>,
}

pub(crate) fn replay(args: &Args) -> Exit {
    let mut cases = Vec::new();
    for path in &args.files {
        match Case::load(path) {
            Ok(case) => cases.push((path, case)),
            Err(error) => {
                eprintln!("odradek: {error}");
                return Exit::BadInput;
            }
        }
    }
    let mut all_met = true;
    for (path, case) in cases {
        match case.replay() {
            Ok(replayed) => {
                println!("{}: {replayed}", path.display());
                if !replayed.met() {
                    all_met = false;
                    if let Some(violation) = &replayed.violation {
                        println!("  violation: {violation}");
                    }
                }
            }
            Err(error) => {
                eprintln!("odradek: {error}");
                return Exit::BadInput;
            }
        }
    }
    if all_met {
        Exit::Clean
    } else {
        Exit::Violation
    }
}
