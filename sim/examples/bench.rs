//! Throughput of the simulation engine on the primary-backup example, faults on.
//!
//! ```text
//! cargo run --release -p odradek-sim --example bench
//! ```
//!
//! Load: one client with one write in flight and a 10 ms think time after each ack
//! (about 80 acked writes per simulated second when healthy), two replicas with 50 ms
//! heartbeats; each seed draws its own swarm of faults over a 60 s fault phase, then
//! heals and settles for 5 s. Reports events per wall second and simulated seconds per
//! wall second, each run checked as in the tests. A benchmark, not a test: nothing here
//! asserts a speed.

#[path = "primary_backup/mod.rs"]
mod primary_backup;

use std::time::Instant;

use primary_backup::Options;

/// Seeds per configuration.
const SEEDS: u64 = 40;

fn main() {
    for faults in [true, false] {
        let options = Options {
            faults,
            faults_ms: 60_000,
            settle_ms: 5_000,
            ..Options::default()
        };
        let (mut events, mut simulated_ms, mut acked) = (0, 0, 0);
        let started = Instant::now();
        for seed in 0..SEEDS {
            let (_, result) = primary_backup::run(seed, &options);
            let outcome = result.unwrap_or_else(|e| panic!("seed {seed} failed: {e}"));
            events += outcome.events;
            simulated_ms += outcome.simulated_ms;
            acked += outcome.acked;
        }
        let wall_s = started.elapsed().as_secs_f64();
        let simulated_s = simulated_ms as f64 / 1000.0;
        println!(
            "faults {}: {SEEDS} seeds, {simulated_s:.0} simulated s, {events} events, \
             {acked} acked writes ({:.0}/simulated s) in {wall_s:.2} wall s",
            if faults { "on " } else { "off" },
            acked as f64 / simulated_s,
        );
        println!(
            "  {:.0} events per wall second, {:.0} simulated seconds per wall second",
            events as f64 / wall_s,
            simulated_s / wall_s
        );
    }
}
