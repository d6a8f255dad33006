//! Reads: no read at or above the high watermark (`read-above-hw`, as polls arrive), no
//! read of a record the log later lost (`read-of-truncated`), no read of a definitely
//! failed send (`G1a`).

use crate::consistency::all_reads;
use crate::history::{ReadRecord, SendOutcome};
use crate::invariant::Invariant;
use crate::oracle::{Oracle, Polled};
use crate::verdict::Verdict;
use crate::violation::{partition_name, Violation};
use crate::PartitionRef;

/// `read-above-hw`: every polled offset is below the highest high watermark any leader
/// of the partition reported by then.
pub(crate) fn check_read_above_hw(
    oracle: &Oracle,
    consumer: i32,
    time_us: u64,
    partition: &PartitionRef,
    records: &[ReadRecord],
) -> Result<(), Violation> {
    let hw = (oracle.partitions.get(partition)).map_or(0, |m| m.leader_hw_max);
    match records.iter().find(|r| r.offset >= hw) {
        None => Ok(()),
        Some(record) => Err(Violation::new(
            Invariant::ReadAboveHw,
            time_us,
            "a consumer read above every leader's high watermark",
        )
        .with("partition", partition_name(partition))
        .with("consumer", format!("n{consumer}"))
        .with("offset", record.offset)
        .with("value", record.value)
        .with("high_watermark", hw)),
    }
}

/// The history checks of this group.
pub(crate) fn judge(oracle: &Oracle, verdict: &mut Verdict) {
    for (partition, offset, value, by, time_us) in all_reads(oracle) {
        if let Some((SendOutcome::Failed { error }, _)) = oracle.completions.get(&value) {
            let violation =
                Violation::new(Invariant::G1a, time_us, "a definitely failed send was read")
                    .with("partition", partition_name(&partition))
                    .with("offset", offset)
                    .with("value", value)
                    .with("error", error)
                    .with("read", by.replace(' ', "_"));
            verdict.push(&partition, offset, violation);
        }
    }
    for (partition, read) in &oracle.final_reads {
        if let Some(record) = read
            .records
            .iter()
            .find(|r| r.offset >= read.high_watermark)
        {
            verdict.violations.push(
                Violation::new(
                    Invariant::ReadAboveHw,
                    read.time_us,
                    "the final read returned a record above its high watermark",
                )
                .with("partition", partition_name(partition))
                .with("offset", record.offset)
                .with("high_watermark", read.high_watermark),
            );
        }
        for ((consumer, polled_partition), polls) in &oracle.polls {
            if polled_partition != partition {
                continue;
            }
            let beyond = polls.iter().find_map(|p| match *p {
                Polled::Record {
                    offset,
                    value,
                    time_us,
                } if offset >= read.high_watermark => Some((offset, value, time_us)),
                _ => None,
            });
            if let Some((offset, value, time_us)) = beyond {
                let violation = Violation::new(
                    Invariant::ReadOfTruncated,
                    time_us,
                    "a consumer read a record the final read no longer reaches",
                )
                .with("partition", partition_name(partition))
                .with("consumer", format!("n{consumer}"))
                .with("offset", offset)
                .with("value", value)
                .with("final_high_watermark", read.high_watermark);
                verdict.push(partition, offset, violation);
            }
        }
    }
}
