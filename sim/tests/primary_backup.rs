//! The engine proven on a small system: the primary-backup example's correct version
//! survives every fault kind, its buggy version stays clean without faults and is caught
//! with them, and a seed always gives the same trace.
//!
//! Replay one seed: `ODRADEK_SEED=S cargo test -p odradek-sim --test primary_backup`;
//! more seeds: `ODRADEK_SEEDS=N`. `RUST_LOG=debug` shows every fault with its virtual
//! time (`trace` shows every event).

#[path = "../examples/primary_backup/mod.rs"]
mod primary_backup;

use std::collections::{BTreeMap, BTreeSet};

use odradek_sim::harness::{self, FailureKind, Seeds};
use odradek_sim::Scenario;

use primary_backup::{Options, Outcome};

const REPLAY: &str = "cargo test -p odradek-sim --test primary_backup";

/// Every fault kind the swarm generator draws, with its undo.
const FAULT_KINDS: [&str; 24] = [
    "crash",
    "power_loss",
    "restart",
    "pause",
    "resume",
    "partition",
    "partition_one_way",
    "isolate",
    "bridge",
    "heal_partitions",
    "hold",
    "release",
    "hold_kind",
    "release_kind",
    "reset",
    "slow_link",
    "flip_bit",
    "read_error",
    "fail_sync",
    "fill_disk",
    "heal_disk",
    "drift",
    "jump",
    "heal_network",
];

fn init_logging() {
    if std::env::var_os("RUST_LOG").is_some() {
        let filter = tracing_subscriber::EnvFilter::from_default_env();
        let _already_set = tracing_subscriber::fmt()
            .with_env_filter(filter)
            .with_test_writer()
            .try_init();
    }
}

fn run(seed: u64, options: Options) -> Result<Outcome, odradek_sim::RunError> {
    primary_backup::run(seed, &options).1
}

fn total(outcomes: &[Outcome], count: fn(&Outcome) -> u64) -> u64 {
    outcomes.iter().map(count).sum()
}

fn faults_fired(outcomes: &[Outcome]) -> BTreeMap<&'static str, u64> {
    let mut fired = BTreeMap::new();
    for outcome in outcomes {
        for (&kind, &count) in &outcome.faults {
            *fired.entry(kind).or_default() += count;
        }
    }
    fired
}

#[test]
fn correct_version_survives_random_swarm_seeds() {
    init_logging();
    let seeds = Seeds::from_env(100).expect("seed variables");
    let replay = format!("{REPLAY} correct_version_survives_random_swarm_seeds");
    let outcomes = harness::check_seeds(seeds, &replay, |seed| run(seed, Options::default()));
    println!(
        "seeds {}..+{}: acked {}, failovers {}, catch-ups {}, faults {:?}",
        seeds.start,
        seeds.count,
        total(&outcomes, |o| o.acked),
        total(&outcomes, |o| o.failovers),
        total(&outcomes, |o| o.catch_ups),
        faults_fired(&outcomes)
    );
    for outcome in &outcomes {
        assert!(outcome.acked >= 50, "a run that did nothing: {outcome:?}");
        assert!(outcome.acked_after_heal > 0, "{outcome:?}");
        assert!(outcome.failovers < outcome.events, "{outcome:?}");
    }
}

#[test]
fn correct_version_survives_every_fault_kind_on_fixed_seeds() {
    init_logging();
    let seeds = Seeds {
        start: 0,
        count: 100,
    };
    let replay = format!("{REPLAY} correct_version_survives_every_fault_kind_on_fixed_seeds");
    let outcomes = harness::check_seeds(seeds, &replay, |seed| run(seed, Options::default()));
    let fired = faults_fired(&outcomes);
    println!("faults fired: {fired:?}");
    for kind in FAULT_KINDS {
        assert!(
            fired.get(kind).copied().unwrap_or(0) >= 5,
            "too few {kind}: {fired:?}"
        );
    }
    assert!(total(&outcomes, |o| o.acked) >= 50_000);
    assert!(total(&outcomes, |o| o.failovers) >= 50);
    assert!(total(&outcomes, |o| o.catch_ups) >= 5);
}

#[test]
fn buggy_version_stays_clean_without_faults() {
    let options = Options {
        bug: true,
        faults: false,
        ..Options::default()
    };
    let seeds = Seeds {
        start: 0,
        count: 20,
    };
    let replay = format!("{REPLAY} buggy_version_stays_clean_without_faults");
    let outcomes = harness::check_seeds(seeds, &replay, |seed| run(seed, options));
    for outcome in &outcomes {
        assert!(outcome.acked >= 1_000, "{outcome:?}");
        assert!(outcome
            .faults
            .keys()
            .all(|kind| kind.starts_with("heal") || *kind == "restart"));
    }
}

#[test]
fn buggy_version_is_caught_in_many_of_the_first_fifty_seeds() {
    let options = Options {
        bug: true,
        ..Options::default()
    };
    let mut caught = Vec::new();
    for seed in 0..50 {
        if let Err(failure) = harness::run_seed(seed, |seed| run(seed, options)) {
            assert_eq!(failure.kind, FailureKind::Violation, "{failure}");
            assert!(
                failure.message.starts_with("acked write missing"),
                "{failure}"
            );
            caught.push(seed);
        }
    }
    println!("caught at seeds {caught:?}");
    println!("replay: {}", harness::reproduce_line(caught[0], REPLAY));
    assert!(caught.len() >= 5, "caught at {caught:?}");
}

#[test]
fn same_seed_gives_the_same_trace_hash() {
    for seed in [1, 2, 3] {
        let trace = |seed| {
            primary_backup::run(seed, &Options::default())
                .0
                .trace()
                .clone()
        };
        if let Err(divergence) = harness::check_determinism(seed, trace) {
            panic!("seed {seed}: {divergence}");
        }
    }
}

#[test]
fn different_seeds_give_different_trace_hashes() {
    let options = Options {
        faults_ms: 2_000,
        settle_ms: 1_000,
        ..Options::default()
    };
    let hashes: BTreeSet<u64> = (0..30)
        .map(|seed| run(seed, options).expect("passes").trace_hash)
        .collect();
    assert_eq!(hashes.len(), 30);
}

#[test]
fn saved_schedule_replays_the_drawn_run_exactly() {
    let options = Options::default();
    let (drawn, result) = primary_backup::run(11, &options);
    let outcome = result.expect("passes");
    assert!(!drawn.schedule().is_empty());
    let saved = Scenario {
        schedule: Some(drawn.schedule().to_vec()),
        ..primary_backup::scenario(
            11,
            &Options {
                faults: false,
                ..options
            },
        )
    };
    let text = serde_json::to_string(&saved).expect("serializes");
    let loaded = Scenario::from_json(&text, 3).expect("valid");
    let (_, replayed) = primary_backup::run_scenario(11, &loaded, false);
    assert_eq!(replayed.expect("passes").trace_hash, outcome.trace_hash);
}

#[test]
fn fixed_seed_outcome_is_pinned() {
    let outcome = run(42, Options::default()).expect("passes");
    insta::assert_snapshot!(format!(
        "trace_hash={:016x} events={} acked={} failovers={} catch_ups={}\nfaults={:?}",
        outcome.trace_hash,
        outcome.events,
        outcome.acked,
        outcome.failovers,
        outcome.catch_ups,
        outcome.faults
    ));
}
