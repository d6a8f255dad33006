//! Scripted scenarios on a controller and three brokers (replication factor 3,
//! `min.insync.replicas` 2), each an explicit fault schedule, each asserting counts of
//! what happened so it cannot pass by doing nothing.
//!
//! Replay one: `cargo test -p odradek --test cluster_scenarios <name> -- --nocapture`.

mod cluster_common;

use cluster_common::{
    configs, held_kind, produce_errors, replication, run, timed, Outcome, BROKERS, CLIENT,
    CONTROLLER,
};
use odradek::protocol::{ErrorCode, Msg};
use odradek_sim::{CrashMode, Fault, NodeId, PowerLoss, Scenario};

const FAULTS_MS: u64 = 6_000;
const SETTLE_MS: u64 = 3_000;

/// Set to print every event of each scripted run, with its virtual time and node.
const TRACE_VAR: &str = "ODRADEK_TRACE";

fn scenario(schedule: Vec<(u64, Fault)>) -> Scenario {
    Scenario {
        faults_ms: FAULTS_MS,
        settle_ms: SETTLE_MS,
        schedule: Some(timed(schedule)),
        ..Scenario::default()
    }
}

fn run_scripted(name: &str, schedule: Vec<(u64, Fault)>) -> Outcome {
    let configs = configs(u64::MAX, Some(FAULTS_MS + 1_500));
    let (sim, _, result) = run(1, &scenario(schedule), configs);
    if std::env::var_os(TRACE_VAR).is_some() {
        println!("{name}: trace-hash {:016x}", sim.trace().hash());
        for entry in sim.trace().entries() {
            println!("{entry}");
        }
    }
    let outcome = result.unwrap_or_else(|e| panic!("{name}: {e}"));
    println!("{name}: {outcome:?}");
    assert!(
        outcome.acked >= 100,
        "{name}: too few acked writes: {outcome:?}"
    );
    assert!(outcome.final_read >= outcome.acked, "{name}: {outcome:?}");
    outcome
}

fn crash(node: NodeId, mode: CrashMode) -> Fault {
    Fault::Crash { node, mode }
}

fn restart(node: NodeId) -> Fault {
    Fault::Restart { node }
}

const LEADER: NodeId = BROKERS[0];

#[test]
fn acks_all_writes_survive_the_leaders_crash_and_read_back_at_their_offsets() {
    let o = run_scripted(
        "leader_crash",
        vec![
            (2_000, crash(LEADER, CrashMode::Process)),
            (3_000, restart(LEADER)),
        ],
    );
    assert!(o.failovers >= 1, "the crash moved leadership: {o:?}");
}

#[test]
fn acks_all_writes_survive_any_single_brokers_power_loss() {
    for (i, &broker) in BROKERS.iter().enumerate() {
        let o = run_scripted(
            &format!("power_loss_{broker:?}"),
            vec![
                (
                    2_000,
                    crash(broker, CrashMode::PowerLoss(PowerLoss::LoseAll)),
                ),
                (2_500, restart(broker)),
            ],
        );
        if i == 0 {
            assert!(o.failovers >= 1, "{o:?}");
        }
        assert!(o.disk_bytes_lost > 0, "the power loss lost bytes: {o:?}");
        assert!(o.isr_shrinks >= 1 && o.isr_expansions >= 1, "{o:?}");
    }
}

#[test]
fn stale_leader_cut_off_by_a_partition_is_fenced_truncates_and_reconverges() {
    // The leader keeps its client but loses the controller and its followers: it appends
    // what the client sends, cannot commit it, is fenced, and truncates after the heal.
    // Its fetch answers stop 10 ms before the partition, so the client's last produce is
    // appended but never replicated (followers fetch it within a round trip otherwise).
    let held = |hold| held_kind(hold, "fetch_response", Some(LEADER), None);
    let (sim, checker, result) = run(
        1,
        &scenario(vec![
            (1_990, held(true)),
            (
                2_000,
                Fault::Partition {
                    side: vec![LEADER, CLIENT],
                },
            ),
            (3_500, Fault::HealPartitions),
            (3_500, held(false)),
        ]),
        configs(u64::MAX, Some(FAULTS_MS + 1_500)),
    );
    let o = result.expect("passes");
    println!("stale_leader: {o:?}");
    assert!(o.fenced >= 1 && o.failovers >= 1, "{o:?}");
    assert!(
        o.truncations >= 1,
        "the stale leader truncates its uncommitted tail: {o:?}"
    );
    assert_eq!(
        checker.acked_between(2_100_000, 3_500_000),
        0,
        "a cut-off leader commits nothing"
    );
    assert!(o.acked >= 100, "{o:?}");
    drop(sim);
}

#[test]
fn power_loss_keeping_size_without_data_is_cut_at_recovery_and_the_follower_reconverges() {
    // The disk keeps the log's new length but not its bytes (zeros): recovery must cut
    // there and report the cut, and the follower re-fetches what it lost. Each seed crashes
    // at a different point of the follower's writes.
    let follower = BROKERS[1];
    let schedule = vec![
        (
            2_000,
            crash(follower, CrashMode::PowerLoss(PowerLoss::SizeOnly)),
        ),
        (2_500, restart(follower)),
    ];
    let mut cuts = 0;
    for seed in 1..=8 {
        let configs = configs(u64::MAX, Some(FAULTS_MS + 1_500));
        let (_, _, result) = run(seed, &scenario(schedule.clone()), configs);
        let o = result.unwrap_or_else(|e| panic!("seed {seed}: {e}"));
        assert!(
            o.acked >= 100 && o.final_read >= o.acked,
            "seed {seed}: {o:?}"
        );
        cuts += o.recovery_cuts;
    }
    println!("size-only power loss: recovery cuts in 8 seeds: {cuts}");
    assert!(cuts >= 4, "recovery cut too rarely: {cuts} of 8");
}

#[test]
fn isr_shrinks_when_a_follower_stalls_and_reexpands_when_it_catches_up() {
    let o = run_scripted(
        "isr_shrink",
        vec![
            (2_000, Fault::Pause { node: BROKERS[2] }),
            (4_000, Fault::Resume { node: BROKERS[2] }),
        ],
    );
    assert!(o.isr_shrinks >= 1 && o.isr_expansions >= 1, "{o:?}");
}

#[test]
fn acks_all_is_refused_with_too_few_in_sync_replicas() {
    let (sim, _, result) = run(
        1,
        &scenario(vec![
            (2_000, crash(BROKERS[1], CrashMode::Process)),
            (2_000, crash(BROKERS[2], CrashMode::Process)),
            (4_000, restart(BROKERS[1])),
            (4_000, restart(BROKERS[2])),
        ]),
        configs(u64::MAX, Some(FAULTS_MS + 1_500)),
    );
    let o = result.expect("passes");
    let errors = produce_errors(&sim);
    println!("too_few_isr: {o:?} produce errors {errors:?}");
    assert!(
        errors
            .get(&ErrorCode::NotEnoughReplicas)
            .copied()
            .unwrap_or(0)
            >= 1,
        "{errors:?}"
    );
    assert!(
        o.acked >= 100 && o.isr_shrinks >= 1 && o.isr_expansions >= 1,
        "{o:?}"
    );
}

#[test]
fn controller_crash_and_restart_keeps_the_cluster_electing() {
    let o = run_scripted(
        "controller_crash",
        vec![
            (
                1_500,
                crash(CONTROLLER, CrashMode::PowerLoss(PowerLoss::LoseAll)),
            ),
            (2_500, restart(CONTROLLER)),
            (3_500, crash(LEADER, CrashMode::Process)),
            (4_500, restart(LEADER)),
        ],
    );
    assert!(o.failovers >= 1, "{o:?}");
}

#[test]
fn restarted_follower_then_failed_leader_keeps_the_committed_records() {
    // reference/kafka.md's truncate-to-HW scenario: a follower restarts (its HW lags the
    // leader's), then the leader fails and loses its unsynced tail; the follower must
    // not have truncated committed records to its HW.
    let o = run_scripted(
        "truncate_to_hw",
        vec![
            (2_000, crash(BROKERS[1], CrashMode::Process)),
            (2_050, restart(BROKERS[1])),
            (
                2_400,
                crash(LEADER, CrashMode::PowerLoss(PowerLoss::LoseAll)),
            ),
            (3_400, restart(LEADER)),
        ],
    );
    // The hazard: the follower restarted with its high watermark behind the leader's, and
    // the leader then lost bytes and leadership.
    assert!(o.failovers >= 1, "{o:?}");
    assert!(
        o.disk_bytes_lost > 0,
        "the leader's power loss lost bytes: {o:?}"
    );
}

/// The follower n2 goes down by `down` (a stop or a crash) and restarts while n3 is
/// paused; n1's answers to n2 are held so it cannot rejoin; then n1 crashes. Returns the
/// run's outcome and n2's recovery after the restart (clean shutdown, recovery cut).
fn follower_down_then_leader_crash(down: Fault) -> (Outcome, Vec<(bool, bool)>) {
    let follower = BROKERS[1];
    let hold = Fault::Hold {
        from: LEADER,
        to: follower,
        channel: Some(odradek::protocol::REPLICATION),
    };
    let release = Fault::Release {
        from: LEADER,
        to: follower,
        channel: Some(odradek::protocol::REPLICATION),
    };
    let schedule = vec![
        (1_000, Fault::Pause { node: BROKERS[2] }),
        (2_500, down),
        (2_700, hold),
        (2_800, restart(follower)),
        (3_200, crash(LEADER, CrashMode::Process)),
        (5_000, Fault::Resume { node: BROKERS[2] }),
        (5_000, release),
        (5_000, restart(LEADER)),
    ];
    let configs = configs(u64::MAX, Some(FAULTS_MS + 1_500));
    let (sim, _, result) = run(1, &scenario(schedule), configs);
    let outcome = result.unwrap_or_else(|e| panic!("{e}"));
    let recoveries = (sim.log().iter())
        .filter(|o| o.node == follower && o.time_us >= 2_800_000)
        .filter_map(|o| match &o.what {
            odradek_sim::Observed::Node(odradek_invariants::Observation::Recovered {
                clean_shutdown,
                recovery_cut,
                ..
            }) => Some((*clean_shutdown, recovery_cut.is_some())),
            _ => None,
        })
        .collect();
    (outcome, recoveries)
}

#[test]
fn a_controlled_shutdown_restarts_clean_and_keeps_its_elr_standing() {
    let follower = BROKERS[1];
    let (stopped, recovered) = follower_down_then_leader_crash(Fault::Stop { node: follower });
    println!("stop: {stopped:?} {recovered:?}");
    assert_eq!(recovered, [(true, false)], "a clean recovery, nothing cut");
    // Still in the ELR after its clean restart, n2 is elected when n1 fails.
    assert_eq!(
        stopped.elections_by_kind.get("Elr"),
        Some(&1),
        "{stopped:?}"
    );
    assert_eq!(
        stopped.elections_by_kind.get("LastKnownLeader"),
        None,
        "{stopped:?}"
    );
    let (crashed, recovered) = follower_down_then_leader_crash(crash(follower, CrashMode::Process));
    println!("crash: {crashed:?} {recovered:?}");
    assert_eq!(recovered, [(false, false)], "an unclean recovery");
    // Its unclean restart left the ELR: the partition waits for its last known leader.
    assert_eq!(crashed.elections_by_kind.get("Elr"), None, "{crashed:?}");
    assert_eq!(
        crashed.elections_by_kind.get("LastKnownLeader"),
        Some(&1),
        "{crashed:?}"
    );
}

#[test]
fn an_alter_partition_settled_by_newer_metadata_leaves_no_timer_to_reset_the_controller_link() {
    // n3's fetch answers stop until it leaves the ISR; then the controller's answers to
    // the leader's AlterPartition are held while n3 catches up: the expansion commits, and
    // its push (a connection of its own) settles the leader's pending ISR. Its timeout must
    // go with it: fired, it would reset the leader's healthy controller connection.
    let control_answers = |hold| {
        held_kind(
            hold,
            "alter_partition_response",
            Some(CONTROLLER),
            Some(LEADER),
        )
    };
    let fetch_answers = |hold| replication(hold, LEADER, BROKERS[2]);
    let (sim, _, result) = run(
        1,
        &scenario(vec![
            (1_000, fetch_answers(true)),
            (2_800, control_answers(true)),
            (3_000, fetch_answers(false)),
            (4_500, control_answers(false)),
        ]),
        configs(u64::MAX, Some(FAULTS_MS + 1_500)),
    );
    let o = result.expect("passes");
    println!("settled_by_push: {o:?}");
    assert!(o.isr_shrinks >= 1 && o.isr_expansions >= 1, "{o:?}");
    let fired = (sim.trace().entries().iter())
        .filter(|e| {
            matches!(
                &e.event,
                odradek_sim::Event::Fire {
                    timer: odradek::cluster::Timer::Broker(
                        odradek::broker::BrokerTimer::AlterPartitionTimeout(_)
                    ),
                    ..
                }
            )
        })
        .count();
    assert_eq!(fired, 0, "no AlterPartition timeout outlives its proposal");
    // The hazard: the push of the expansion reached the leader before any answer to it.
    let mut proposed = false;
    let mut settled_by_push = false;
    for e in sim.trace().entries() {
        match &e.message {
            Some(Msg::AlterPartitionRequest(r)) if r.new_isr.len() == 3 => proposed = true,
            Some(Msg::AlterPartitionResponse(_)) if proposed => break,
            Some(Msg::PartitionChange { state, .. })
                if proposed && state.isr.len() == 3 && e.event.node() == Some(LEADER) =>
            {
                settled_by_push = true;
                break;
            }
            _ => {}
        }
    }
    assert!(
        settled_by_push,
        "the push settled the expansion before its answer"
    );
}
