//! Bad input: a malformed, stale or unexpected request gets an error response, never a
//! panic, and changes nothing; a corrupt log found at recovery is truncated, never served.
//! The typed client sends raw requests at `AT_MS`, when the cluster (a controller, three
//! brokers, `t-0` led by n1 in epoch 1) has settled; the answers are read from the trace.
//!
//! Replay one: `cargo test -p odradek --test cluster_bad_input <name> -- --nocapture`.

mod cluster_common;

use cluster_common::{
    batch, configs, delivered_to, log_end_offset, produce, produce_results, replica_digests, run,
    run_scripted_requests, timed, tp, BROKERS, CLIENT, CONTROLLER,
};
use odradek::client::Scripted;
use odradek::cluster::KafkaNode;
use odradek::protocol::{
    AlterPartitionRequest, ErrorCode, FetchRequest, HeartbeatRequest, IsrMember,
    ListOffsetsRequest, Msg, OffsetSpec, OffsetsForLeaderEpochRequest, RegisterRequest,
    RegisterResponse, TopicPartition, ACKS_ALL, CLIENT as CLIENT_CHANNEL, CONTROL, PUSH,
    REPLICATION,
};
use odradek_invariants::Observation;
use odradek_sim::{CrashMode, Fault, NodeId, Observed, Peer, Scenario, Simulation};

const SEED: u64 = 1;
const AT_MS: u64 = 1_000;
const RUN_MS: u64 = 2_000;
const LEADER: NodeId = BROKERS[0];
const FOLLOWER: NodeId = BROKERS[1];

fn at(to: Peer, msg: Msg) -> Scripted {
    Scripted {
        at_ms: AT_MS,
        to,
        msg,
    }
}

fn client_peer(node: NodeId) -> Peer {
    Peer::server(node, CLIENT_CHANNEL)
}

/// Runs the script and returns the run and what reached the client from `AT_MS` on.
fn answers(script: Vec<Scripted>) -> (Simulation<KafkaNode>, Vec<Msg>) {
    let sim = run_scripted_requests(SEED, 0, script, Vec::new(), RUN_MS);
    let messages = delivered_to(&sim, CLIENT, AT_MS);
    (sim, messages)
}

fn node_observations(sim: &Simulation<KafkaNode>, node: NodeId) -> Vec<&Observation> {
    sim.log()
        .iter()
        .filter(|entry| entry.node == node)
        .filter_map(|entry| match &entry.what {
            Observed::Node(obs) => Some(obs),
            _ => None,
        })
        .collect()
}

fn fetch(replica: Option<(i32, i64)>, epoch: i32) -> Msg {
    Msg::FetchRequest(FetchRequest {
        replica,
        tp: tp(),
        fetch_offset: 0,
        current_leader_epoch: epoch,
        bytes_max: 1024,
        max_wait_ms: 0,
    })
}

fn fetch_errors(messages: &[Msg]) -> Vec<ErrorCode> {
    (messages.iter())
        .filter_map(|m| match m {
            Msg::FetchResponse(resp) => Some(resp.error),
            _ => None,
        })
        .collect()
}

/// The controller's committed view after the run: every broker's epoch, and t-0.
fn controller_view(sim: &Simulation<KafkaNode>) -> (Vec<i64>, odradek::protocol::PartitionState) {
    let controller = sim
        .world()
        .node(CONTROLLER)
        .and_then(KafkaNode::as_controller);
    let state = controller.expect("the controller is up").state();
    let epochs = BROKERS
        .iter()
        .map(|&b| state.brokers[&i32::from(b.0)].broker_epoch)
        .collect();
    (epochs, state.partition(&tp()).expect("t-0 exists").clone())
}

#[test]
fn malformed_produce_batches_are_refused_and_append_nothing() {
    let valid = batch(7, None);
    let mut flipped = valid.to_vec();
    let last = flipped.len() - 1;
    flipped[last] ^= 0x40;
    let mut trailing = valid.to_vec();
    trailing.extend_from_slice(&[0, 0, 0]);
    let bodies: Vec<bytes::Bytes> = vec![
        bytes::Bytes::new(),
        bytes::Bytes::from_static(&[1, 2, 3]),
        bytes::Bytes::from(flipped),
        bytes::Bytes::from(trailing),
        valid.slice(..valid.len() - 5),
    ];
    let script = (bodies.into_iter())
        .map(|records| at(client_peer(LEADER), produce(1, tp(), records)))
        .collect();
    let (sim, messages) = answers(script);
    let results = produce_results(&messages);
    println!("{results:?}");
    assert_eq!(
        results,
        vec![
            (ErrorCode::CorruptMessage, -1),
            (ErrorCode::CorruptMessage, -1),
            (ErrorCode::CorruptMessage, -1),
            (ErrorCode::InvalidRecord, -1),
            (ErrorCode::InvalidRecord, -1),
        ]
    );
    assert_eq!(
        log_end_offset(sim.world(), LEADER),
        Some(0),
        "nothing appended"
    );
    assert_eq!(sim.stats().halts, 0);
}

#[test]
fn unknown_partitions_and_bad_acks_are_refused() {
    let script = vec![
        at(
            client_peer(LEADER),
            produce(1, TopicPartition::new("t", 7), batch(1, None)),
        ),
        at(
            client_peer(LEADER),
            produce(1, TopicPartition::new("nope", 0), batch(1, None)),
        ),
        at(client_peer(LEADER), produce(5, tp(), batch(1, None))),
        at(client_peer(LEADER), produce(-2, tp(), batch(1, None))),
    ];
    let (sim, messages) = answers(script);
    let results = produce_results(&messages);
    assert_eq!(
        results,
        vec![
            (ErrorCode::UnknownTopicOrPartition, -1),
            (ErrorCode::UnknownTopicOrPartition, -1),
            (ErrorCode::InvalidRequiredAcks, -1),
            (ErrorCode::InvalidRequiredAcks, -1),
        ]
    );
    assert_eq!(log_end_offset(sim.world(), LEADER), Some(0));
}

#[test]
fn produce_fetch_and_list_offsets_to_a_follower_get_not_leader_or_follower() {
    let list = Msg::ListOffsetsRequest(ListOffsetsRequest {
        tp: tp(),
        spec: OffsetSpec::Latest,
    });
    let script = vec![
        at(
            client_peer(FOLLOWER),
            produce(ACKS_ALL, tp(), batch(1, None)),
        ),
        at(client_peer(FOLLOWER), fetch(None, -1)),
        at(client_peer(FOLLOWER), list),
    ];
    let (sim, messages) = answers(script);
    let errors: Vec<ErrorCode> = (messages.iter())
        .filter_map(|m| match m {
            Msg::ProduceResponse(r) => Some(r.partitions[0].error),
            Msg::FetchResponse(r) => Some(r.error),
            Msg::ListOffsetsResponse(r) => Some(r.error),
            _ => None,
        })
        .collect();
    assert_eq!(errors, vec![ErrorCode::NotLeaderOrFollower; 3]);
    assert_eq!(log_end_offset(sim.world(), FOLLOWER), Some(0));
}

#[test]
fn fetches_with_a_stale_or_future_leader_epoch_are_fenced() {
    let (_, view) = controller_view(&answers(Vec::new()).0);
    let epoch = view.leader_epoch;
    let follower_id = i32::from(FOLLOWER.0);
    let offsets_for = |current| {
        Msg::OffsetsForLeaderEpochRequest(OffsetsForLeaderEpochRequest {
            tp: tp(),
            current_leader_epoch: current,
            leader_epoch: 0,
        })
    };
    let script = vec![
        at(client_peer(LEADER), fetch(None, epoch - 1)),
        at(client_peer(LEADER), fetch(None, epoch + 5)),
        at(
            Peer::server(LEADER, REPLICATION),
            fetch(Some((follower_id, 1)), epoch - 1),
        ),
        at(client_peer(LEADER), fetch(None, epoch)),
        at(Peer::server(LEADER, REPLICATION), offsets_for(epoch - 1)),
        at(Peer::server(LEADER, REPLICATION), offsets_for(epoch + 1)),
    ];
    let (_, messages) = answers(script);
    let mut errors = fetch_errors(&messages);
    errors.sort();
    // Client and replication connections may overtake each other: compare as sets.
    assert_eq!(
        errors,
        vec![
            ErrorCode::None,
            ErrorCode::FencedLeaderEpoch,
            ErrorCode::FencedLeaderEpoch,
            ErrorCode::UnknownLeaderEpoch,
        ]
    );
    let offsets: Vec<ErrorCode> = (messages.iter())
        .filter_map(|m| match m {
            Msg::OffsetsForLeaderEpochResponse(r) => Some(r.error),
            _ => None,
        })
        .collect();
    assert_eq!(
        offsets,
        vec![ErrorCode::FencedLeaderEpoch, ErrorCode::UnknownLeaderEpoch]
    );
}

#[test]
fn stale_broker_leader_and_partition_epochs_are_rejected_by_the_controller() {
    let (epochs, view) = controller_view(&answers(Vec::new()).0);
    let leader_id = i32::from(LEADER.0);
    let alter = |broker_epoch, leader_epoch, partition_epoch| {
        Msg::AlterPartitionRequest(AlterPartitionRequest {
            broker: leader_id,
            broker_epoch,
            tp: tp(),
            leader_epoch,
            partition_epoch,
            new_isr: vec![IsrMember {
                broker: leader_id,
                broker_epoch: epochs[0],
            }],
        })
    };
    let control = Peer::server(CONTROLLER, CONTROL);
    let heartbeat = Msg::HeartbeatRequest(HeartbeatRequest {
        broker: leader_id,
        broker_epoch: epochs[0] - 100,
        known: Vec::new(),
    });
    let script = vec![
        at(
            control,
            alter(epochs[0] + 100, view.leader_epoch, view.partition_epoch),
        ),
        at(
            control,
            alter(epochs[0], view.leader_epoch - 1, view.partition_epoch),
        ),
        at(
            control,
            alter(epochs[0], view.leader_epoch, view.partition_epoch - 1),
        ),
        at(control, heartbeat),
    ];
    let (sim, messages) = answers(script);
    let errors: Vec<ErrorCode> = (messages.iter())
        .filter_map(|m| match m {
            Msg::AlterPartitionResponse(r) => Some(r.error),
            Msg::HeartbeatResponse(r) => Some(r.error),
            _ => None,
        })
        .collect();
    assert_eq!(
        errors,
        vec![
            ErrorCode::StaleBrokerEpoch,
            ErrorCode::FencedLeaderEpoch,
            ErrorCode::InvalidUpdateVersion,
            ErrorCode::StaleBrokerEpoch,
        ]
    );
    let (_, after) = controller_view(&sim);
    assert_eq!(after, view, "nothing changed");
}

#[test]
fn a_stale_partition_change_is_ignored_by_the_broker() {
    let (epochs, view) = controller_view(&answers(Vec::new()).0);
    let mut stale = view.clone();
    stale.leader = Some(i32::from(FOLLOWER.0));
    stale.leader_epoch -= 1;
    let push = |broker_epoch| Msg::PartitionChange {
        broker_epoch,
        state: stale.clone(),
    };
    let script = vec![
        at(Peer::server(FOLLOWER, PUSH), push(epochs[1])),
        at(Peer::server(FOLLOWER, PUSH), push(epochs[1] - 100)),
    ];
    let (sim, _) = answers(script);
    let became_leader = node_observations(&sim, FOLLOWER)
        .into_iter()
        .filter(|o| matches!(o, Observation::BecameLeader { .. }))
        .count();
    assert_eq!(became_leader, 0);
    let follower = sim.world().node(FOLLOWER).and_then(KafkaNode::as_broker);
    let partition = follower.and_then(|b| b.partition(&tp())).expect("hosted");
    assert!(!partition.is_leader());
    assert_eq!(partition.leader_epoch, view.leader_epoch);
}

#[test]
fn unexpected_requests_get_invalid_request() {
    let register_response = Msg::RegisterResponse(RegisterResponse {
        error: ErrorCode::None,
        broker_epoch: 1,
    });
    let register = Msg::RegisterRequest(RegisterRequest {
        broker: 42,
        clean: true,
    });
    let script = vec![
        at(client_peer(LEADER), register_response),
        at(client_peer(CONTROLLER), Msg::MetadataRequest),
        at(Peer::server(CONTROLLER, CONTROL), register),
    ];
    let (sim, messages) = answers(script);
    let errors: Vec<ErrorCode> = (messages.iter())
        .filter_map(|m| match m {
            Msg::ErrorResponse(error) => Some(*error),
            Msg::RegisterResponse(r) => Some(r.error),
            _ => None,
        })
        .collect();
    assert_eq!(errors, vec![ErrorCode::InvalidRequest; 3]);
    assert_eq!(sim.stats().halts, 0);
}

#[test]
fn a_corrupt_log_found_at_recovery_is_truncated_and_never_served() {
    // A bit of a follower's disk flips, then it crashes and restarts. Seeds differ in
    // where the flip lands; those that land in a batch are the cases: recovery cuts the
    // log there, and the follower re-fetches what it lost.
    let schedule = vec![
        (2_000, Fault::FlipBit { node: FOLLOWER }),
        (
            2_050,
            Fault::Crash {
                node: FOLLOWER,
                mode: CrashMode::Process,
            },
        ),
        (2_200, Fault::Restart { node: FOLLOWER }),
    ];
    let scenario = Scenario {
        faults_ms: 4_000,
        settle_ms: 3_000,
        schedule: Some(timed(schedule)),
        ..Scenario::default()
    };
    let mut cut = 0;
    for seed in 1..=40 {
        let (sim, _, result) = run(seed, &scenario, configs(u64::MAX, Some(5_500)));
        let outcome = result.unwrap_or_else(|e| panic!("seed {seed}: {e}"));
        let observations = node_observations(&sim, FOLLOWER);
        let appended_end = (observations.iter())
            .take_while(|o| !matches!(o, Observation::Recovered { .. }))
            .filter_map(|o| match o {
                Observation::Appended { last_offset, .. } => Some(last_offset + 1),
                _ => None,
            })
            .max();
        // Only a recovery that reports its cut counts: a missing `Recovered` is no cut.
        let recovered_end = (observations.iter()).find_map(|o| match o {
            Observation::Recovered {
                recovery_cut: Some(cut),
                ..
            } => Some(cut.offset),
            _ => None,
        });
        let Some(recovered_end) = recovered_end else {
            continue;
        };
        assert!(
            appended_end.is_some_and(|end| recovered_end < end),
            "seed {seed}: the cut removed appended batches"
        );
        cut += 1;
        assert!(outcome.acked >= 100, "seed {seed}: {outcome:?}");
        let logs = replica_digests(sim.world());
        assert_eq!(
            logs[&FOLLOWER], logs[&LEADER],
            "seed {seed}: re-fetched byte for byte"
        );
        println!(
            "seed {seed}: cut at {recovered_end:?} of {appended_end:?}, re-fetched; {outcome:?}"
        );
    }
    assert!(cut >= 3, "seeds flip bits inside the follower's log: {cut}");
}

#[test]
fn a_damaged_controller_state_halts_the_controller_and_no_epoch_starts_over() {
    let faults = vec![
        (1_000, Fault::FlipBit { node: CONTROLLER }),
        (
            1_100,
            Fault::Crash {
                node: CONTROLLER,
                mode: CrashMode::Process,
            },
        ),
        (1_200, Fault::Restart { node: CONTROLLER }),
    ];
    let faults = timed(faults);
    let sim = run_scripted_requests(SEED, u64::MAX, Vec::new(), faults, 3_000);
    let after_restart = |entry: &&odradek_sim::Observation<Observation>| {
        entry.node == CONTROLLER && entry.time_us >= 1_200_000
    };
    let observed: Vec<&Observation> = (sim.log().iter())
        .filter(after_restart)
        .filter_map(|entry| match &entry.what {
            Observed::Node(obs) => Some(obs),
            _ => None,
        })
        .collect();
    let halts = (observed.iter())
        .filter(|o| matches!(o, Observation::Halted { reason } if reason.contains("damaged")))
        .count();
    let registrations = (observed.iter())
        .filter(|o| matches!(o, Observation::BrokerRegistered { .. }))
        .count();
    println!(
        "halts {halts}, registrations {registrations}, stats {:?}",
        sim.stats()
    );
    assert!(halts >= 1, "{observed:?}");
    assert_eq!(registrations, 0, "no broker epoch is handed out again");
}

#[test]
fn heartbeats_and_alter_partitions_naming_another_broker_are_refused() {
    // The client speaks for the leader with the leader's own, current epochs: the
    // controller must not take a session renewal or an ISR change from anyone but the
    // broker itself.
    let (epochs, view) = controller_view(&answers(Vec::new()).0);
    let leader_id = i32::from(LEADER.0);
    let control = Peer::server(CONTROLLER, CONTROL);
    let heartbeat = Msg::HeartbeatRequest(HeartbeatRequest {
        broker: leader_id,
        broker_epoch: epochs[0],
        known: Vec::new(),
    });
    let alter = Msg::AlterPartitionRequest(AlterPartitionRequest {
        broker: leader_id,
        broker_epoch: epochs[0],
        tp: tp(),
        leader_epoch: view.leader_epoch,
        partition_epoch: view.partition_epoch,
        new_isr: vec![IsrMember {
            broker: leader_id,
            broker_epoch: epochs[0],
        }],
    });
    let (sim, messages) = answers(vec![at(control, heartbeat), at(control, alter)]);
    let errors: Vec<ErrorCode> = (messages.iter())
        .filter_map(|m| match m {
            Msg::AlterPartitionResponse(r) => Some(r.error),
            Msg::HeartbeatResponse(r) => Some(r.error),
            _ => None,
        })
        .collect();
    assert_eq!(
        errors,
        [ErrorCode::InvalidRequest, ErrorCode::InvalidRequest]
    );
    let (_, after) = controller_view(&sim);
    assert_eq!(after, view, "the ISR did not change");
}
