//! `odradek`: the command line. Threads, the wall clock and the terminal belong here, never
//! to node code.

mod cli;

fn main() -> std::process::ExitCode {
    // Output piped into `head` meets a closed pipe: end quietly, as Unix tools do, instead
    // of panicking in `println!` (Rust's runtime ignores SIGPIPE by default).
    #[cfg(unix)]
    // SAFETY: runs first, before any thread exists, and only restores the default action.
    unsafe {
        libc::signal(libc::SIGPIPE, libc::SIG_DFL);
    }
    cli::main()
}
