//! Order: one producer's acked sends to a partition land in send order when it keeps
//! order (`nonmonotonic-send`); a consumer's polls of a partition continue one another
//! (`poll-skip`, `nonmonotonic-poll`), except across a reset that an out-of-range
//! position or an allowed loss explains.

use std::collections::{BTreeMap, BTreeSet};

use crate::consistency::all_reads;
use crate::history::SendOutcome;
use crate::invariant::Invariant;
use crate::oracle::{Oracle, Polled};
use crate::verdict::Verdict;
use crate::violation::{partition_name, AllowedLoss, Violation};
use crate::PartitionRef;

/// The history checks of this group.
pub(crate) fn judge(oracle: &Oracle, verdict: &mut Verdict) {
    if oracle.config.ordered_sends {
        nonmonotonic_send(oracle, verdict);
    }
    for ((consumer, partition), polls) in &oracle.polls {
        poll_stream(oracle, *consumer, partition, polls, verdict);
    }
}

/// acks=1 and acks=0 records are exempt from loss: one the reads never returned at its
/// acked offset no longer sits there, so it does not order the sends around it.
fn nonmonotonic_send(oracle: &Oracle, verdict: &mut Verdict) {
    let read: BTreeSet<(PartitionRef, i64, u64)> = (all_reads(oracle).into_iter())
        .map(|(partition, offset, value, _, _)| (partition, offset, value))
        .collect();
    // (producer, partition) -> acked sends: (invoke time, value, offset, completion time).
    type Acked = Vec<(u64, u64, i64, u64)>;
    let mut acked: BTreeMap<(i32, &PartitionRef), Acked> = BTreeMap::new();
    for (value, (outcome, done_us)) in &oracle.completions {
        let (SendOutcome::Ok { offset }, Some(send)) = (outcome, oracle.sends.get(value)) else {
            continue;
        };
        let lost = !read.contains(&(send.partition.clone(), *offset, *value));
        if *offset < 0 || (send.acks != -1 && lost) {
            continue;
        }
        let key = (send.producer, &send.partition);
        acked
            .entry(key)
            .or_default()
            .push((send.invoke_us, *value, *offset, *done_us));
    }
    for ((producer, partition), mut sends) in acked {
        sends.sort_unstable();
        for pair in sends.windows(2) {
            let ((_, earlier, earlier_offset, _), (_, value, offset, done_us)) = (pair[0], pair[1]);
            if offset > earlier_offset {
                continue;
            }
            let violation = Violation::new(
                Invariant::NonmonotonicSend,
                done_us,
                "a producer's acked sends landed out of send order",
            )
            .with("partition", partition_name(partition))
            .with("producer", format!("n{producer}"))
            .with("value", value)
            .with("offset", offset)
            .with("earlier_value", earlier)
            .with("earlier_offset", earlier_offset);
            verdict.push(partition, offset, violation);
        }
    }
}

/// Whether a reset from `from` at `time_us` is explained: a replica of the partition was
/// cut below `from` by then (the position went out of range), or an allowed loss below
/// `from` reused the offsets.
fn reset_explained(
    oracle: &Oracle,
    losses: &[AllowedLoss],
    partition: &PartitionRef,
    from: i64,
    time_us: u64,
) -> bool {
    let cut = (oracle.partitions.get(partition))
        .is_some_and(|m| m.cuts.iter().any(|&(t, end)| t <= time_us && end < from));
    let lost = (losses.iter()).any(|loss| loss.partition == *partition && loss.offset < from);
    cut || lost
}

fn poll_stream(
    oracle: &Oracle,
    consumer: i32,
    partition: &PartitionRef,
    polls: &[Polled],
    verdict: &mut Verdict,
) {
    let mut expected: Option<i64> = None;
    let stream = |invariant, sentence: &str, time_us, expected: i64, got: i64| {
        Violation::new(invariant, time_us, sentence)
            .with("partition", partition_name(partition))
            .with("consumer", format!("n{consumer}"))
            .with("expected", expected)
            .with("got", got)
    };
    for polled in polls {
        match *polled {
            Polled::Record {
                offset, time_us, ..
            } => {
                match expected {
                    Some(e) if offset > e => verdict.push(
                        partition,
                        e,
                        stream(
                            Invariant::PollSkip,
                            "a poll skipped offsets",
                            time_us,
                            e,
                            offset,
                        ),
                    ),
                    Some(e) if offset < e => verdict.push(
                        partition,
                        offset,
                        stream(
                            Invariant::NonmonotonicPoll,
                            "a poll went back",
                            time_us,
                            e,
                            offset,
                        ),
                    ),
                    _ => {}
                }
                expected = Some(offset + 1);
            }
            Polled::Reset { from, to, time_us } => {
                if !reset_explained(oracle, &verdict.allowed_losses, partition, from, time_us) {
                    let (invariant, sentence) = if to > from {
                        (Invariant::PollSkip, "an unexplained reset skipped offsets")
                    } else {
                        (
                            Invariant::NonmonotonicPoll,
                            "an unexplained reset went back",
                        )
                    };
                    verdict.push(
                        partition,
                        from.min(to),
                        stream(invariant, sentence, time_us, from, to),
                    );
                }
                expected = Some(to);
            }
        }
    }
}
