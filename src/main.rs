//! `odradek`: the command line. Threads, the wall clock and the terminal belong here, never
//! to node code.

mod cli;

fn main() -> std::process::ExitCode {
    cli::main()
}
