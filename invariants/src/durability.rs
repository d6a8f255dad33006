//! Durability: an acked acks=all record stays at its offset and the final read returns it
//! (`lost-write`), unless the history proves the loss allowed by DESIGN's causal chain;
//! and an acked record the log kept is polled by a consumer that passed it (`unseen`).
//!
//! The chain, each link cited in the allowed loss: (a) the first election after the ack
//! whose leader lacked the record was the last-known-leader fallback or an enabled unclean
//! election; (b) for the fallback, that leader lost the record on its own disk (a
//! recovery that ended below the record, or cut it, after a reported disk fault), not by a
//! truncation; (c) the ISR and ELR the oracle re-derived before the election were empty
//! (fallback), or held no replica that had the record (unclean). A copy removed by a
//! truncation never counts as lost by the disk.

use std::collections::{BTreeMap, BTreeSet};

use crate::invariant::Invariant;
use crate::model::Election;
use crate::observation::ElectionKind;
use crate::oracle::{Oracle, Polled, Tracked};
use crate::verdict::Verdict;
use crate::violation::{partition_name, AllowedLoss, Violation};
use crate::PartitionRef;

/// What the reads say about a tracked record.
enum Found {
    /// Read at its offset.
    Read,
    /// Its offset held another value, or nothing (the read ended below it).
    Missing(String),
}

/// The reads, indexed once so each tracked record is looked up in logarithmic time.
struct Reads {
    /// Per partition, the value the final read returned at each offset, or (with no final
    /// read) the value the consumers' polls returned last.
    at: BTreeMap<PartitionRef, BTreeMap<i64, u64>>,
    /// Per partition, the records the final read returned.
    kept: BTreeMap<PartitionRef, BTreeSet<(i64, u64)>>,
    /// Per consumer and partition, what its polls show.
    consumers: BTreeMap<(i32, PartitionRef), ConsumerReads>,
}

/// One consumer's polls of one partition.
struct ConsumerReads {
    /// The furthest its polls and resets passed: the highest offset read or reset to.
    furthest: i64,
    /// The records it polled.
    polled: BTreeSet<(i64, u64)>,
}

impl Reads {
    fn new(oracle: &Oracle) -> Reads {
        let mut at: BTreeMap<PartitionRef, BTreeMap<i64, u64>> = BTreeMap::new();
        let mut kept: BTreeMap<PartitionRef, BTreeSet<(i64, u64)>> = BTreeMap::new();
        for (partition, read) in &oracle.final_reads {
            let values = at.entry(partition.clone()).or_default();
            let records = kept.entry(partition.clone()).or_default();
            for r in &read.records {
                values.insert(r.offset, r.value);
                records.insert((r.offset, r.value));
            }
        }
        let mut consumers: BTreeMap<(i32, PartitionRef), ConsumerReads> = BTreeMap::new();
        for ((consumer, partition), polls) in &oracle.polls {
            let unread = !oracle.final_reads.contains_key(partition);
            let reads =
                (consumers.entry((*consumer, partition.clone()))).or_insert(ConsumerReads {
                    furthest: i64::MIN,
                    polled: BTreeSet::new(),
                });
            for polled in polls {
                match *polled {
                    Polled::Record { offset, value, .. } => {
                        reads.furthest = reads.furthest.max(offset);
                        reads.polled.insert((offset, value));
                        if unread {
                            at.entry(partition.clone())
                                .or_default()
                                .insert(offset, value);
                        }
                    }
                    Polled::Reset { to, .. } => reads.furthest = reads.furthest.max(to),
                }
            }
        }
        Reads {
            at,
            kept,
            consumers,
        }
    }

    /// Looks `tracked` up in the final read of its partition, or in the consumers' polls
    /// when there is none.
    fn find(&self, tracked: &Tracked) -> Found {
        let found = (self.at.get(&tracked.partition)).and_then(|m| m.get(&tracked.offset));
        match found {
            Some(&value) if value == tracked.value => Found::Read,
            Some(value) => Found::Missing(format!("value_{value}")),
            None => Found::Missing("nothing".into()),
        }
    }
}

/// The chain for a lost record, or why it does not hold.
fn chain(oracle: &Oracle, tracked: &Tracked) -> Result<Vec<String>, String> {
    let Some((election, how)) = &tracked.lossy_election else {
        return Err("no election installed a leader without it".into());
    };
    let Election {
        leader,
        leader_epoch,
        kind,
        isr_before,
        elr_before,
        out_of_service,
        time_us,
    } = election;
    let a = format!(
        "n{leader} elected at epoch {leader_epoch} by {kind:?} at {} ms without the record",
        time_us / 1000
    );
    let holders: Vec<i32> = tracked.losses.keys().copied().collect();
    match kind {
        ElectionKind::Isr | ElectionKind::Elr => Err(format!("{a}, from the {kind:?}")),
        ElectionKind::Unclean if !oracle.config.unclean_leader_election_enable => {
            Err(format!("{a}, though unclean election is disabled"))
        }
        ElectionKind::Unclean => {
            // Unclean election gives up what out-of-service members hold; an eligible
            // member in service holding the record should have been elected instead.
            let eligible: Vec<i32> = (holders.iter().copied())
                .filter(|h| isr_before.contains(h) || elr_before.contains(h))
                .filter(|h| !out_of_service.contains(h))
                .collect();
            if !eligible.is_empty() {
                return Err(format!("{a}, while holders {eligible:?} were eligible"));
            }
            let b = format!(
                "unclean election with holders {holders:?} outside ISR and ELR or out of \
                 service {out_of_service:?}"
            );
            let c = format!("ISR {isr_before:?} and ELR {elr_before:?} held no copy in service");
            Ok(vec![a, b, c])
        }
        ElectionKind::LastKnownLeader => {
            let b = match how {
                Some(how)
                    if how.starts_with("lost by its disk")
                        || how.starts_with("cut by log recovery") =>
                {
                    if how.contains("with no disk fault reported") {
                        return Err(format!("{a}, which {how}"));
                    }
                    how.clone()
                }
                Some(how) => return Err(format!("{a}, which lost it not by its disk: {how}")),
                None => return Err(format!("{a}, which never held it")),
            };
            if !isr_before.is_empty() || !elr_before.is_empty() {
                return Err(format!(
                    "{a}, while ISR {isr_before:?} or ELR {elr_before:?} were not empty"
                ));
            }
            let c = format!(
                "ISR and ELR empty by KIP-966's rule; holders {holders:?} left them legitimately"
            );
            Ok(vec![a, b, c])
        }
    }
}

/// The history checks of this group; allowed losses are filed first, so the anomalies
/// that follow them are reported as their consequences.
pub(crate) fn judge(oracle: &Oracle, verdict: &mut Verdict) {
    let reads = Reads::new(oracle);
    for tracked in &oracle.tracked {
        let Found::Missing(found) = reads.find(tracked) else {
            continue;
        };
        match chain(oracle, tracked) {
            Ok(chain) => verdict.allowed_losses.push(AllowedLoss {
                partition: tracked.partition.clone(),
                offset: tracked.offset,
                value: tracked.value,
                chain,
            }),
            Err(why) => {
                let losses: Vec<String> = tracked.losses.values().cloned().collect();
                verdict.violations.push(
                    Violation::new(
                        Invariant::LostWrite,
                        oracle.end_us(),
                        "acked record missing from its offset in the final read",
                    )
                    .with("partition", partition_name(&tracked.partition))
                    .with("offset", tracked.offset)
                    .with("value", tracked.value)
                    .with("found", found)
                    .with("acks", "all")
                    .with("acked_ms", tracked.acked_us / 1000)
                    .with("why", format!("\"{why}\""))
                    .with("copies_lost", format!("\"{}\"", losses.join("; "))),
                );
            }
        }
    }
    unseen(oracle, &reads, verdict);
}

/// `unseen`: a record the final read holds at its acked offset that a consumer never
/// polled, though its position passed the offset.
fn unseen(oracle: &Oracle, reads: &Reads, verdict: &mut Verdict) {
    for tracked in &oracle.tracked {
        let record = (tracked.offset, tracked.value);
        let kept = (reads.kept.get(&tracked.partition)).is_some_and(|k| k.contains(&record));
        if !kept {
            continue;
        }
        for ((consumer, partition), polls) in &reads.consumers {
            if *partition != tracked.partition {
                continue;
            }
            let passed = polls.furthest > tracked.offset;
            let seen = polls.polled.contains(&record);
            if passed && !seen {
                let violation = Violation::new(
                    Invariant::Unseen,
                    oracle.end_us(),
                    "a consumer passed an acked record without polling it",
                )
                .with("partition", partition_name(partition))
                .with("consumer", format!("n{consumer}"))
                .with("offset", tracked.offset)
                .with("value", tracked.value);
                verdict.push(partition, tracked.offset, violation);
            }
        }
    }
}
