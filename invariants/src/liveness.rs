//! Liveness, judged after the heal-and-settle phase (the stated bound is that phase's
//! length): every send completed (`send-never-completed`), every partition's committed ISR
//! holds all its replicas again (`isr-not-reformed`), and every replica reached its
//! leader's log end and high watermark (`replicas-not-converged`). A replica on a disk the
//! run damaged (bit flips, read errors: the scenario's fault budget) is excused, with why.

use crate::invariant::Invariant;
use crate::oracle::Oracle;
use crate::verdict::{Quiescence, Verdict};
use crate::violation::{partition_name, Violation};

/// The checks of this group.
pub(crate) fn judge(oracle: &Oracle, quiescence: &Quiescence, verdict: &mut Verdict) {
    let end_us = oracle.end_us();
    for (value, send) in &oracle.sends {
        if !oracle.completions.contains_key(value) {
            verdict.violations.push(
                Violation::new(
                    Invariant::SendNeverCompleted,
                    end_us,
                    "a send never completed",
                )
                .with("partition", partition_name(&send.partition))
                .with("value", value)
                .with("producer", format!("n{}", send.producer))
                .with("invoked_ms", send.invoke_us / 1000),
            );
        }
    }
    for (partition, model) in &oracle.partitions {
        let Some(committed) = &model.committed else {
            continue;
        };
        let replicas: Vec<_> = (quiescence.replicas.iter())
            .filter(|r| r.partition == *partition)
            .collect();
        let mut missing: Vec<i32> = (replicas.iter().map(|r| r.broker))
            .filter(|b| !committed.isr.contains(b))
            .collect();
        // A replica on a disk the run damaged is the fault budget's: excused, with why.
        missing.retain(|b| match oracle.damaged.get(b) {
            Some(damage) => {
                let why = format!(
                    "isr-not-reformed on {} n{b}: the fault budget's damaged disk: {damage}",
                    partition_name(partition)
                );
                verdict.excused.push(why);
                false
            }
            None => true,
        });
        if !missing.is_empty() {
            verdict.violations.push(
                Violation::new(
                    Invariant::IsrNotReformed,
                    end_us,
                    "a partition's ISR lacks replicas after the settle phase",
                )
                .with("partition", partition_name(partition))
                .with("isr", format!("{:?}", committed.isr))
                .with("missing", format!("{missing:?}")),
            );
        }
        let Some(leader) = committed.leader else {
            continue;
        };
        let lead = replicas.iter().find(|r| r.broker == leader);
        let Some(Ok(lead)) = lead.map(|r| &r.contents) else {
            continue;
        };
        for replica in &replicas {
            let Ok(contents) = &replica.contents else {
                continue;
            };
            if (contents.log_end_offset, contents.high_watermark)
                == (lead.log_end_offset, lead.high_watermark)
            {
                continue;
            }
            if let Some(damage) = oracle
                .damaged
                .get(&replica.broker)
                .or(oracle.damaged.get(&leader))
            {
                verdict.excused.push(format!(
                    "replicas-not-converged on {} n{}: the fault budget's damaged disk: {damage}",
                    partition_name(partition),
                    replica.broker
                ));
                continue;
            }
            verdict.violations.push(
                Violation::new(
                    Invariant::ReplicasNotConverged,
                    end_us,
                    "a replica did not reach its leader's log end and high watermark",
                )
                .with("partition", partition_name(partition))
                .with("leader", format!("n{leader}"))
                .with("replica", format!("n{}", replica.broker))
                .with(
                    "log_end",
                    format!("{},{}", contents.log_end_offset, lead.log_end_offset),
                )
                .with(
                    "high_watermark",
                    format!("{},{}", contents.high_watermark, lead.high_watermark),
                ),
            );
        }
    }
}
