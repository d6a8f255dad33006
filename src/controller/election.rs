//! The partition rules the controller applies, as pure functions over a partition's state:
//! removing replicas from the ISR (and when they join the ELR, KIP-966), and electing a
//! leader (ISR first, then ELR, then the last known leader when both are empty, then,
//! only if enabled, any live replica).

use odradek_invariants::ElectionKind;

use crate::bugs::{Bug, Bugs};
use crate::protocol::{BrokerId, PartitionState};

/// Removes `removed` from the ISR. Removed replicas join the ELR when the ISR left is
/// smaller than `min_insync_replicas` and `keep_eligible` holds (they hold every committed
/// record: the high watermark could not pass them). An unclean restart passes
/// `keep_eligible = false` and also leaves the ELR. A removed leader leaves the partition
/// leaderless. Returns whether anything changed.
/// With [`Bug::LastReplicaStanding`], the rule before KIP-966: the ISR never loses its
/// last member and there is no ELR.
pub(crate) fn remove_from_isr(
    state: &mut PartitionState,
    removed: &[BrokerId],
    min_insync_replicas: usize,
    keep_eligible: bool,
    bugs: &Bugs,
) -> bool {
    let before = state.clone();
    let gone: Vec<BrokerId> = state
        .isr
        .iter()
        .copied()
        .filter(|b| removed.contains(b))
        .collect();
    let last_standing = bugs.on(Bug::LastReplicaStanding);
    let emptied = state.isr.iter().all(|b| removed.contains(b));
    if !(last_standing && emptied) {
        state.isr.retain(|b| !removed.contains(b));
    }
    if keep_eligible && state.isr.len() < min_insync_replicas && !last_standing {
        state.elr.extend(gone);
    }
    if !keep_eligible {
        state.elr.retain(|b| !removed.contains(b));
    }
    if state.leader.is_some_and(|l| removed.contains(&l)) {
        state.last_known_leader = state.leader;
        state.leader = None;
        state.leader_epoch += 1;
    }
    normalize(state, min_insync_replicas);
    let changed = *state != before;
    if changed {
        state.partition_epoch += 1;
    }
    changed
}

/// A new incarnation of `broker` registered: whatever it led, it leads no more in that
/// epoch (the process that led it is gone, and with it its high watermark), so the
/// partition is leaderless at a new epoch and elected afresh. Returns whether it led.
pub(crate) fn resign(state: &mut PartitionState, broker: BrokerId) -> bool {
    if state.leader != Some(broker) {
        return false;
    }
    state.last_known_leader = state.leader;
    state.leader = None;
    state.leader_epoch += 1;
    state.partition_epoch += 1;
    true
}

/// Replaces the ISR with `new_isr` (a leader's AlterPartition), applying the ELR rule to
/// the members it drops.
pub(crate) fn alter_isr(
    state: &mut PartitionState,
    new_isr: &[BrokerId],
    min_insync: usize,
    bugs: &Bugs,
) {
    let removed: Vec<BrokerId> = state
        .isr
        .iter()
        .copied()
        .filter(|b| !new_isr.contains(b))
        .collect();
    if new_isr.len() < min_insync && !bugs.on(Bug::LastReplicaStanding) {
        state.elr.extend(removed);
    }
    state.isr = state
        .replicas
        .iter()
        .copied()
        .filter(|b| new_isr.contains(b))
        .collect();
    normalize(state, min_insync);
}

/// KIP-966's bookkeeping: ELR members are never in the ISR, the ELR is empty once the ISR
/// has `min_insync_replicas` members, and both keep replica order without repeats.
fn normalize(state: &mut PartitionState, min_insync_replicas: usize) {
    let isr = state.isr.clone();
    state.elr.retain(|b| !isr.contains(b));
    if state.isr.len() >= min_insync_replicas {
        state.elr.clear();
    }
    let elr = state.elr.clone();
    state.elr = state
        .replicas
        .iter()
        .copied()
        .filter(|b| elr.contains(b))
        .collect();
}

/// Elects a leader for a leaderless partition from the replicas `available` accepts.
/// Returns how, or `None` if it must stay offline. Bumps the leader epoch on success.
/// [`Bug::UncleanElection`] elects any available replica when nobody is eligible, and
/// calls it an ISR election.
pub(crate) fn elect(
    state: &mut PartitionState,
    available: impl Fn(BrokerId) -> bool,
    unclean_enabled: bool,
    min_insync_replicas: usize,
    bugs: &Bugs,
) -> Option<ElectionKind> {
    debug_assert!(state.leader.is_none());
    let pick = |set: &[BrokerId]| {
        state
            .replicas
            .iter()
            .copied()
            .find(|b| set.contains(b) && available(*b))
    };
    let (leader, kind) = if let Some(leader) = pick(&state.isr) {
        (leader, ElectionKind::Isr)
    } else if let Some(leader) = pick(&state.elr) {
        state.isr = vec![leader];
        state.elr.retain(|b| *b != leader);
        (leader, ElectionKind::Elr)
    } else if let Some(leader) = state
        .last_known_leader
        .filter(|l| state.isr.is_empty() && state.elr.is_empty() && available(*l))
    {
        state.isr = vec![leader];
        (leader, ElectionKind::LastKnownLeader)
    } else if let Some(leader) = unclean_enabled.then(|| pick(&state.replicas)).flatten() {
        state.isr = vec![leader];
        state.elr.clear();
        (leader, ElectionKind::Unclean)
    } else if let Some(leader) = (bugs.on(Bug::UncleanElection))
        .then(|| pick(&state.replicas))
        .flatten()
    {
        state.isr = vec![leader];
        state.elr.clear();
        (leader, ElectionKind::Isr)
    } else {
        return None;
    };
    state.leader = Some(leader);
    state.last_known_leader = Some(leader);
    state.leader_epoch += 1;
    normalize(state, min_insync_replicas);
    Some(kind)
}
