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

#[test]
fn a_loss_the_fallback_allows_is_admitted_by_the_model_and_by_the_oracle() {
    use odradek::cluster::check::{acked_on_newest_leader, partition};
    use odradek::cluster::KafkaNode;
    use odradek_sim::explorer::replay_steps;
    use odradek_sim::{NodeId, Scenario, Simulation};
    // Found by `check --power-loss --epochs 3 --isr-changes 5` breadth first (17 steps from
    // the booted start, as a sometimes-property): the ISR shrank to the leader, which acked
    // the record alone, lost it in a power loss, and came back as the last known leader.
    let path = std::path::Path::new("seeds/explorer-fallback_allowed_loss.toml");
    let file = Counterexample::load(path).unwrap_or_else(|e| panic!("{e}"));
    // The oracle, in the simulator: no violation, the loss allowed with its chain.
    let replayed = file.replay().expect("the steps replay");
    assert!(replayed.met(), "{replayed}");
    assert!(!replayed.allowed_losses.is_empty(), "{replayed:?}");
    // The model, in the world right after the steps: the newest leader lacks the acked
    // record, the fallback installed it in its epoch, and `lost-write` admits it.
    let options = CheckOptions {
        min_insync_replicas: file.model.min_insync_replicas,
        ..CheckOptions::default()
    };
    let scenario = Scenario {
        faults_ms: 0,
        settle_ms: 0,
        schedule: Some(Vec::new()),
        ..Scenario::default()
    };
    let mut sim: Simulation<KafkaNode> =
        Simulation::new(options.configs(), &scenario, 0).expect("the model's nodes");
    replay_steps(&mut sim, &file.steps).expect("the steps apply");
    let world = sim.world();
    let brokers = [NodeId(1), NodeId(2)];
    let client = world.node(NodeId(3)).and_then(KafkaNode::as_client);
    assert!(client.is_some_and(|c| !c.acked().is_empty()));
    let controller = world.node(NodeId(0)).and_then(KafkaNode::as_controller);
    let fallback = controller.and_then(|c| c.fallback_epoch(&partition()));
    let leader = (brokers.iter())
        .filter_map(|&b| world.node(b)?.as_broker()?.partition(&partition()))
        .find(|p| p.is_leader())
        .expect("a leader");
    assert_eq!(fallback, Some(leader.leader_epoch));
    assert_eq!(leader.log.log_end_offset(), 0, "the leader lost the record");
    assert!(acked_on_newest_leader(world, &brokers, NodeId(3)));
}

/// A broker leads in a later leader epoch than the start's (epoch 1).
fn a_later_leader(world: &odradek_sim::World<odradek::cluster::KafkaNode>) -> bool {
    use odradek::cluster::check::partition;
    (1..=2).any(|b| {
        (world.node(odradek_sim::NodeId(b)))
            .and_then(|n| n.as_broker()?.partition(&partition()))
            .is_some_and(|p| p.is_leader() && p.leader_epoch > 1)
    })
}

#[test]
fn with_the_timers_on_a_session_expiry_fails_over_without_a_crash() {
    use odradek_sim::explorer::Explorer;
    // No crash in the budget: a leader change can only come from the controller fencing
    // a broker whose session expired, which time's abstraction lets happen at any moment.
    let options = CheckOptions {
        crashes: 0,
        periodic_timers: true,
        ..CheckOptions::default()
    };
    let search = |options: &CheckOptions| {
        let model = (options.model().expect("valid bounds"))
            .sometimes("a later leader without a crash", a_later_leader);
        Explorer::new(model)
            .depth_max(8)
            .threads(2)
            .bfs()
            .expect("valid bounds")
    };
    let report = search(&options);
    assert_eq!(report.violations().count(), 0, "{report}");
    assert!(report.unreached().is_empty(), "{report}");
    assert!(report.depth_cut && !report.exhausted(), "{report}");
    // The timers are what fails over: without them the same bound never changes leader.
    let without = search(&CheckOptions {
        periodic_timers: false,
        ..options
    });
    assert_eq!(without.unreached().len(), 1, "{without}");
    assert!(
        without.distinct < report.distinct,
        "{without} against {report}"
    );
}
