//! `odradek check`'s model: the real controller, brokers and test client under the
//! explorer, from the world a deterministic run reaches once a leader has the full ISR;
//! and its counterexamples replayed in the simulation driver, judged by the oracle.
//!
//! Replay: `cargo run --release -- check --bug hw_over_proposed_isr --save cex.toml`, then
//! `cargo run --release -- replay cex.toml`.

use odradek::bugs::{Bug, Bugs};
use odradek::cluster::check::{CheckOptions, STRONG_ISR};
use odradek::cluster::Counterexample;

#[test]
fn hw_over_proposed_isr_breaks_strong_isr_in_8_steps_where_the_fixed_protocol_is_clean() {
    let buggy = CheckOptions {
        bugs: Bugs::only(Bug::HwOverProposedIsr),
        depth_max: Some(14),
        threads: 2,
        ..CheckOptions::default()
    };
    let report = buggy.run().expect("valid bounds");
    let path = (report.counterexample(STRONG_ISR)).unwrap_or_else(|| panic!("{report}"));
    // Breadth first: no shorter path violates any property.
    assert_eq!(path.len(), 8, "{report}");
    assert_eq!(report.violations().count(), 1, "{report}");
    let fixed = CheckOptions {
        bugs: Bugs::default(),
        depth_max: Some(13),
        ..buggy
    };
    let report = fixed.run().expect("valid bounds");
    assert_eq!(report.violations().count(), 0, "{report}");
    // Bounded, and said so: the depth bound cut the search.
    assert!(report.depth_cut && !report.exhausted(), "{report}");
}

#[test]
fn a_counterexample_replays_in_the_simulator_to_the_oracles_same_invariant() {
    let options = CheckOptions {
        bugs: Bugs::only(Bug::HwOverProposedIsr),
        depth_max: Some(8),
        ..CheckOptions::default()
    };
    let model = options.model().expect("valid bounds");
    let report = options.run().expect("valid bounds");
    let path = (report.counterexample(STRONG_ISR)).unwrap_or_else(|| panic!("{report}"));
    let steps = model.steps(path);
    let file = Counterexample::new("test".into(), &options, STRONG_ISR, steps);
    // Through its file form, as `check --save` writes it and `replay` reads it.
    let dir = std::env::temp_dir().join(format!("odradek-cex-{}", std::process::id()));
    std::fs::create_dir_all(&dir).expect("a temporary directory");
    let saved = dir.join("cex.toml");
    file.save(&saved).expect("written");
    let file = Counterexample::load(&saved).expect("read back");
    std::fs::remove_dir_all(&dir).ok();
    let replayed = file.replay().expect("the steps replay");
    assert!(replayed.met(), "{replayed} {:?}", replayed.violation);
    // Without the switch the same steps no longer break it: the replay judged the bug.
    let mut fixed = file.clone();
    fixed.model.bugs = Bugs::default();
    let replayed = fixed.replay();
    assert!(replayed.as_ref().map_or(true, |r| !r.met()), "{replayed:?}");
}

#[test]
fn the_models_constraints_are_counted_apart_from_the_search_limits() {
    use odradek::cluster::check::LEADER_EPOCHS;
    // The start's leader is in epoch 1: any failover commits epoch 2, outside the bound.
    let options = CheckOptions {
        epochs_max: Some(1),
        depth_max: Some(10),
        threads: 2,
        ..CheckOptions::default()
    };
    let report = options.run().expect("valid bounds");
    let outside = report.outside_boundary.get(LEADER_EPOCHS).copied();
    assert!(outside.is_some_and(|n| n > 0), "{report}");
    assert!(report.to_string().contains("leader epochs: "), "{report}");
    assert_eq!(
        report.outside(),
        report.outside_boundary.values().sum::<u64>()
    );
    // A constraint is the model's, not a search limit: the depth bound is what cut it.
    assert!(report.depth_cut && !report.exhausted(), "{report}");
    let unbounded = CheckOptions {
        epochs_max: None,
        ..options
    };
    let wider = unbounded.run().expect("valid bounds");
    assert!(wider.distinct > report.distinct, "{wider} against {report}");
}

#[test]
fn depth_first_finds_a_counterexample_no_shorter_than_breadth_first_and_it_replays() {
    use odradek::cluster::check::Search;
    let options = CheckOptions {
        bugs: Bugs::only(Bug::HwOverProposedIsr),
        depth_max: Some(12),
        search: Search::Dfs,
        ..CheckOptions::default()
    };
    let model = options.model().expect("valid bounds");
    let report = options.run().expect("valid bounds");
    let path = (report.counterexample(STRONG_ISR)).unwrap_or_else(|| panic!("{report}"));
    // Breadth first proves 8 the shortest; depth first takes the first path it meets.
    assert!((8..=12).contains(&path.len()), "{}", path.len());
    assert!(!report.exhausted(), "{report}");
    let file = Counterexample::new("dfs".into(), &options, STRONG_ISR, model.steps(path));
    let replayed = file.replay().expect("the steps replay");
    assert!(replayed.met(), "{replayed} {:?}", replayed.violation);
}
