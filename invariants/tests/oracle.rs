//! Each invariant on a minimal hand-written history that violates it (asserting the name
//! and the offsets it cites) and on a legal near miss; and the durability rule's causal
//! chain on the histories DESIGN names.

use odradek_invariants::*;

mod common;

use common::*;

#[test]
fn a_healthy_history_is_clean_and_counted() {
    let mut h = H::base();
    h.read_back();
    let verdict = judge(&h).expect("no step violation");
    assert!(verdict.is_clean(), "{verdict}");
    assert_eq!(
        (
            verdict.counts.acked,
            verdict.counts.polled,
            verdict.counts.final_read
        ),
        (3, 3, 3)
    );
    assert!(verdict.counts.log_matching_checks > 0);
}

#[test]
fn an_acked_record_missing_from_the_final_read_is_a_lost_write() {
    let mut h = H::base();
    h.poll(&[(0, 1), (1, 2)]).final_read(&[(0, 1), (1, 2)], 2);
    let v = only(judge(&h).expect("runs"));
    assert_eq!(v.invariant, Invariant::LostWrite);
    assert_eq!(
        (v.field("offset"), v.field("value")),
        (Some("2"), Some("3")),
        "{v}"
    );
    // Near miss: an acks=1 record may be lost.
    let mut h = H::base();
    h.send(4, 1).append(1, 3, 3, 1, true).ok(4, 3);
    h.read_back();
    assert!(judge(&h).expect("runs").is_clean());
}

#[test]
fn a_definitely_failed_send_read_back_is_g1a() {
    let mut h = H::base();
    h.send(9, -1).write(3).done(
        9,
        SendOutcome::Failed {
            error: "NOT_ENOUGH_REPLICAS".into(),
        },
    );
    h.poll(&[(0, 1), (1, 2), (2, 3), (3, 9)]);
    h.final_read(&[(0, 1), (1, 2), (2, 3), (3, 9)], 4);
    let verdict = judge_with(&h, config(), &rest(&[(1, Ok((4, 4, 8)))])).expect("runs");
    let g1a: Vec<_> = verdict
        .violations
        .iter()
        .filter(|v| v.invariant == Invariant::G1a)
        .collect();
    assert_eq!(g1a.len(), 2, "polled and final-read: {verdict}");
    assert_eq!(g1a[0].field("offset"), Some("3"));
    // Near miss: an indeterminate send may be read.
    let mut h = H::base();
    h.send(9, -1).write(3).done(
        9,
        SendOutcome::Indeterminate {
            reason: "timeout".into(),
        },
    );
    h.poll(&[(0, 1), (1, 2), (2, 3), (3, 9)]);
    let verdict = judge_with(&h, config(), &rest(&[(1, Ok((4, 4, 8)))])).expect("runs");
    assert!(
        verdict
            .violations
            .iter()
            .all(|v| v.invariant != Invariant::G1a),
        "{verdict}"
    );
}

#[test]
fn two_values_at_one_offset_across_polls_is_inconsistent_offsets() {
    let mut h = H::base();
    h.poll(&[(0, 1), (1, 2)])
        .poll(&[(1, 7)])
        .final_read(&[(0, 1), (1, 2), (2, 3)], 3);
    let verdict = judge(&h).expect("runs");
    let v = verdict
        .violations
        .iter()
        .find(|v| v.invariant == Invariant::InconsistentOffsets);
    let v = v.unwrap_or_else(|| panic!("{verdict}"));
    assert_eq!(
        (v.field("offset"), v.field("values")),
        (Some("1"), Some("2,7"))
    );
    // Near miss: the same record read by a poll and by the final read.
    let mut h = H::base();
    h.poll(&[(0, 1), (1, 2)]).poll(&[(2, 3)]);
    h.final_read(&[(0, 1), (1, 2), (2, 3)], 3);
    assert!(judge(&h).expect("runs").is_clean());
}

#[test]
fn one_value_at_two_offsets_is_a_duplicate_with_idempotence_only() {
    let mut h = H::base();
    h.write(3);
    h.poll(&[(0, 1), (1, 2), (2, 3), (3, 3)])
        .final_read(&[(0, 1), (1, 2), (2, 3), (3, 3)], 4);
    let at_rest = rest(&[(1, Ok((4, 4, 8)))]);
    let verdict = judge_with(&h, config(), &at_rest).expect("runs");
    let v = only(verdict);
    assert_eq!(
        (v.invariant, v.field("at")),
        (Invariant::Duplicate, Some("t-0@2,t-0@3"))
    );
    let plain = OracleConfig {
        idempotent: false,
        ordered_sends: false,
        ..config()
    };
    assert!(judge_with(&h, plain, &at_rest).expect("runs").is_clean());
}

#[test]
fn polls_that_skip_or_go_back_are_poll_skip_and_nonmonotonic_poll() {
    let mut h = H::base();
    h.poll(&[(0, 1), (2, 3)])
        .final_read(&[(0, 1), (1, 2), (2, 3)], 3);
    let verdict = judge(&h).expect("runs");
    let found = |i| verdict.violations.iter().find(|v| v.invariant == i);
    let v = found(Invariant::PollSkip).expect("poll-skip");
    assert_eq!(
        (v.field("expected"), v.field("got")),
        (Some("1"), Some("2"))
    );
    let unseen = found(Invariant::Unseen).expect("unseen");
    assert_eq!(unseen.field("offset"), Some("1"));
    let mut h = H::base();
    h.poll(&[(0, 1), (1, 2), (2, 3), (1, 2)])
        .final_read(&[(0, 1), (1, 2), (2, 3)], 3);
    let v = only(judge(&h).expect("runs"));
    assert_eq!(
        (v.invariant, v.field("got")),
        (Invariant::NonmonotonicPoll, Some("1"))
    );
    // A reset nothing explains is judged too.
    let mut h = H::base();
    h.poll(&[(0, 1)]);
    h.history(
        CONSUMER,
        HistoryEvent::Reset {
            partition: p(),
            from: 1,
            to: 3,
        },
    );
    h.final_read(&[(0, 1), (1, 2), (2, 3)], 3);
    let verdict = judge(&h).expect("runs");
    assert!(
        verdict
            .violations
            .iter()
            .any(|v| v.invariant == Invariant::PollSkip),
        "{verdict}"
    );
    assert!(
        verdict
            .violations
            .iter()
            .any(|v| v.invariant == Invariant::Unseen),
        "{verdict}"
    );
}

#[test]
fn acked_sends_out_of_send_order_are_nonmonotonic_send() {
    let mut h = H::base();
    h.send(5, -1)
        .send(6, -1)
        .write(3)
        .write(4)
        .ok(6, 3)
        .ok(5, 4);
    let at_rest = rest(&[(1, Ok((5, 5, 9)))]);
    let verdict = judge_with(&h, config(), &at_rest).expect("runs");
    let v = verdict
        .violations
        .iter()
        .find(|v| v.invariant == Invariant::NonmonotonicSend);
    let v = v.unwrap_or_else(|| panic!("{verdict}"));
    assert_eq!(
        (
            v.field("value"),
            v.field("offset"),
            v.field("earlier_offset")
        ),
        (Some("6"), Some("3"), Some("4"))
    );
    let unordered = OracleConfig {
        ordered_sends: false,
        ..config()
    };
    let verdict = judge_with(&h, unordered, &at_rest).expect("runs");
    assert!(verdict
        .violations
        .iter()
        .all(|v| v.invariant != Invariant::NonmonotonicSend));
}

#[test]
fn replicas_disagreeing_below_both_high_watermarks_is_log_divergence() {
    let mut h = H::base();
    h.append(3, 3, 3, 2, false).append(1, 3, 3, 1, true);
    h.append(2, 3, 3, 1, false).hw(1, 4, 1, true);
    let v = judge(&h.clone().hw(3, 4, 1, false).clone()).expect_err("a step violation");
    assert_eq!(
        (v.invariant, v.field("offset")),
        (Invariant::LogDivergence, Some("3"))
    );
    // Near miss: a divergent tail above a high watermark is allowed (it gets truncated).
    assert!(judge(&h).is_ok());
}

#[test]
fn a_leader_hw_past_a_committed_isr_member_is_strong_isr() {
    let mut h = H::base();
    h.append(1, 3, 3, 1, true).append(2, 3, 3, 1, false);
    let v = judge(&h.clone().hw(1, 4, 1, true).clone()).expect_err("a step violation");
    assert_eq!(
        (v.invariant, v.field("member"), v.field("high_watermark")),
        (Invariant::StrongIsr, Some("n3"), Some("4"))
    );
    // Near miss: once the controller committed the shrink, the member is out.
    h.changed(Some(1), 1, 2, &[1, 2], &[]).hw(1, 4, 1, true);
    assert!(judge(&h).is_ok());
}

#[test]
fn epochs_and_high_watermarks_never_go_back() {
    let mut h = H::base();
    h.changed(Some(1), 0, 2, &[1, 2, 3], &[]);
    assert_eq!(
        judge(&h).expect_err("step").invariant,
        Invariant::EpochRegression
    );
    let mut h = H::base();
    h.follows(2, 1, 0);
    assert_eq!(
        judge(&h).expect_err("step").invariant,
        Invariant::EpochRegression
    );
    let mut h = H::base();
    h.hw(1, 2, 1, true);
    let v = judge(&h).expect_err("step");
    assert_eq!(
        (v.invariant, v.field("high_watermark"), v.field("before")),
        (Invariant::HwRegression, Some("2"), Some("3"))
    );
    // Near miss: a restarted replica starts over; a new epoch's high watermark is its own.
    let mut h = H::base();
    h.restart(2, 3, 3, false).follows(2, 1, 1);
    assert!(judge(&h).is_ok());
}

#[test]
fn a_poll_above_every_leader_hw_is_read_above_hw() {
    let mut h = H::base();
    h.append(1, 3, 3, 1, true);
    let v = judge(&h.clone().poll(&[(3, 4)]).clone()).expect_err("step");
    assert_eq!(
        (v.invariant, v.field("offset"), v.field("high_watermark")),
        (Invariant::ReadAboveHw, Some("3"), Some("3"))
    );
    assert!(judge(&h.poll(&[(2, 3)]).clone()).is_ok());
}

#[test]
fn a_polled_record_the_final_read_no_longer_reaches_is_read_of_truncated() {
    let mut h = H::base();
    h.send(4, 1).write(3).ok(4, 3);
    h.poll(&[(0, 1), (1, 2), (2, 3), (3, 4)])
        .final_read(&[(0, 1), (1, 2), (2, 3)], 3);
    let verdict = judge(&h).expect("runs");
    let v = verdict
        .violations
        .iter()
        .find(|v| v.invariant == Invariant::ReadOfTruncated);
    assert_eq!(v.and_then(|v| v.field("offset")), Some("3"), "{verdict}");
}

#[test]
fn a_leader_from_outside_the_derived_isr_and_elr_is_unclean_leader() {
    // n3 is fenced while the ISR is {1,2,3}: it leaves without joining the ELR (two stay),
    // so electing it "from the ISR" is wrong whatever the controller claims.
    let mut h = H::base();
    h.obs(0, Observation::BrokerFenced { broker: 3 });
    h.obs(0, Observation::BrokerFenced { broker: 1 });
    h.elected(3, 2, ElectionKind::Isr);
    let v = judge(&h).expect_err("step");
    assert_eq!(
        (v.invariant, v.field("leader"), v.field("isr")),
        (Invariant::UncleanLeader, Some("n3"), Some("[2]"))
    );
    // Near miss: n2 was in the ISR.
    let mut h = H::base();
    h.obs(0, Observation::BrokerFenced { broker: 3 });
    h.obs(0, Observation::BrokerFenced { broker: 1 });
    h.elected(2, 2, ElectionKind::Isr);
    assert!(judge(&h).is_ok());
    // The fallback is legal only with the ISR and ELR both empty.
    let mut h = H::base();
    h.elected(2, 2, ElectionKind::LastKnownLeader);
    assert_eq!(
        judge(&h).expect_err("step").invariant,
        Invariant::UncleanLeader
    );
}

#[test]
fn liveness_fails_on_open_sends_a_short_isr_and_unconverged_replicas() {
    let mut h = H::base();
    h.send(8, -1).read_back();
    let v = only(judge(&h).expect("runs"));
    assert_eq!(
        (v.invariant, v.field("value")),
        (Invariant::SendNeverCompleted, Some("8"))
    );
    let mut h = H::base();
    h.changed(Some(1), 1, 2, &[1, 2], &[]).read_back();
    let v = only(judge(&h).expect("runs"));
    assert_eq!(
        (v.invariant, v.field("missing")),
        (Invariant::IsrNotReformed, Some("[3]"))
    );
    let mut h = H::base();
    h.read_back();
    let behind = rest(&[(1, Ok((3, 3, 7))), (2, Ok((3, 2, 7))), (3, Ok((3, 3, 7)))]);
    let v = only(judge_with(&h, config(), &behind).expect("runs"));
    assert_eq!(
        (v.invariant, v.field("replica")),
        (Invariant::ReplicasNotConverged, Some("n2"))
    );
}

#[test]
fn replicas_differ_at_rest_and_an_unreadable_replica_is_never_equal() {
    let mut h = H::base();
    h.read_back();
    let differ = rest(&[(1, Ok((3, 3, 7))), (2, Ok((3, 3, 6))), (3, Ok((3, 3, 7)))]);
    let v = only(judge_with(&h, config(), &differ).expect("runs"));
    assert_eq!(
        (v.invariant, v.field("replica")),
        (Invariant::ReplicasDiffer, Some("n2"))
    );
    let unreadable = rest(&[
        (1, Ok((3, 3, 7))),
        (2, Err("read error")),
        (3, Ok((3, 3, 7))),
    ]);
    let v = only(judge_with(&h, config(), &unreadable).expect("runs"));
    assert_eq!(v.invariant, Invariant::ReplicasDiffer);
    // Near miss: a replica on a disk the run damaged is excused, and says why.
    h.at(
        2,
        Event::DiskFault {
            file: "t-0/x.log".into(),
            start: 0,
            end: 1,
            kind: DiskFaultKind::BitFlip,
        },
    );
    let verdict = judge_with(&h, config(), &differ).expect("runs");
    assert!(verdict.is_clean(), "{verdict}");
    assert_eq!(verdict.excused.len(), 1);
}

/// Values 1..=3 committed on {1,2,3}; then n2 and n3 restart unclean (each leaves the ISR
/// and the ELR), n1 is the last in the ISR and loses its log to a power loss, and the
/// controller falls back to it as the last known leader.
fn fallback_after_unclean_restarts(power_loss_on_leader: bool) -> H {
    let mut h = H::base();
    h.restart(2, 3, 3, false)
        .changed(Some(1), 1, 2, &[1, 3], &[]);
    h.restart(3, 3, 3, false).changed(Some(1), 1, 3, &[1], &[]);
    if power_loss_on_leader {
        h.power_loss(1, 0);
    } else {
        h.at(
            1,
            Event::Crashed {
                power_loss: false,
                halted: false,
            },
        );
    }
    h.obs(0, Observation::BrokerFenced { broker: 1 })
        .changed(None, 2, 4, &[], &[1]);
    let log_end = if power_loss_on_leader { 0 } else { 3 };
    h.restart(1, log_end, 0, false);
    h.elected(1, 3, ElectionKind::LastKnownLeader)
        .changed(Some(1), 3, 5, &[1], &[]);
    h.leads(1, 3, log_end).follows(2, 1, 3).follows(3, 1, 3);
    h.obs(
        2,
        Observation::Truncated {
            partition: p(),
            from_offset: 3,
            to_offset: log_end,
            cause: TruncationCause::LeaderEpoch,
        },
    );
    h.obs(
        3,
        Observation::Truncated {
            partition: p(),
            from_offset: 3,
            to_offset: log_end,
            cause: TruncationCause::LeaderEpoch,
        },
    );
    h
}

#[test]
fn the_fallback_after_two_unclean_restarts_and_a_power_loss_is_an_allowed_loss_with_its_chain() {
    let mut h = fallback_after_unclean_restarts(true);
    h.final_read(&[], 0);
    let empty = rest(&[(1, Ok((0, 0, 1))), (2, Ok((0, 0, 1))), (3, Ok((0, 0, 1)))]);
    let verdict = judge_with(&h, config(), &empty).expect("no step violation");
    let isr = verdict
        .violations
        .iter()
        .filter(|v| v.invariant == Invariant::IsrNotReformed)
        .count();
    assert_eq!(
        verdict.violations.len(),
        isr,
        "only the shrunk ISR remains: {verdict}"
    );
    assert_eq!(verdict.allowed_losses.len(), 3, "{verdict}");
    let loss = &verdict.allowed_losses[0];
    assert_eq!((loss.offset, loss.value, loss.chain.len()), (0, 1, 3));
    assert!(loss.chain[0].contains("LastKnownLeader"), "{loss}");
    assert!(
        loss.chain[1].contains("lost by its disk") && loss.chain[1].contains("PowerLoss"),
        "{loss}"
    );
    assert!(loss.chain[2].contains("empty"), "{loss}");
}

#[test]
fn a_loss_without_a_disk_fault_on_the_fallback_leader_is_a_lost_write() {
    // The same sequence, but the fallback leader crashed without losing its page cache
    // and comes back with an empty log anyway: nothing on its disk explains the loss.
    let mut h = fallback_after_unclean_restarts(false);
    h.final_read(&[], 0);
    let empty = rest(&[(1, Ok((0, 0, 1))), (2, Ok((0, 0, 1))), (3, Ok((0, 0, 1)))]);
    let verdict = judge_with(&h, config(), &empty).expect("no step violation");
    assert!(verdict.allowed_losses.is_empty(), "{verdict}");
    let lost = verdict
        .violations
        .iter()
        .filter(|v| v.invariant == Invariant::LostWrite)
        .count();
    assert_eq!(lost, 3, "{verdict}");
}

#[test]
fn one_replicas_power_loss_is_never_enough_while_an_eligible_replica_holds_the_record() {
    // n1 (leader) loses its log to a power loss while n2 still holds every record and is
    // eligible: electing n1 as "last known leader" is unclean, and the loss is a lost-write.
    let mut h = H::base();
    h.restart(3, 3, 3, false)
        .changed(Some(1), 1, 2, &[1, 2], &[]);
    h.power_loss(1, 0);
    h.obs(0, Observation::BrokerFenced { broker: 1 });
    h.restart(1, 0, 0, false);
    h.elected(1, 2, ElectionKind::LastKnownLeader);
    let v = judge(&h).expect_err("the election is judged at once");
    assert_eq!(
        (v.invariant, v.field("isr")),
        (Invariant::UncleanLeader, Some("[2]"))
    );
}

#[test]
fn a_copy_removed_by_truncation_to_the_high_watermark_is_a_lost_write() {
    // The truncate-to-HW sequence (pre-KIP-101): b=n1 leads epoch 1 with ISR {1}, writes
    // r0; a=n2 joins and replicates it; the leader's HW moves to 1 while a's is still 0; a
    // restarts and truncates to its HW 0; b fails; a is elected from the ISR: r0 is gone.
    let one = OracleConfig {
        min_insync_replicas: 1,
        ..config()
    };
    let mut h = H::default();
    h.elected(1, 1, ElectionKind::Isr)
        .changed(Some(1), 1, 1, &[1], &[]);
    h.leads(1, 1, 0).follows(2, 1, 1);
    h.send(1, -1)
        .append(1, 0, 0, 1, true)
        .append(2, 0, 0, 1, false);
    h.changed(Some(1), 1, 2, &[1, 2], &[])
        .hw(1, 1, 1, true)
        .ok(1, 0);
    h.at(2, Event::Restarted);
    h.obs(
        2,
        Observation::Truncated {
            partition: p(),
            from_offset: 1,
            to_offset: 0,
            cause: TruncationCause::LeaderEpoch,
        },
    );
    h.obs(0, Observation::BrokerFenced { broker: 1 });
    h.elected(2, 2, ElectionKind::Isr)
        .changed(Some(2), 2, 3, &[2], &[])
        .leads(2, 2, 0);
    h.final_read(&[], 0);
    let at_rest = rest(&[(2, Ok((0, 0, 1)))]);
    let verdict = judge_with(&h, one, &at_rest).expect("no step violation");
    assert!(verdict.allowed_losses.is_empty(), "{verdict}");
    let v = verdict
        .violations
        .iter()
        .find(|v| v.invariant == Invariant::LostWrite);
    let v = v.unwrap_or_else(|| panic!("{verdict}"));
    assert_eq!(v.field("offset"), Some("0"));
    assert!(
        v.to_string().contains("truncated by leader epoch on n2"),
        "{v}"
    );
}

#[test]
fn every_invariant_has_a_name_and_a_group() {
    for invariant in Invariant::ALL {
        assert_eq!(Invariant::from_name(invariant.name()), Some(invariant));
        let _ = invariant.group();
    }
    assert_eq!(Invariant::G1a.name(), "G1a");
}

#[test]
fn a_lost_acks_1_record_does_not_order_the_sends_around_it() {
    // Value 4 is acked (acks=1) at offset 3 by the leader alone and lost; value 5 is then
    // written at offset 3. With acks=all, 4's loss would be a lost-write and the order
    // broken; with acks=1 neither applies.
    let mut h = H::base();
    h.send(4, 1).append(1, 3, 3, 1, true).ok(4, 3);
    h.obs(
        1,
        Observation::Truncated {
            partition: p(),
            from_offset: 4,
            to_offset: 3,
            cause: TruncationCause::LeaderEpoch,
        },
    );
    h.send(5, -1).write(3).ok(5, 3);
    h.poll(&[(0, 1), (1, 2), (2, 3), (3, 5)])
        .final_read(&[(0, 1), (1, 2), (2, 3), (3, 5)], 4);
    let at_rest = rest(&[(1, Ok((4, 4, 9))), (2, Ok((4, 4, 9))), (3, Ok((4, 4, 9)))]);
    let verdict = judge_with(&h, config(), &at_rest).expect("no step violation");
    assert!(verdict.is_clean(), "{verdict}");
}

/// Values 1..=3 committed on {1,2,3}; n2 and n3 lose power and restart empty (each leaves
/// the ISR and the ELR); n1, alone in the ISR, is fenced and stays in the ELR with the
/// values; an enabled unclean election makes n2 leader, and n1 comes back to truncate to it.
/// With `n1_in_service`, n1 registered again before the election.
fn unclean_election_past_the_elr(n1_in_service: bool) -> H {
    let mut h = H::base();
    h.power_loss(2, 0);
    h.restart(2, 0, 0, false)
        .changed(Some(1), 1, 2, &[1, 3], &[]);
    h.power_loss(3, 0);
    h.restart(3, 0, 0, false).changed(Some(1), 1, 3, &[1], &[]);
    h.at(
        1,
        Event::Crashed {
            power_loss: false,
            halted: false,
        },
    );
    h.obs(0, Observation::BrokerFenced { broker: 1 })
        .changed(None, 2, 4, &[], &[1]);
    if n1_in_service {
        h.restart(1, 3, 3, true);
    }
    h.elected(2, 3, ElectionKind::Unclean)
        .changed(Some(2), 3, 5, &[2], &[]);
    h.leads(2, 3, 0).follows(3, 2, 3);
    if !n1_in_service {
        h.restart(1, 3, 3, false);
    }
    h.follows(1, 2, 3).obs(
        1,
        Observation::Truncated {
            partition: p(),
            from_offset: 3,
            to_offset: 0,
            cause: TruncationCause::LeaderEpoch,
        },
    );
    h.final_read(&[], 0);
    h
}

#[test]
fn an_enabled_unclean_election_gives_up_what_only_out_of_service_members_hold() {
    let config = OracleConfig {
        unclean_leader_election_enable: true,
        ..config()
    };
    let empty = rest(&[(1, Ok((0, 0, 1))), (2, Ok((0, 0, 1))), (3, Ok((0, 0, 1)))]);
    let h = unclean_election_past_the_elr(false);
    let verdict = judge_with(&h, config, &empty).expect("no step violation");
    let lost = (verdict.violations.iter())
        .filter(|v| v.invariant == Invariant::LostWrite)
        .count();
    assert_eq!((lost, verdict.allowed_losses.len()), (0, 3), "{verdict}");
    let loss = &verdict.allowed_losses[0];
    assert!(loss.chain[0].contains("Unclean"), "{loss}");
    assert!(loss.chain[1].contains("out of service [1]"), "{loss}");
    // Near miss: n1 was back in service, so it should have been elected from the ELR.
    let h = unclean_election_past_the_elr(true);
    let verdict = judge_with(&h, config, &empty).expect("no step violation");
    let lost: Vec<_> = (verdict.violations.iter())
        .filter(|v| v.invariant == Invariant::LostWrite)
        .collect();
    assert_eq!(lost.len(), 3, "{verdict}");
    assert!(
        lost[0].to_string().contains("holders [1] were eligible"),
        "{verdict}"
    );
}
