//! `odradek shrink` on the swarm-found case of every bug-zoo switch (`seeds/`): the shrunk
//! case still fails with the same invariant, replays to its own trace hash, and has at most
//! two faults more than the switch's scripted schedule, within 200 replays.

use std::path::{Path, PathBuf};

use odradek::bugs::Bug;
use odradek::cluster::{shrink, Case, Progress, ShrinkOptions};

/// Replays a shrink may run here.
const REPLAYS_MAX: usize = 200;

/// Entries of each switch's scripted schedule: `tests/bug_zoo.rs` for the server switches,
/// `tests/producer_e2e.rs` for the producer's, restarts, releases and heals included.
fn scripted_faults(bug: Bug) -> usize {
    match bug {
        Bug::TruncateToHw => 8,
        Bug::Kip101WithoutKip279 => 18,
        Bug::NoEpochFencing => 8,
        Bug::SameLeaderSkipsTruncation => 9,
        Bug::HwOverProposedIsr => 4,
        Bug::NoMinIsrCheck => 4,
        Bug::LastReplicaStanding => 6,
        Bug::UncleanElection => 9,
        Bug::NoIdempotentDedup => 2,
        Bug::ReassignSequenceOnRetry => 2,
        Bug::AcksAllAtLeaderAppend => 6,
    }
}

/// The corpus case the swarm found for `bug`: `seeds/NAME-SEED.toml`.
fn swarm_case(bug: Bug) -> PathBuf {
    let dir = Path::new(env!("CARGO_MANIFEST_DIR")).join("seeds");
    let prefix = format!("{}-", bug.name());
    let mut found: Vec<PathBuf> = std::fs::read_dir(&dir)
        .expect("seeds/ exists")
        .map(|entry| entry.expect("a directory entry").path())
        .filter(|path| {
            let name = path.file_name().map(|n| n.to_string_lossy().into_owned());
            name.is_some_and(|n| n.starts_with(&prefix) && n.ends_with(".toml"))
        })
        .collect();
    found.sort();
    assert_eq!(found.len(), 1, "one swarm-found case for {bug}: {found:?}");
    found.remove(0)
}

fn shrinks(bug: Bug) {
    let path = swarm_case(bug);
    let case = Case::load(&path).unwrap_or_else(|e| panic!("{e}"));
    let options = ShrinkOptions {
        replays_max: REPLAYS_MAX,
    };
    let shrunk = shrink(&case, options, &mut |_| {}).unwrap_or_else(|e| panic!("{e}"));
    let (before, after) = (shrunk.before, shrunk.after);
    println!("{bug}: {before} -> {after} in {} replays", shrunk.replays);
    assert!(shrunk.replays <= REPLAYS_MAX);
    assert_eq!(shrunk.case.expect, case.expect, "the same invariant");
    assert!(after.faults < before.faults, "{bug}: {before} -> {after}");
    assert!(
        after.faults <= scripted_faults(bug) + 2,
        "{bug}: {after} against a scripted schedule of {}",
        scripted_faults(bug)
    );
    // The case stands alone: written and read back, it replays to its own trace hash.
    let file =
        std::env::temp_dir().join(format!("odradek-shrunk-{bug}-{}.toml", std::process::id()));
    shrunk.case.save(&file).unwrap_or_else(|e| panic!("{e}"));
    let reread = Case::load(&file).unwrap_or_else(|e| panic!("{e}"));
    std::fs::remove_file(&file).ok();
    assert_eq!(reread, shrunk.case);
    let replayed = reread.replay().unwrap_or_else(|e| panic!("{e}"));
    assert!(replayed.met(), "{bug}: {replayed}");
    assert!(!replayed.reanchored && replayed.trace_hash == shrunk.case.trace_hash);
    assert!(!reread.run.targeted && reread.anchored.is_empty());
}

#[test]
fn truncate_to_hw_shrinks() {
    shrinks(Bug::TruncateToHw);
}

#[test]
fn kip101_without_kip279_shrinks() {
    shrinks(Bug::Kip101WithoutKip279);
}

#[test]
fn no_epoch_fencing_shrinks() {
    shrinks(Bug::NoEpochFencing);
}

#[test]
fn same_leader_skips_truncation_shrinks() {
    shrinks(Bug::SameLeaderSkipsTruncation);
}

#[test]
fn hw_over_proposed_isr_shrinks() {
    shrinks(Bug::HwOverProposedIsr);
}

#[test]
fn no_min_isr_check_shrinks() {
    shrinks(Bug::NoMinIsrCheck);
}

#[test]
fn last_replica_standing_shrinks() {
    shrinks(Bug::LastReplicaStanding);
}

#[test]
fn unclean_election_shrinks() {
    shrinks(Bug::UncleanElection);
}

#[test]
fn no_idempotent_dedup_shrinks() {
    shrinks(Bug::NoIdempotentDedup);
}

#[test]
fn reassign_sequence_on_retry_shrinks() {
    shrinks(Bug::ReassignSequenceOnRetry);
}

#[test]
fn acks_all_at_leader_append_shrinks() {
    shrinks(Bug::AcksAllAtLeaderAppend);
}

#[test]
fn a_shrink_is_deterministic_and_keeps_its_steps_in_order() {
    let case = Case::load(&swarm_case(Bug::NoIdempotentDedup)).unwrap_or_else(|e| panic!("{e}"));
    let options = ShrinkOptions { replays_max: 60 };
    let mut steps = Vec::new();
    let mut keep = |progress: Progress<'_>| {
        if let Progress::Kept(kept) = progress {
            steps.push(kept.clone());
        }
    };
    let first = shrink(&case, options, &mut keep).unwrap_or_else(|e| panic!("{e}"));
    let second = shrink(&case, options, &mut |_| {}).unwrap_or_else(|e| panic!("{e}"));
    assert_eq!(first, second);
    assert!(!steps.is_empty());
    assert!(steps.windows(2).all(|w| w[0].replays < w[1].replays));
    assert_eq!(steps.last().map(|k| k.size), Some(first.after));
}

#[test]
fn a_clean_case_is_refused() {
    let dir = Path::new(env!("CARGO_MANIFEST_DIR")).join("seeds");
    let case = Case::load(&dir.join("clean-1.toml")).unwrap_or_else(|e| panic!("{e}"));
    let error = shrink(&case, ShrinkOptions::default(), &mut |_| {}).unwrap_err();
    assert!(error.to_string().contains("clean"), "{error}");
}

#[test]
fn a_case_that_no_longer_fails_is_refused_with_what_it_gave() {
    let mut case =
        Case::load(&swarm_case(Bug::NoIdempotentDedup)).unwrap_or_else(|e| panic!("{e}"));
    case.run.cluster.bugs = odradek::bugs::Bugs::default();
    let error = shrink(&case, ShrinkOptions::default(), &mut |_| {}).unwrap_err();
    assert!(error.to_string().contains("gives clean"), "{error}");
}

#[test]
fn a_broker_the_replicas_do_not_need_is_shrunk_away_and_the_clients_renumbered() {
    use odradek::cluster::KafkaRun;
    use odradek_sim::NodeId;
    let mut run = KafkaRun::default().with_bugs(&[Bug::NoIdempotentDedup].into_iter().collect());
    run.cluster.brokers.push(NodeId(4));
    // The nemesis alone: the targeted injectors' sequences aim at whichever broker leads,
    // the fourth among them, which this test is not about.
    run.targeted = false;
    let (outcome, sim) = (1..=5)
        .map(|seed| run.run(seed))
        .find(|(outcome, _)| outcome.violation.is_some())
        .expect("a seed of five catches the switch with four brokers");
    let case = Case::of_simulation("four brokers".into(), &run, &outcome, &sim);
    let options = ShrinkOptions { replays_max: 100 };
    let shrunk = shrink(&case, options, &mut |_| {}).unwrap_or_else(|e| panic!("{e}"));
    assert_eq!(shrunk.case.expect, "duplicate");
    assert_eq!(
        shrunk.case.run.cluster.brokers.len(),
        3,
        "{:?}",
        shrunk.case.run
    );
    let nodes = 3 + 3; // the controller, three brokers, the producer and consumer applications
    for timed in shrunk.case.scenario.schedule.iter().flatten() {
        assert!(
            timed.fault.nodes().iter().all(|n| n.index() < nodes),
            "{timed:?}"
        );
    }
    let replayed = shrunk.case.replay().unwrap_or_else(|e| panic!("{e}"));
    assert!(replayed.met(), "{replayed}");
}
