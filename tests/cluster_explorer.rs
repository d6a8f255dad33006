//! The cluster under the explorer: a controller, two brokers (replication factor 2,
//! `min.insync.replicas` 2) and the typed client writing one acks=all record, with one
//! power loss of the first leader. The search is bounded by depth (every state within the
//! bound expanded, states at the bound not: no proof beyond it) and the distinct-state count
//! is pinned: node state carries no counter without protocol
//! meaning, so states reached along different paths coincide.
//!
//! The configuration is the smallest that reaches an ack. Time is abstracted there (any
//! armed timer may fire next), so timers that re-arm forever are off
//! (`Timing::periodic_timers`: heartbeats, sessions, high-watermark checkpoints) and the
//! client sends without a request timeout. What remains still bumps epochs (ISR shrinks
//! after `replica.lag.time.max.ms`, expansions, re-registrations), which is why a depth
//! bound closes the search: the ack takes 15 steps, and `complete` means every state
//! within them was expanded.
//!
//! The search from boot stops where the record is acked, so durability is never judged
//! after a crash there. The second search starts where a deterministic run from boot has
//! the record acked (`odradek check --from-ack`) and spends the power loss on either
//! broker from there: within its constraints (leader epochs up to 3, partition epochs up
//! to 5, a message in flight per stream) it is exhausted, with `lost-write` judged in every
//! state, among them those where the leader that acked lost its copy and the other broker
//! leads.
//!
//! Replay: `cargo test -p odradek --test cluster_explorer -- --nocapture`.

mod cluster_common;

use cluster_common::tp;
use odradek::cluster::check::CheckOptions;
use odradek::cluster::KafkaNode;
use odradek_sim::explorer::{Explorer, Report, WorldModel};
use odradek_sim::{NodeId, Status, World};

const BROKERS: [NodeId; 2] = [NodeId(1), NodeId(2)];
const CLIENT: NodeId = NodeId(3);
/// The fewest steps from boot to the client's ack.
const DEPTH_MAX: usize = 15;

/// `odradek check`'s model at these bounds: two replicas, `min.insync.replicas` 2, one
/// record, one power loss of the first leader.
fn options() -> CheckOptions {
    CheckOptions {
        min_insync_replicas: 2,
        power_loss: true,
        crash_first_only: true,
        from_boot: true,
        ..CheckOptions::default()
    }
}

fn acked(world: &World<KafkaNode>) -> bool {
    (world.node(CLIENT).and_then(KafkaNode::as_client)).is_some_and(|c| !c.acked().is_empty())
}

/// The first leader is down while the other broker holds the client's record.
fn follower_holds_the_record_while_the_leader_is_down(world: &World<KafkaNode>) -> bool {
    let follower_leo = (world.node(BROKERS[1]).and_then(KafkaNode::as_broker))
        .and_then(|b| b.partition(&tp()))
        .map(|p| p.log.log_end_offset());
    world.status(BROKERS[0]) == Status::Down && follower_leo == Some(1)
}

fn model() -> WorldModel<KafkaNode> {
    (options().model().expect("valid bounds"))
        .sometimes("the record is acked", acked)
        .sometimes(
            "the follower holds the record while the leader is down",
            follower_holds_the_record_while_the_leader_is_down,
        )
}

fn search() -> Report<WorldModel<KafkaNode>> {
    let report = Explorer::new(model())
        .depth_max(DEPTH_MAX)
        .threads(2)
        .bfs()
        .expect("valid bounds");
    eprintln!("depth={DEPTH_MAX}: {report}");
    report
}

#[test]
fn one_record_and_one_power_loss_search_to_the_depth_bound_with_a_pinned_state_count() {
    let report = search();
    // Bounded, not exhausted: the depth bound cut states, and the report says so.
    assert!(report.complete && report.depth_cut && !report.exhausted());
    assert!(
        report.verdict().starts_with("bounded: the depth bound"),
        "{report}"
    );
    let violations: Vec<_> = report.violations().map(|d| d.property).collect();
    if let Some(property) = violations.first() {
        let path = report
            .counterexample(property)
            .expect("a violation has a path");
        panic!("{property} violated:\n{}", path.describe(&model()));
    }
    assert!(report.unreached().is_empty(), "{:?}", report.unreached());
    // Pinned: a change here means node state or the protocol's steps changed.
    assert_eq!((report.distinct, report.generated), (183_807, 556_441));
}

/// The broker that led at the ack came back from its power loss without the record while
/// the other broker leads with it.
fn the_record_survives_only_on_the_new_leader(world: &World<KafkaNode>) -> bool {
    let replica = |b: NodeId| {
        let partition = world.node(b)?.as_broker()?.partition(&tp())?;
        Some((partition.is_leader(), partition.log.log_end_offset()))
    };
    let lost = matches!(replica(BROKERS[0]), Some((_, 0)));
    lost && replica(BROKERS[1]) == Some((true, 1))
}

#[test]
fn after_the_ack_a_power_loss_of_either_broker_is_exhausted_without_a_loss() {
    let options = CheckOptions {
        from_ack: true,
        crash_first_only: false,
        epochs_max: Some(3),
        partition_epochs_max: Some(5),
        depth_max: Some(60),
        ..options()
    };
    let model = (options.model().expect("valid bounds")).sometimes(
        "the record survives only on the new leader",
        the_record_survives_only_on_the_new_leader,
    );
    let report = Explorer::new(model)
        .depth_max(60)
        .threads(2)
        .bfs()
        .expect("valid bounds");
    eprintln!("from the ack: {report}");
    assert_eq!(report.violations().count(), 0, "{report}");
    // Every state within the model's constraints expanded: no search limit cut it.
    assert!(report.exhausted(), "{report}");
    assert!(report.outside() > 0, "{report}");
    // Durability was judged where it matters: after the power loss cost the acking
    // leader its copy, with the other broker leading.
    assert!(report.unreached().is_empty(), "{:?}", report.unreached());
    assert_eq!((report.distinct, report.generated), (147_529, 576_118));
}
