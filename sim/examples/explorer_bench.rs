//! Explorer throughput on Lamport's two-phase commit, for BENCHMARKS.md.
//!
//! `cargo run --release -p odradek-sim --example explorer_bench [-- MAX_RMS]`
//! prints, for 7, 8 and 9 resource managers (or up to MAX_RMS), generated and distinct
//! states per second for BFS on one and two threads and DFS on one, symmetry reduction
//! off (counts comparable with TLC's) and on.

#[path = "models/two_phase.rs"]
mod two_phase;

use odradek_sim::explorer::{Explorer, Report};
use two_phase::TwoPhase;

fn main() {
    let max_rms: usize = std::env::args()
        .nth(1)
        .map_or(9, |arg| arg.parse().expect("MAX_RMS is a number"));
    println!(
        "{:>3} {:<9} {:>3} {:>8} {:>12} {:>11} {:>8} {:>13} {:>13}",
        "rms",
        "search",
        "thr",
        "symmetry",
        "generated",
        "distinct",
        "seconds",
        "generated/s",
        "distinct/s"
    );
    for rms in 7..=max_rms {
        for symmetry in [false, true] {
            let explorer = |threads| {
                Explorer::new(TwoPhase { rms })
                    .threads(threads)
                    .symmetry(symmetry)
            };
            row(rms, "bfs", 1, symmetry, &explorer(1).bfs().unwrap());
            row(rms, "bfs", 2, symmetry, &explorer(2).bfs().unwrap());
            row(rms, "dfs", 1, symmetry, &explorer(1).dfs().unwrap());
        }
    }
}

fn row(rms: usize, search: &str, threads: usize, symmetry: bool, report: &Report<TwoPhase>) {
    assert!(report.complete && report.violations().next().is_none());
    println!(
        "{:>3} {:<9} {:>3} {:>8} {:>12} {:>11} {:>8.3} {:>13.0} {:>13.0}",
        rms,
        search,
        threads,
        if symmetry { "on" } else { "off" },
        report.generated,
        report.distinct,
        report.elapsed.as_secs_f64(),
        report.generated_per_second(),
        report.distinct_per_second(),
    );
}
