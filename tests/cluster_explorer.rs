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
//! Replay: `cargo test -p odradek --test cluster_explorer -- --nocapture`.

mod cluster_common;

use std::collections::BTreeMap;

use cluster_common::{client, spec, tp};
use odradek::cluster::{KafkaNode, NodeConfig};
use odradek::log::ReadLimits;
use odradek_sim::explorer::{Explorer, Report, WorldBounds, WorldModel};
use odradek_sim::{CrashMode, NodeId, PowerLoss, SimDiskOptions, Status, World};

const BROKERS: [NodeId; 2] = [NodeId(1), NodeId(2)];
const CLIENT: NodeId = NodeId(3);
/// The fewest steps from boot to the client's ack.
const DEPTH_MAX: usize = 15;

const ACKED_ON_NEWEST_LEADER: &str = "an acked record is at its offset on the newest leader";
const ONE_LEADER_PER_EPOCH: &str = "one leader per epoch";
const REPLICAS_AGREE_BELOW_HW: &str = "replicas agree below their high watermarks";

fn configs() -> Vec<NodeConfig> {
    let mut spec = spec(&BROKERS);
    spec.timing.periodic_timers = false;
    let mut client = client(&BROKERS, 1, None);
    client.request_timeout_ms = None;
    let mut configs = spec.server_configs();
    configs.push(NodeConfig::Client(client));
    configs
}

/// The bytes of every batch of t-0 below `end` on `broker`, if it is up and hosts it.
fn log_below(world: &World<KafkaNode>, broker: NodeId, end: i64) -> Option<Vec<u8>> {
    let partition = world.node(broker)?.as_broker()?.partition(&tp())?;
    let limits = ReadLimits::to_offset(usize::MAX, end);
    let read = partition.log.read(world.disk(broker), 0, limits).ok()?;
    Some(read.bytes.to_vec())
}

/// Up brokers leading t-0, with their epochs.
fn leaders(world: &World<KafkaNode>) -> Vec<(i32, NodeId)> {
    BROKERS
        .iter()
        .filter_map(|&b| {
            let partition = world.node(b)?.as_broker()?.partition(&tp())?;
            partition.is_leader().then_some((partition.leader_epoch, b))
        })
        .collect()
}

/// Every value the client saw acked (one record per batch) is at its offset in the log of
/// the leader with the highest epoch.
fn acked_on_newest_leader(world: &World<KafkaNode>) -> bool {
    let Some(client) = world.node(CLIENT).and_then(KafkaNode::as_client) else {
        return true;
    };
    let Some((_, leader)) = leaders(world).into_iter().max() else {
        return true;
    };
    client.acked().iter().all(|(&value, &offset)| {
        let Some(bytes) = log_below(world, leader, offset + 1) else {
            return false;
        };
        let mut found = None;
        let mut rest = &bytes[..];
        while let Ok((batch, used)) = odradek::record::RecordBatch::decode(rest) {
            for record in &batch.records {
                if batch.record_offset(record) == offset {
                    found = record.value.clone();
                }
            }
            rest = &rest[used..];
        }
        found.as_deref() == Some(&value.to_be_bytes()[..])
    })
}

fn one_leader_per_epoch(world: &World<KafkaNode>) -> bool {
    let mut by_epoch: BTreeMap<i32, u32> = BTreeMap::new();
    for (epoch, _) in leaders(world) {
        *by_epoch.entry(epoch).or_default() += 1;
    }
    by_epoch.values().all(|&count| count == 1)
}

/// Any two up replicas hold the same bytes below the smaller of their high watermarks.
fn replicas_agree_below_hw(world: &World<KafkaNode>) -> bool {
    let hw = |b: NodeId| {
        let partition = world.node(b)?.as_broker()?.partition(&tp())?;
        Some(partition.log.high_watermark())
    };
    let (Some(a), Some(b)) = (hw(BROKERS[0]), hw(BROKERS[1])) else {
        return true;
    };
    let end = a.min(b);
    log_below(world, BROKERS[0], end) == log_below(world, BROKERS[1], end)
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
    let bounds = WorldBounds {
        crashes_max: 1,
        restarts_max: 1,
        crash_modes: vec![CrashMode::PowerLoss(PowerLoss::LoseAll)],
        crashable: vec![BROKERS[0]],
        in_flight_max: 1,
        ..WorldBounds::default()
    };
    WorldModel::new(configs(), SimDiskOptions::default(), bounds)
        .expect("valid bounds")
        .always(ACKED_ON_NEWEST_LEADER, acked_on_newest_leader)
        .always(ONE_LEADER_PER_EPOCH, one_leader_per_epoch)
        .always(REPLICAS_AGREE_BELOW_HW, replicas_agree_below_hw)
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
