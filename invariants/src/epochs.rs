//! Epochs and elections, judged as observations arrive: one leader per partition per
//! epoch (`two-leaders`), epochs never go back (`epoch-regression`), a leader's high
//! watermark never goes back within its epoch (`hw-regression`, in the oracle's high
//! watermark handler), and every elected leader was eligible (`unclean-leader`).

use crate::invariant::Invariant;
use crate::model::{Committed, Election};
use crate::observation::ElectionKind;
use crate::oracle::Oracle;
use crate::violation::{partition_name, Violation};
use crate::PartitionRef;

/// `two-leaders`: `node` starts leading `epoch`; nobody else led it.
pub(crate) fn check_one_leader(
    oracle: &mut Oracle,
    node: i32,
    time_us: u64,
    partition: &PartitionRef,
    epoch: i32,
) -> Result<(), Violation> {
    let model = oracle.partitions.entry(partition.clone()).or_default();
    let first = *model.leaders.entry(epoch).or_insert(node);
    if first == node {
        return Ok(());
    }
    Err(
        Violation::new(Invariant::TwoLeaders, time_us, "two brokers led one epoch")
            .with("partition", partition_name(partition))
            .with("epoch", epoch)
            .with("first", format!("n{first}"))
            .with("second", format!("n{node}")),
    )
}

/// `unclean-leader`: the leader came from the ISR or ELR the oracle derived before the
/// election, or is the last-known-leader fallback with both empty, or the election is
/// unclean with unclean election enabled.
pub(crate) fn check_election(
    oracle: &Oracle,
    partition: &PartitionRef,
    election: &Election,
) -> Result<(), Violation> {
    let Election {
        leader,
        kind,
        isr_before,
        elr_before,
        ..
    } = election;
    // The controller creates a topic and elects its first leaders in one step, before it
    // publishes the partition: that election draws from the full ISR of creation.
    let creation = oracle
        .partitions
        .get(partition)
        .is_none_or(|m| m.committed.is_none());
    let eligible = match kind {
        ElectionKind::Isr if creation => true,
        ElectionKind::Isr => isr_before.contains(leader),
        ElectionKind::Elr => elr_before.contains(leader),
        ElectionKind::LastKnownLeader => isr_before.is_empty() && elr_before.is_empty(),
        ElectionKind::Unclean => oracle.config.unclean_leader_election_enable,
    };
    if eligible {
        return Ok(());
    }
    Err(Violation::new(
        Invariant::UncleanLeader,
        election.time_us,
        "a leader was elected outside the committed ISR and ELR",
    )
    .with("partition", partition_name(partition))
    .with("leader", format!("n{leader}"))
    .with("epoch", election.leader_epoch)
    .with("kind", format!("{kind:?}"))
    .with("isr", format!("{isr_before:?}"))
    .with("elr", format!("{elr_before:?}")))
}

/// `epoch-regression`: the controller's leader and partition epochs never go back.
pub(crate) fn check_committed_epochs(
    partition: &PartitionRef,
    time_us: u64,
    before: Option<&Committed>,
    after: &Committed,
) -> Result<(), Violation> {
    let Some(before) = before else {
        return Ok(());
    };
    if after.leader_epoch >= before.leader_epoch && after.partition_epoch >= before.partition_epoch
    {
        return Ok(());
    }
    Err(Violation::new(
        Invariant::EpochRegression,
        time_us,
        "the controller's epochs went back",
    )
    .with("partition", partition_name(partition))
    .with("leader_epoch", after.leader_epoch)
    .with("leader_epoch_before", before.leader_epoch)
    .with("partition_epoch", after.partition_epoch)
    .with("partition_epoch_before", before.partition_epoch))
}
