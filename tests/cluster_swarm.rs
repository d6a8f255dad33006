//! The cluster under the engine's swarm nemesis, random fault kinds and rates per seed,
//! with a fault budget of one node with lost unsynced data per run: power losses, bit
//! flips, read errors, failed fsyncs and full disks hit only one broker drawn from the seed (the controller syncs
//! everything it acts on, so a power loss there loses nothing and stays allowed); other
//! crashes are process crashes. Direct checks: every acked acks=all record at its offset
//! in the final read and on the final leader; replicas byte-identical after the settle
//! phase; one leader per epoch.
//!
//! Replay one seed: `ODRADEK_SEED=S cargo test -p odradek --test cluster_swarm`; more
//! seeds: `ODRADEK_SEEDS=N`.

mod cluster_common;

use std::collections::BTreeMap;

use cluster_common::{configs, run, Outcome, BROKERS, CONTROLLER};
use odradek::cluster::HOLD_KINDS;
use odradek_sim::harness::{self, Seeds};
use odradek_sim::{nemesis, CrashMode, Fault, NodeId, RngStream, Scenario, SimRng};

const REPLAY: &str = "cargo test -p odradek --test cluster_swarm";
const FAULTS_MS: u64 = 6_000;
const SETTLE_MS: u64 = 4_000;

/// The seed's swarm schedule within the fault budget.
fn scenario(seed: u64) -> Scenario {
    let mut rng = SimRng::for_stream(seed, RngStream::Swarm);
    let mut targets = vec![CONTROLLER];
    targets.extend(BROKERS);
    let kinds = HOLD_KINDS.iter().map(|k| k.to_string()).collect();
    let options = nemesis::swarm(&mut rng, targets, kinds);
    let lossy: NodeId = BROKERS[(seed % 3) as usize];
    let mut schedule_rng = SimRng::for_stream(seed, RngStream::Schedule);
    let drawn = nemesis::generate(&options, BROKERS.len() + 2, FAULTS_MS, &mut schedule_rng);
    let schedule = drawn
        .into_iter()
        .map(|mut timed| {
            match &mut timed.fault {
                Fault::Crash { node, mode } if *node != lossy && *node != CONTROLLER => {
                    *mode = CrashMode::Process;
                }
                // A failed fsync or a full disk halts a broker, whose restart is unclean
                // (it leaves every ISR and ELR): damage, so within the budget too.
                Fault::FlipBit { node }
                | Fault::ReadError { node }
                | Fault::FailSync { node }
                | Fault::FillDisk { node, .. }
                | Fault::HealDisk { node } => *node = lossy,
                _ => {}
            }
            timed
        })
        .collect();
    Scenario {
        faults_ms: FAULTS_MS,
        settle_ms: SETTLE_MS,
        nemesis: options,
        schedule: Some(schedule),
        ..Scenario::default()
    }
}

fn run_seed(seed: u64) -> Result<Outcome, odradek_sim::RunError> {
    run(
        seed,
        &scenario(seed),
        configs(u64::MAX, Some(FAULTS_MS + SETTLE_MS / 2)),
    )
    .2
}

#[test]
fn acks_all_records_survive_random_swarm_seeds_with_one_lossy_node() {
    let seeds = Seeds::from_env(200).expect("seed variables");
    let replay =
        format!("{REPLAY} acks_all_records_survive_random_swarm_seeds_with_one_lossy_node");
    let outcomes = harness::check_seeds(seeds, &replay, run_seed);
    let total = |f: fn(&Outcome) -> u64| outcomes.iter().map(f).sum::<u64>();
    let mut faults: BTreeMap<&str, u64> = BTreeMap::new();
    for o in &outcomes {
        for (k, v) in &o.faults {
            *faults.entry(k).or_default() += v;
        }
    }
    println!(
        "seeds {}..+{}: acked {}, elections {}, truncations {}, isr shrinks {}, fenced {}, faults {faults:?}",
        seeds.start,
        seeds.count,
        total(|o| o.acked),
        total(|o| o.elections),
        total(|o| o.truncations),
        total(|o| o.isr_shrinks),
        total(|o| o.fenced),
    );
    for o in &outcomes {
        assert!(o.acked >= 20, "a run that did nothing: {o:?}");
    }
    assert!(
        total(|o| o.elections) >= seeds.count,
        "leaders change under faults"
    );
    if seeds.count >= 100 {
        assert!(total(|o| o.truncations) >= 10);
        assert!(
            faults.get("power_loss").copied().unwrap_or(0) >= 10,
            "{faults:?}"
        );
    }
}

#[test]
fn same_seed_gives_the_same_trace_hash() {
    for seed in [1, 2] {
        let trace = |seed| {
            let (sim, _, _) = run(
                seed,
                &scenario(seed),
                configs(u64::MAX, Some(FAULTS_MS + SETTLE_MS / 2)),
            );
            sim.trace().clone()
        };
        if let Err(divergence) = harness::check_determinism(seed, trace) {
            panic!("seed {seed}: {divergence}");
        }
    }
}
