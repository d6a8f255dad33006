//! Consistency: one offset never holds two records (`inconsistent-offsets`), one record
//! never sits at two offsets (`duplicate`, with idempotence on), replicas agree below both
//! their high watermarks (`log-divergence`, as observations arrive), every committed-ISR
//! member holds what its leader committed (`strong-isr`, as observations arrive), and
//! replicas are byte-identical at quiescence (`replicas-differ`).

use std::collections::{BTreeMap, BTreeSet};

use crate::invariant::Invariant;
use crate::model::PartitionModel;
use crate::oracle::{Oracle, Polled};
use crate::verdict::{Quiescence, Verdict};
use crate::violation::{partition_name, Violation};
use crate::PartitionRef;

/// Log matching for `node`'s offsets `from..to` (below its high watermark) against every
/// other replica below its own high watermark. `None` when nothing was compared; the error
/// names the first offset where two replicas hold batches of different epochs.
pub(crate) fn log_divergence(
    model: &PartitionModel,
    partition: &PartitionRef,
    node: i32,
    from: i64,
    to: i64,
    time_us: u64,
) -> Option<Result<(), (i64, Violation)>> {
    let mine = model.replicas.get(&node)?;
    let to = to.min(mine.log_end_offset());
    if from >= to {
        return None;
    }
    for (&other, theirs) in &model.replicas {
        if other == node {
            continue;
        }
        let end = to.min(theirs.high_watermark).min(theirs.log_end_offset());
        for offset in from.max(0)..end {
            let (a, b) = (mine.epoch_at(offset), theirs.epoch_at(offset));
            let unknown = [a, b].contains(&Some(crate::model::UNKNOWN_EPOCH));
            if a != b && !unknown {
                let violation = Violation::new(
                    Invariant::LogDivergence,
                    time_us,
                    "replicas hold different batches below both high watermarks",
                )
                .with("partition", partition_name(partition))
                .with("offset", offset)
                .with("replica", format!("n{node}"))
                .with("epoch", a.unwrap_or(-1))
                .with("other", format!("n{other}"))
                .with("other_epoch", b.unwrap_or(-1))
                .with(
                    "high_watermarks",
                    format!("{},{}", mine.high_watermark, theirs.high_watermark),
                );
                return Some(Err((offset, violation)));
            }
        }
    }
    Some(Ok(()))
}

/// `strong-isr`: leader `node` of `epoch` moved its high watermark to `high_watermark`;
/// every other member of the ISR the controller committed for that epoch holds offsets
/// below it, unless the member lost data on its disk since it joined (its loss window).
pub(crate) fn check_strong_isr(
    oracle: &mut Oracle,
    node: i32,
    time_us: u64,
    partition: &PartitionRef,
    high_watermark: i64,
    epoch: i32,
) -> Result<(), Violation> {
    let model = &oracle.partitions[partition];
    let Some(committed) =
        (model.committed.as_ref()).filter(|c| c.leader == Some(node) && c.leader_epoch == epoch)
    else {
        return Ok(());
    };
    for &member in &committed.isr {
        let Some(replica) = model.replicas.get(&member).filter(|_| member != node) else {
            continue;
        };
        if replica.lossy_since_joined || replica.log_end_offset() >= high_watermark {
            continue;
        }
        let violation = Violation::new(
            Invariant::StrongIsr,
            time_us,
            "a leader's high watermark passed a committed ISR member's log end",
        )
        .with("partition", partition_name(partition))
        .with("leader", format!("n{node}"))
        .with("epoch", epoch)
        .with("high_watermark", high_watermark)
        .with("member", format!("n{member}"))
        .with("member_log_end", replica.log_end_offset())
        .with("isr", format!("{:?}", committed.isr));
        if model.possible_loss {
            let offset = replica.log_end_offset();
            oracle.deferred.push((partition.clone(), offset, violation));
            return Ok(());
        }
        return Err(violation);
    }
    Ok(())
}

/// Every record any read returned, as (partition, offset, value, where, time).
pub(crate) fn all_reads(oracle: &Oracle) -> Vec<(PartitionRef, i64, u64, String, u64)> {
    let mut reads = Vec::new();
    for ((consumer, partition), polls) in &oracle.polls {
        for polled in polls {
            if let Polled::Record {
                offset,
                value,
                time_us,
            } = *polled
            {
                let by = format!("poll by n{consumer}");
                reads.push((partition.clone(), offset, value, by, time_us));
            }
        }
    }
    for (partition, read) in &oracle.final_reads {
        for record in &read.records {
            let by = "final read".to_string();
            reads.push((
                partition.clone(),
                record.offset,
                record.value,
                by,
                read.time_us,
            ));
        }
    }
    reads
}

/// The history and quiescence checks of this group.
pub(crate) fn judge(oracle: &Oracle, quiescence: &Quiescence, verdict: &mut Verdict) {
    let reads = all_reads(oracle);
    let mut at: BTreeMap<(&PartitionRef, i64), (u64, &str)> = BTreeMap::new();
    let mut reported: BTreeSet<(&PartitionRef, i64)> = BTreeSet::new();
    for (partition, offset, value, by, time_us) in &reads {
        let (first, first_by) = *at.entry((partition, *offset)).or_insert((*value, by));
        if first != *value && reported.insert((partition, *offset)) {
            let violation = Violation::new(
                Invariant::InconsistentOffsets,
                *time_us,
                "reads returned two values at one offset",
            )
            .with("partition", partition_name(partition))
            .with("offset", offset)
            .with("values", format!("{first},{value}"))
            .with("reads", format!("{first_by};{by}"));
            verdict.push(partition, *offset, violation);
        }
    }
    if oracle.config.idempotent {
        let mut places: BTreeMap<u64, BTreeSet<(&PartitionRef, i64)>> = BTreeMap::new();
        let mut last_us: BTreeMap<u64, u64> = BTreeMap::new();
        for (partition, offset, value, _, time_us) in &reads {
            places
                .entry(*value)
                .or_default()
                .insert((partition, *offset));
            last_us.insert(*value, *time_us);
        }
        for (value, places) in places.iter().filter(|(_, p)| p.len() > 1) {
            let (partition, offset) = *places.iter().next_back().expect("two places");
            let listed: Vec<String> = (places.iter())
                .map(|(p, o)| format!("{}@{o}", partition_name(p)))
                .collect();
            let violation = Violation::new(
                Invariant::Duplicate,
                last_us[value],
                "one value was read at two offsets",
            )
            .with("value", value)
            .with("at", listed.join(","));
            verdict.push(partition, offset, violation);
        }
    }
    replicas_differ(oracle, quiescence, verdict);
}

/// `replicas-differ`: every replica of a partition holds its leader's bytes at quiescence.
/// A replica that could not be read is never counted as equal; one on a damaged disk is
/// excused, with why.
fn replicas_differ(oracle: &Oracle, quiescence: &Quiescence, verdict: &mut Verdict) {
    let end_us = oracle.end_us();
    for (partition, model) in &oracle.partitions {
        let Some(leader) = model.committed.as_ref().and_then(|c| c.leader) else {
            continue;
        };
        let replicas: Vec<_> = (quiescence.replicas.iter())
            .filter(|r| r.partition == *partition)
            .collect();
        let Some(lead) = replicas.iter().find(|r| r.broker == leader) else {
            continue;
        };
        for replica in &replicas {
            if replica.broker == leader {
                continue;
            }
            let differs = match (&lead.contents, &replica.contents) {
                (Ok(a), Ok(b)) if a.digest == b.digest => continue,
                (Ok(_), Ok(_)) => "its bytes differ from the leader's".to_string(),
                (Err(why), _) => format!("the leader could not be read: {why}"),
                (_, Err(why)) => format!("it could not be read: {why}"),
            };
            let excuse =
                (oracle.damaged.get(&replica.broker)).or_else(|| oracle.damaged.get(&leader));
            if let Some(damage) = excuse {
                verdict.excused.push(format!(
                    "replicas-differ on {} n{}: {differs}; the fault budget's damaged disk: {damage}",
                    partition_name(partition),
                    replica.broker
                ));
                continue;
            }
            verdict.violations.push(
                Violation::new(
                    Invariant::ReplicasDiffer,
                    end_us,
                    "a replica is not byte-identical to its leader at quiescence",
                )
                .with("partition", partition_name(partition))
                .with("leader", format!("n{leader}"))
                .with("replica", format!("n{}", replica.broker))
                .with("why", differs.replace(' ', "_")),
            );
        }
    }
}
