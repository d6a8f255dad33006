//! The bug zoo on the cluster: for each switch, a scripted fault schedule replaying its
//! historical sequence (or the shortest one found for a plausible bug). With the switch on
//! the oracle reports the switch's expected invariant; with it off the same schedule is
//! clean; and each test asserts the hazard the schedule exists for happened.
//!
//! Replay one: `cargo test -p odradek --test bug_zoo <name> -- --nocapture`.

mod cluster_common;

use cluster_common::{
    client, held_kind, replication, run, spec, timed, Outcome, BROKERS, CONTROLLER,
};
use odradek::bugs::{Bug, Bugs};
use odradek::cluster::NodeConfig;
use odradek::protocol::{TopicPartition, REPLICATION};
use odradek_sim::{CrashMode, Fault, NodeId, PowerLoss, RunError, Scenario};

const SEED: u64 = 1;
const LEADER: NodeId = BROKERS[0];

fn scenario(faults_ms: u64, schedule: Vec<(u64, Fault)>) -> Scenario {
    Scenario {
        faults_ms,
        settle_ms: 3_000,
        schedule: Some(timed(schedule)),
        ..Scenario::default()
    }
}

/// The cluster a zoo scenario runs: `cluster_common`'s, with its brokers (every one a
/// replica), `min.insync.replicas` and the partition the client writes (of `partitions`,
/// whose replica orders rotate: t-1's is n2, n3, n1).
#[derive(Debug, Clone, Copy)]
struct Shape {
    brokers: &'static [NodeId],
    min_insync: usize,
    partitions: i32,
    written: i32,
}

const DEFAULT: Shape = Shape {
    brokers: &BROKERS,
    min_insync: 2,
    partitions: 1,
    written: 0,
};

/// Four brokers, for the sequences that need a leader, its successor, theirs, and a
/// follower outliving all three.
const FOUR: [NodeId; 4] = [NodeId(1), NodeId(2), NodeId(3), NodeId(4)];

/// Runs `scenario` with `bugs` on; the oracle's first violation, if any.
fn run_with(bugs: Bugs, scenario: &Scenario, shape: Shape) -> Result<Outcome, String> {
    let mut cluster = spec(shape.brokers);
    cluster.bugs = bugs;
    cluster.min_insync_replicas = shape.min_insync;
    cluster.topics[0].partitions = shape.partitions;
    let final_read_at_ms = scenario.faults_ms + scenario.settle_ms / 2;
    let mut configs = cluster.server_configs();
    let mut writer = client(shape.brokers, u64::MAX, Some(final_read_at_ms));
    writer.tp = TopicPartition::new("t", shape.written);
    configs.push(NodeConfig::Client(writer));
    let (_, _, result) = run(SEED, scenario, configs);
    result.map_err(|error| match error {
        RunError::Violation { message, .. } => message,
        other => format!("the run stopped: {other}"),
    })
}

/// The schedule is clean without `bug` and caught by its expected invariant with it; the
/// clean run's outcome, for hazard assertions.
fn caught(bug: Bug, scenario: &Scenario, shape: Shape) -> Outcome {
    let clean = run_with(Bugs::default(), scenario, shape)
        .unwrap_or_else(|violation| panic!("{bug} off must be clean: {violation}"));
    println!("{bug} off: {clean:?}");
    let violation = run_with(Bugs::only(bug), scenario, shape)
        .err()
        .unwrap_or_else(|| panic!("{bug} on must be caught"));
    println!("{bug} on: violation: {violation}");
    let expected = bug.expected().name();
    assert!(
        violation.starts_with(&format!("{expected}:")),
        "{bug}: expected {expected}, got {violation}"
    );
    clean
}

fn crash(node: NodeId, mode: CrashMode) -> Fault {
    Fault::Crash { node, mode }
}

fn power_loss(node: NodeId) -> Fault {
    crash(node, CrashMode::PowerLoss(PowerLoss::LoseAll))
}

/// Fetch responses from `from` to `to` wait, or flow again (other replication answers,
/// OffsetsForLeaderEpoch's, pass).
fn fetch_responses(hold: bool, from: NodeId, to: NodeId) -> Fault {
    held_kind(hold, "fetch_response", Some(from), Some(to))
}

#[test]
fn no_min_isr_check_commits_on_the_leader_alone_and_diverges_from_the_elr_leader() {
    // The followers are cut off: fenced, the ISR shrinks to the leader (one of them stays
    // in the ELR). Without min.insync.replicas the leader acks alone, then loses its page
    // cache; the ELR member is elected without those records.
    let followers = vec![BROKERS[1], BROKERS[2]];
    let schedule = vec![
        (2_000, Fault::Partition { side: followers }),
        (4_000, power_loss(LEADER)),
        (4_500, Fault::HealPartitions),
        (4_700, Fault::Restart { node: LEADER }),
    ];
    let clean = caught(Bug::NoMinIsrCheck, &scenario(6_000, schedule), DEFAULT);
    assert!(
        clean.failovers >= 1 && clean.disk_bytes_lost > 0,
        "{clean:?}"
    );
}

#[test]
fn unclean_election_elects_outside_the_isr_and_elr_and_calls_it_clean() {
    // The ISR shrinks to the leader; both followers restart unclean (leaving the ELR) and
    // cannot rejoin; the leader goes down. Nobody is eligible: the fixed controller waits
    // for the last known leader; the bug elects a follower and records an ISR election.
    let hold = |node| Fault::Hold {
        from: LEADER,
        to: node,
        channel: Some(REPLICATION),
    };
    let schedule = vec![
        (1_000, Fault::Pause { node: BROKERS[1] }),
        (1_000, Fault::Pause { node: BROKERS[2] }),
        (2_400, hold(BROKERS[1])),
        (2_400, hold(BROKERS[2])),
        (2_500, crash(BROKERS[1], CrashMode::Process)),
        (2_500, crash(BROKERS[2], CrashMode::Process)),
        (2_600, Fault::Restart { node: BROKERS[1] }),
        (2_600, Fault::Restart { node: BROKERS[2] }),
        (3_500, crash(LEADER, CrashMode::Process)),
    ];
    let clean = caught(Bug::UncleanElection, &scenario(5_000, schedule), DEFAULT);
    assert_eq!(
        clean.elections_by_kind.get("LastKnownLeader"),
        Some(&1),
        "{clean:?}"
    );
}

#[test]
fn last_replica_standing_reelects_the_last_isr_member_after_its_lossy_restart() {
    // The followers stall and are fenced: the ISR shrinks to the leader. It loses its page
    // cache and restarts unclean. KIP-966 takes it out of the ISR and elects the follower
    // left in the ELR; before KIP-966 the last member stayed in the ISR and came back as
    // leader with what its disk kept.
    let schedule = vec![
        (2_000, Fault::Pause { node: BROKERS[1] }),
        (2_000, Fault::Pause { node: BROKERS[2] }),
        (3_500, power_loss(LEADER)),
        (3_700, Fault::Restart { node: LEADER }),
        (4_000, Fault::Resume { node: BROKERS[1] }),
        (4_000, Fault::Resume { node: BROKERS[2] }),
    ];
    let clean = caught(
        Bug::LastReplicaStanding,
        &scenario(6_000, schedule),
        DEFAULT,
    );
    assert!(
        clean.disk_bytes_lost > 0 && clean.failovers >= 1,
        "{clean:?}"
    );
    assert_eq!(clean.elections_by_kind.get("Elr"), Some(&1), "{clean:?}");
}

#[test]
fn hw_over_proposed_isr_commits_past_a_member_the_controller_still_counts() {
    // A follower's fetches go unanswered until it lags out; the leader's AlterPartition is
    // held on its way to the controller, so the shrink stays a proposal. The maximal ISR
    // keeps the high watermark at the lagging member; the bug advances it over the
    // proposal while the committed ISR still holds the member.
    let schedule = vec![
        (
            2_000,
            Fault::Hold {
                from: LEADER,
                to: BROKERS[2],
                channel: Some(REPLICATION),
            },
        ),
        (
            2_000,
            Fault::HoldKind {
                kind: "alter_partition_request".into(),
                from: Some(LEADER),
                to: None,
            },
        ),
        (
            4_000,
            Fault::ReleaseKind {
                kind: "alter_partition_request".into(),
                from: Some(LEADER),
                to: None,
            },
        ),
        (
            4_000,
            Fault::Release {
                from: LEADER,
                to: BROKERS[2],
                channel: Some(REPLICATION),
            },
        ),
    ];
    let clean = caught(Bug::HwOverProposedIsr, &scenario(6_000, schedule), DEFAULT);
    assert!(clean.isr_shrinks >= 1, "{clean:?}");
}

#[test]
fn no_idempotent_dedup_appends_a_retried_batch_twice() {
    // The leader's answers to the client are held until its request times out; it retries
    // the same batch (same sequence). The fixed broker answers the retry with the first
    // append's offset; the bug appends it again.
    let client = cluster_common::CLIENT;
    let schedule = vec![
        (
            2_000,
            Fault::HoldKind {
                kind: "produce_response".into(),
                from: Some(LEADER),
                to: Some(client),
            },
        ),
        (
            2_600,
            Fault::ReleaseKind {
                kind: "produce_response".into(),
                from: Some(LEADER),
                to: Some(client),
            },
        ),
    ];
    let clean = caught(Bug::NoIdempotentDedup, &scenario(6_000, schedule), DEFAULT);
    assert!(clean.acked >= 100, "{clean:?}");
}

#[test]
fn truncate_to_hw_cuts_committed_records_that_the_elected_follower_then_overwrites() {
    // reference/kafka.md's sequence on t-1 (replicas n2, n3, n1): n2 leads; its answers to
    // n1 are held for the last 100 ms before it crashes, so n1 holds a record n2 committed
    // on n1's own fetch but knows a high watermark one record behind (a follower learns
    // the high watermark from the answer after the fetch that moved it). n3 is elected and
    // n1 starts following it, truncating to that high watermark. n3's answers to n1 are
    // held, so n1 cannot fetch back what it cut; n3 then loses power and n1, still in the
    // ISR, is elected. The fixed follower truncates by leader epoch (its request is held
    // too) and keeps everything.
    let schedule = vec![
        (1_900, fetch_responses(true, BROKERS[1], LEADER)),
        (2_000, crash(BROKERS[1], CrashMode::Process)),
        (2_000, fetch_responses(false, BROKERS[1], LEADER)),
        (
            2_000,
            Fault::Hold {
                from: BROKERS[2],
                to: LEADER,
                channel: Some(REPLICATION),
            },
        ),
        (3_000, power_loss(BROKERS[2])),
        (
            3_100,
            Fault::Release {
                from: BROKERS[2],
                to: LEADER,
                channel: Some(REPLICATION),
            },
        ),
        (4_000, Fault::Restart { node: BROKERS[2] }),
        (5_000, Fault::Restart { node: BROKERS[1] }),
    ];
    let shape = Shape {
        partitions: 2,
        written: 1,
        ..DEFAULT
    };
    let clean = caught(Bug::TruncateToHw, &scenario(6_000, schedule), shape);
    assert!(
        clean.failovers >= 2 && clean.disk_bytes_lost > 0,
        "{clean:?}"
    );
}

#[test]
fn kip101_without_kip279_cuts_committed_records_when_the_new_leader_lacks_the_followers_epoch() {
    // Four replicas, leaders n1, n2, n3 in turn. n1's last answers to n2 and n4 are held
    // as it crashes: both hold records n1 committed above the high watermark they
    // know. n2 leads; n3 gets none of its records. n2 crashes and n3, still in the ISR and
    // without epoch 2, leads. n4 asks where epoch 2 ends: n3 answers for epoch 1. Without
    // KIP-279 n4 falls back to its stale high watermark, cutting committed records; its
    // fetch answers are held, so it cannot fetch them back before n3 crashes and n4 leads.
    let [n1, n2, n3, n4] = FOUR;
    // Inside the 10 ms of each ~45 ms round (slowed links) in which n1 has committed a
    // record that n2 and n4 hold but do not yet know is committed.
    let h = 1_965;
    let slow = |to, extra_ms| Fault::SlowLink {
        from: n1,
        to,
        extra_ms,
    };
    let schedule = vec![
        (1_500, slow(n2, 20)),
        (1_500, slow(n4, 20)),
        (h, replication(true, n1, n2)),
        (h, replication(true, n1, n4)),
        (2_000, replication(true, n2, n3)),
        (2_000, crash(n1, CrashMode::Process)),
        (2_500, replication(false, n1, n2)),
        (2_500, replication(false, n1, n4)),
        (2_500, slow(n2, 0)),
        (2_500, slow(n4, 0)),
        (3_000, fetch_responses(true, n3, n4)),
        (3_100, crash(n2, CrashMode::Process)),
        (3_100, replication(false, n2, n3)),
        (4_200, crash(n3, CrashMode::Process)),
        (4_300, Fault::Restart { node: n1 }),
        (4_400, Fault::Restart { node: n2 }),
        (5_000, Fault::Restart { node: n3 }),
        (5_000, fetch_responses(false, n3, n4)),
    ];
    let shape = Shape {
        brokers: &FOUR,
        ..DEFAULT
    };
    let clean = caught(Bug::Kip101WithoutKip279, &scenario(6_000, schedule), shape);
    assert!(clean.failovers >= 3 && clean.truncations >= 1, "{clean:?}");
}

/// n1 leads while n3 hears nothing from the controller. n1's answers to n2 are held, so
/// n1's last record reaches n3 but not n2; n1's heartbeats are held until it is fenced
/// and n2 leads, appending the retried record at the same offset in its own epoch. n1
/// follows n2, truncates its copy and catches up; n2 crashes and n1 leads again. n3 never
/// lost its connection to n1 and is still fetching in n1's first epoch, its stale batch
/// below its log end. The controller's link to n3 heals with `heal`.
fn stale_follower(heal: Vec<(u64, Fault)>) -> Vec<(u64, Fault)> {
    let [n1, n2, n3] = BROKERS;
    let heartbeats = |hold| held_kind(hold, "heartbeat_request", Some(n1), Some(CONTROLLER));
    let cut = Fault::PartitionOneWay {
        from: vec![CONTROLLER],
        to: vec![n3],
    };
    let mut schedule = vec![
        (1_000, cut),
        (2_000, replication(true, n1, n2)),
        (2_000, heartbeats(true)),
        (2_700, replication(false, n1, n2)),
        (3_000, heartbeats(false)),
        (4_000, crash(n2, CrashMode::Process)),
        (5_000, Fault::Restart { node: n2 }),
    ];
    schedule.extend(heal);
    schedule.sort_by_key(|(at_ms, _)| *at_ms);
    schedule
}

#[test]
fn no_epoch_fencing_lets_a_follower_two_epochs_behind_fetch_past_its_divergence() {
    // n3 fetches from n1 in epoch 3 with epoch 1 in its request: fenced, it waits for the
    // controller; unfenced, n1 serves it from its log end and n3's stale batch sits below
    // the high watermark.
    let schedule = stale_follower(vec![(6_000, Fault::HealPartitions)]);
    let clean = caught(Bug::NoEpochFencing, &scenario(7_000, schedule), DEFAULT);
    assert!(clean.failovers >= 2 && clean.truncations >= 2, "{clean:?}");
}

#[test]
fn same_leader_skips_truncation_keeps_a_batch_the_returning_leader_replaced() {
    // n3's connections to the controller are reset (what it would have heard is lost)
    // and heal: its heartbeat brings the newest state only, the same leader two elections
    // on. Truncation by epoch cuts n3's stale batch; KAFKA-7164's follower keeps fetching
    // from its log end.
    let schedule = stale_follower(vec![
        (
            5_200,
            Fault::Reset {
                a: CONTROLLER,
                b: BROKERS[2],
            },
        ),
        (5_200, Fault::HealPartitions),
    ]);
    let clean = caught(
        Bug::SameLeaderSkipsTruncation,
        &scenario(7_000, schedule),
        DEFAULT,
    );
    assert!(clean.failovers >= 2 && clean.truncations >= 2, "{clean:?}");
}
