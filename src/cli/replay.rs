//! `odradek replay FILE...`: every saved case run again and held to its expectation.

use std::path::PathBuf;

use odradek::cluster::SeedFile;

use super::Exit;

#[derive(Debug, clap::Args)]
pub(crate) struct Args {
    /// Seed files: cases (`swarm --save DIR` writes them) or counterexamples
    /// (`check --save FILE`).
    #[arg(required = true)]
    files: Vec<PathBuf>,
}

pub(crate) fn replay(args: &Args) -> Exit {
    let mut files = Vec::new();
    for path in &args.files {
        match SeedFile::load(path) {
            Ok(file) => files.push((path, file)),
            Err(error) => {
                eprintln!("odradek: {error}");
                return Exit::BadInput;
            }
        }
    }
    let mut all_met = true;
    for (path, file) in files {
        // What each form's replay says: its line, whether it met its expectation, and
        // the violation it found.
        let replayed = match file {
            SeedFile::Case(case) => (case.replay())
                .map(|r| (r.to_string(), r.met(), r.violation))
                .map_err(|e| e.to_string()),
            SeedFile::Counterexample(counterexample) => (counterexample.replay())
                .map(|r| (r.to_string(), r.met(), r.violation))
                .map_err(|e| format!("{}: {e}", path.display())),
        };
        match replayed {
            Ok((line, met, violation)) => {
                println!("{}: {line}", path.display());
                if !met {
                    all_met = false;
                    if let Some(violation) = &violation {
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
