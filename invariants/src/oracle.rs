//! The oracle: fed a run's log entries as they are written ([`Oracle::observe`], the step
//! invariants, so a run stops at its first bad moment), then judged at the end
//! ([`Oracle::finish`], the history invariants, after the heal-and-settle phase and the
//! final read).

use std::collections::{BTreeMap, BTreeSet};

use serde::{Deserialize, Serialize};

use crate::entry::{Entry, Event};
use crate::history::{HistoryEvent, Operation, ReadRecord, SendOutcome};
use crate::invariant::Invariant;
use crate::model::{Committed, Election, PartitionModel};
use crate::observation::{ElectionKind, Observation, TruncationCause};
use crate::verdict::{Counts, Quiescence, Verdict};
use crate::violation::{partition_name, Violation};
use crate::{consistency, durability, epochs, liveness, order, reads, PartitionRef};

/// The settings the invariants depend on: the cluster's, and the producers' guarantees.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
pub struct OracleConfig {
    /// Kafka's `min.insync.replicas`, which decides who stays in the ELR.
    pub min_insync_replicas: usize,
    /// Kafka's `unclean.leader.election.enable`.
    pub unclean_leader_election_enable: bool,
    /// The producers are idempotent: no value may be read at two offsets.
    pub idempotent: bool,
    /// The producers keep send order (idempotence on, or one request in flight).
    pub ordered_sends: bool,
}

/// A send the history invoked.
#[derive(Debug, Clone)]
pub(crate) struct Send {
    pub(crate) partition: PartitionRef,
    pub(crate) acks: i16,
    pub(crate) producer: i32,
    pub(crate) invoke_us: u64,
}

/// One item of a consumer's poll stream of one partition.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum Polled {
    Record {
        offset: i64,
        value: u64,
        time_us: u64,
    },
    Reset {
        from: i64,
        to: i64,
        time_us: u64,
    },
}

/// A final read of a partition.
#[derive(Debug, Clone)]
pub(crate) struct FinalRead {
    pub(crate) records: Vec<ReadRecord>,
    pub(crate) high_watermark: i64,
    pub(crate) time_us: u64,
}

/// An acked acks=all record, followed through every election after its ack.
#[derive(Debug, Clone)]
pub(crate) struct Tracked {
    pub(crate) partition: PartitionRef,
    pub(crate) offset: i64,
    pub(crate) value: u64,
    /// The leader epoch of its batch, as the replicas that committed it held it.
    pub(crate) epoch: Option<i32>,
    pub(crate) acked_us: u64,
    /// How each replica that held it lost it, in order.
    pub(crate) losses: BTreeMap<i32, String>,
    /// The first election after the ack that installed a leader without it, with how that
    /// leader had lost it (`None`: it never held it).
    pub(crate) lossy_election: Option<(Election, Option<String>)>,
}

/// The oracle. See the module docs.
#[derive(Debug, Clone)]
pub struct Oracle {
    pub(crate) config: OracleConfig,
    pub(crate) partitions: BTreeMap<PartitionRef, PartitionModel>,
    /// Each running replica's leader epoch, by (node, partition); cleared at restart.
    pub(crate) running_epochs: BTreeMap<(i32, PartitionRef), i32>,
    pub(crate) sends: BTreeMap<u64, Send>,
    pub(crate) completions: BTreeMap<u64, (SendOutcome, u64)>,
    pub(crate) polls: BTreeMap<(i32, PartitionRef), Vec<Polled>>,
    pub(crate) final_reads: BTreeMap<PartitionRef, FinalRead>,
    pub(crate) tracked: Vec<Tracked>,
    /// Step findings in partitions with a possible-loss election, judged at the end.
    pub(crate) deferred: Vec<(PartitionRef, i64, Violation)>,
    /// Nodes whose disks took silent damage (bit flips, read errors): their replicas are
    /// the run's fault budget, excused from `replicas-differ`.
    pub(crate) damaged: BTreeMap<i32, String>,
    /// Brokers out of service (fenced, or in a controlled shutdown) until they register
    /// again: an enabled unclean election may pass over them.
    pub(crate) out_of_service: BTreeSet<i32>,
    pub(crate) counts: Counts,
    /// The latest virtual time seen.
    pub(crate) last_us: u64,
}

impl Oracle {
    /// An oracle that has seen nothing.
    pub fn new(config: OracleConfig) -> Self {
        Self {
            config,
            partitions: BTreeMap::new(),
            running_epochs: BTreeMap::new(),
            sends: BTreeMap::new(),
            completions: BTreeMap::new(),
            polls: BTreeMap::new(),
            final_reads: BTreeMap::new(),
            tracked: Vec::new(),
            deferred: Vec::new(),
            damaged: BTreeMap::new(),
            out_of_service: BTreeSet::new(),
            counts: Counts::default(),
            last_us: 0,
        }
    }

    /// The latest virtual time the oracle saw: when end-of-run findings are dated.
    pub(crate) fn end_us(&self) -> u64 {
        self.last_us
    }

    /// What the run did so far: the counts tests put floors on.
    pub fn counts(&self) -> &Counts {
        &self.counts
    }

    /// Takes the next log entry and checks the step invariants (epochs, elections, high
    /// watermarks, log matching, reads above the high watermark) at once.
    pub fn observe(&mut self, entry: &Entry) -> Result<(), Violation> {
        let node = entry.node;
        let time_us = entry.time_us;
        self.last_us = self.last_us.max(time_us);
        match &entry.event {
            Event::Node(obs) => self.on_observation(node, time_us, obs),
            Event::DiskFault {
                file,
                start,
                end,
                kind,
            } => {
                let what = format!("{kind:?} of {file} bytes {start}..{end} on n{node}");
                if kind.loses_data() {
                    self.counts.disk_bytes_lost += end.saturating_sub(*start);
                    if let Some((dir, _)) = file.split_once('/') {
                        let found =
                            (self.partitions.iter_mut()).find(|(p, _)| partition_name(p) == dir);
                        if let Some((_, model)) = found {
                            model.replica(node).disk_faults.push(what.clone());
                        }
                    }
                }
                if matches!(
                    kind,
                    crate::DiskFaultKind::BitFlip | crate::DiskFaultKind::ReadError
                ) {
                    self.damaged.entry(node).or_insert(what);
                }
                Ok(())
            }
            Event::Crashed { power_loss, .. } => {
                self.counts.crashes += 1;
                self.counts.power_losses += u64::from(*power_loss);
                Ok(())
            }
            Event::Stopped => {
                self.counts.stops += 1;
                Ok(())
            }
            Event::Restarted => {
                self.running_epochs.retain(|(n, _), _| *n != node);
                Ok(())
            }
        }
    }

    fn on_observation(
        &mut self,
        node: i32,
        time_us: u64,
        obs: &Observation,
    ) -> Result<(), Violation> {
        match obs {
            Observation::History(event) => self.on_history(node, time_us, event),
            Observation::Appended {
                partition,
                first_offset,
                last_offset,
                leader_epoch,
                ..
            } => {
                let model = self.partitions.entry(partition.clone()).or_default();
                let replica = model.replica(node);
                if *first_offset < replica.log_end_offset() {
                    self.lose(
                        partition,
                        node,
                        *first_offset,
                        "overwritten by an append".into(),
                    );
                }
                let model = self.partitions.get_mut(partition).expect("created");
                model
                    .replica(node)
                    .append(*first_offset, *last_offset, *leader_epoch);
                let below_hw = model.replica(node).high_watermark.min(*last_offset + 1);
                self.check_log_matching(partition, node, *first_offset, below_hw, time_us)
            }
            Observation::Truncated {
                partition,
                to_offset,
                cause,
                ..
            } => {
                self.counts.truncations += 1;
                let how = match cause {
                    TruncationCause::LeaderEpoch => format!("truncated by leader epoch on n{node}"),
                    TruncationCause::Corruption => {
                        format!(
                            "cut by log recovery on n{node}{}",
                            self.evidence(partition, node)
                        )
                    }
                };
                self.lose(partition, node, *to_offset, how);
                let model = self.partitions.entry(partition.clone()).or_default();
                model.replica(node).truncate(*to_offset);
                model.cuts.push((time_us, *to_offset));
                Ok(())
            }
            Observation::Recovered {
                partition,
                log_end_offset,
                high_watermark,
                recovery_cut,
                ..
            } => {
                self.counts.recovery_cuts += u64::from(recovery_cut.is_some());
                let model = self.partitions.entry(partition.clone()).or_default();
                let replica = model.replica(node);
                if *log_end_offset < replica.log_end_offset() {
                    let how = format!(
                        "lost by its disk on n{node} (recovered to {log_end_offset}){}",
                        self.evidence(partition, node)
                    );
                    self.lose(partition, node, *log_end_offset, how);
                }
                let model = self.partitions.get_mut(partition).expect("created");
                let replica = model.replica(node);
                let lost = *log_end_offset < replica.log_end_offset() || recovery_cut.is_some();
                replica.recover(*log_end_offset);
                replica.high_watermark = *high_watermark.min(log_end_offset);
                replica.lossy_since_joined |= lost;
                replica.disk_faults.clear();
                model.cuts.push((time_us, *log_end_offset));
                Ok(())
            }
            Observation::HighWatermark {
                partition,
                high_watermark,
                leader_epoch,
                as_leader,
            } => self.on_high_watermark(
                node,
                time_us,
                partition,
                *high_watermark,
                *leader_epoch,
                *as_leader,
            ),
            Observation::BecameLeader {
                partition,
                leader_epoch,
                ..
            } => {
                self.running_epoch(node, time_us, partition, *leader_epoch)?;
                epochs::check_one_leader(self, node, time_us, partition, *leader_epoch)
            }
            Observation::BecameFollower {
                partition,
                leader_epoch,
                ..
            } => self.running_epoch(node, time_us, partition, *leader_epoch),
            Observation::LeaderElected {
                partition,
                leader,
                leader_epoch,
                kind,
            } => self.on_election(time_us, partition, *leader, *leader_epoch, *kind),
            Observation::PartitionChanged {
                partition,
                leader,
                leader_epoch,
                partition_epoch,
                isr,
                elr,
            } => {
                let committed = Committed {
                    leader: *leader,
                    leader_epoch: *leader_epoch,
                    partition_epoch: *partition_epoch,
                    isr: isr.clone(),
                    elr: elr.clone(),
                };
                self.on_partition_changed(time_us, partition, committed)
            }
            Observation::BrokerRegistered { broker, clean, .. } => {
                self.out_of_service.remove(broker);
                if !clean {
                    let min = self.config.min_insync_replicas;
                    for model in self.partitions.values_mut() {
                        model.derive_removal(*broker, false, min);
                    }
                }
                Ok(())
            }
            Observation::BrokerFenced { broker } => {
                self.counts.fenced += 1;
                self.out_of_service.insert(*broker);
                let min = self.config.min_insync_replicas;
                for model in self.partitions.values_mut() {
                    model.derive_removal(*broker, true, min);
                }
                Ok(())
            }
            Observation::ControlledShutdown { broker } => {
                self.out_of_service.insert(*broker);
                let min = self.config.min_insync_replicas;
                for model in self.partitions.values_mut() {
                    model.derive_removal(*broker, true, min);
                }
                Ok(())
            }
            Observation::Halted { .. } => Ok(()),
        }
    }

    /// The disk faults reported on `node` for `partition` since its log was last opened.
    fn evidence(&self, partition: &PartitionRef, node: i32) -> String {
        let faults = (self.partitions.get(partition))
            .and_then(|m| m.replicas.get(&node))
            .map(|r| r.disk_faults.join(", "))
            .unwrap_or_default();
        if faults.is_empty() {
            " with no disk fault reported".into()
        } else {
            format!(" after {faults}")
        }
    }

    /// Replica `node` of `partition` loses everything from `offset` on: every tracked
    /// record it held there is marked with `how`.
    fn lose(&mut self, partition: &PartitionRef, node: i32, offset: i64, how: String) {
        let Some(replica) = self
            .partitions
            .get(partition)
            .and_then(|m| m.replicas.get(&node))
        else {
            return;
        };
        for tracked in &mut self.tracked {
            if tracked.partition == *partition
                && tracked.offset >= offset
                && holds(replica, tracked.offset, tracked.epoch)
            {
                tracked.losses.insert(node, how.clone());
            }
        }
    }

    fn running_epoch(
        &mut self,
        node: i32,
        time_us: u64,
        partition: &PartitionRef,
        epoch: i32,
    ) -> Result<(), Violation> {
        let key = (node, partition.clone());
        let before = self.running_epochs.insert(key, epoch);
        match before {
            Some(before) if before > epoch => Err(Violation::new(
                Invariant::EpochRegression,
                time_us,
                "a running replica's leader epoch went back",
            )
            .with("partition", partition_name(partition))
            .with("node", format!("n{node}"))
            .with("epoch", epoch)
            .with("before", before)),
            _ => Ok(()),
        }
    }

    fn on_high_watermark(
        &mut self,
        node: i32,
        time_us: u64,
        partition: &PartitionRef,
        high_watermark: i64,
        leader_epoch: i32,
        as_leader: bool,
    ) -> Result<(), Violation> {
        let model = self.partitions.entry(partition.clone()).or_default();
        let before = model.replica(node).high_watermark;
        model.replica(node).high_watermark = high_watermark;
        if as_leader {
            model.leader_hw_max = model.leader_hw_max.max(high_watermark);
            let last = model.leader_hw.insert((node, leader_epoch), high_watermark);
            if let Some(last) = last.filter(|&last| last > high_watermark) {
                return Err(Violation::new(
                    Invariant::HwRegression,
                    time_us,
                    "a leader's high watermark went back within its epoch",
                )
                .with("partition", partition_name(partition))
                .with("node", format!("n{node}"))
                .with("epoch", leader_epoch)
                .with("high_watermark", high_watermark)
                .with("before", last));
            }
            consistency::check_strong_isr(
                self,
                node,
                time_us,
                partition,
                high_watermark,
                leader_epoch,
            )?;
        }
        self.check_log_matching(
            partition,
            node,
            before.min(high_watermark),
            high_watermark,
            time_us,
        )
    }

    /// Log matching for `node`'s offsets `from..to`, deferred in a partition with a
    /// possible loss.
    fn check_log_matching(
        &mut self,
        partition: &PartitionRef,
        node: i32,
        from: i64,
        to: i64,
        time_us: u64,
    ) -> Result<(), Violation> {
        let model = &self.partitions[partition];
        let Some(found) = consistency::log_divergence(model, partition, node, from, to, time_us)
        else {
            return Ok(());
        };
        self.counts.log_matching_checks += 1;
        match found {
            Ok(()) => Ok(()),
            Err((offset, violation)) if model.possible_loss => {
                self.deferred.push((partition.clone(), offset, violation));
                Ok(())
            }
            Err((_, violation)) => Err(violation),
        }
    }

    fn on_election(
        &mut self,
        time_us: u64,
        partition: &PartitionRef,
        leader: i32,
        leader_epoch: i32,
        kind: ElectionKind,
    ) -> Result<(), Violation> {
        let model = self.partitions.entry(partition.clone()).or_default();
        let election = Election {
            time_us,
            leader,
            leader_epoch,
            kind,
            isr_before: model.isr.clone(),
            elr_before: model.elr.clone(),
            out_of_service: self.out_of_service.iter().copied().collect(),
        };
        if !model.elections.is_empty() {
            self.counts.failovers += 1;
        }
        *self
            .counts
            .elections_by_kind
            .entry(format!("{kind:?}"))
            .or_default() += 1;
        model.elections.push(election.clone());
        if matches!(kind, ElectionKind::LastKnownLeader | ElectionKind::Unclean) {
            model.possible_loss = true;
        }
        let model = &self.partitions[partition];
        let leader_replica = model.replicas.get(&leader).cloned().unwrap_or_default();
        for tracked in &mut self.tracked {
            if tracked.partition != *partition || tracked.lossy_election.is_some() {
                continue;
            }
            if !holds(&leader_replica, tracked.offset, tracked.epoch) {
                let how = tracked.losses.get(&leader).cloned();
                tracked.lossy_election = Some((election.clone(), how));
            }
        }
        epochs::check_election(self, partition, &election)
    }

    fn on_partition_changed(
        &mut self,
        time_us: u64,
        partition: &PartitionRef,
        committed: Committed,
    ) -> Result<(), Violation> {
        let min = self.config.min_insync_replicas;
        let model = self.partitions.entry(partition.clone()).or_default();
        let before = model.committed.clone();
        if let Some(before) = &before {
            if committed.isr.len() < before.isr.len() {
                self.counts.isr_shrinks += 1;
            }
            if committed.isr.len() > before.isr.len() {
                self.counts.isr_expansions += 1;
            }
        }
        let joined: Vec<i32> = (committed.isr.iter().copied())
            .filter(|b| before.as_ref().is_none_or(|c| !c.isr.contains(b)))
            .collect();
        for broker in joined {
            model.replica(broker).lossy_since_joined = false;
        }
        let unclean = (model.elections.last()).is_some_and(|e| {
            e.kind == ElectionKind::Unclean && e.leader_epoch == committed.leader_epoch
        });
        // The topic's creation and an unclean election set the ISR outright and empty
        // the ELR; every other change follows KIP-966's rule.
        if before.is_none() || unclean {
            model.isr = committed.isr.clone();
            model.elr.clear();
        } else {
            model.derive_isr_change(&committed.isr, min);
        }
        model.committed = Some(committed.clone());
        epochs::check_committed_epochs(partition, time_us, before.as_ref(), &committed)
    }

    fn on_history(
        &mut self,
        node: i32,
        time_us: u64,
        event: &HistoryEvent,
    ) -> Result<(), Violation> {
        match event {
            HistoryEvent::Invoke(Operation::Send {
                value,
                partition,
                acks,
            }) => {
                self.counts.sends += 1;
                let send = Send {
                    partition: partition.clone(),
                    acks: *acks,
                    producer: node,
                    invoke_us: time_us,
                };
                self.sends.insert(*value, send);
                Ok(())
            }
            HistoryEvent::Complete(completion) => {
                match completion.outcome {
                    SendOutcome::Ok { .. } => self.counts.acked += 1,
                    SendOutcome::Failed { .. } => self.counts.failed += 1,
                    SendOutcome::Indeterminate { .. } => self.counts.indeterminate += 1,
                }
                self.completions
                    .insert(completion.value, (completion.outcome.clone(), time_us));
                if let SendOutcome::Ok { offset } = completion.outcome {
                    self.track(completion.value, offset, time_us);
                }
                Ok(())
            }
            HistoryEvent::FinalRead {
                partition,
                records,
                high_watermark,
            } => {
                self.counts.final_read += records.len() as u64;
                let read = FinalRead {
                    records: records.clone(),
                    high_watermark: *high_watermark,
                    time_us,
                };
                self.final_reads.insert(partition.clone(), read);
                Ok(())
            }
            HistoryEvent::Poll { partition, records } => {
                self.counts.polled += records.len() as u64;
                reads::check_read_above_hw(self, node, time_us, partition, records)?;
                let polls = self.polls.entry((node, partition.clone())).or_default();
                polls.extend(records.iter().map(|r| Polled::Record {
                    offset: r.offset,
                    value: r.value,
                    time_us,
                }));
                Ok(())
            }
            HistoryEvent::Reset {
                partition,
                from,
                to,
            } => {
                self.counts.resets += 1;
                let polls = self.polls.entry((node, partition.clone())).or_default();
                polls.push(Polled::Reset {
                    from: *from,
                    to: *to,
                    time_us,
                });
                Ok(())
            }
        }
    }

    /// Starts following an acked acks=all record: its batch's epoch is the one the
    /// replicas that committed it (high watermark past it) hold, else the newest held.
    fn track(&mut self, value: u64, offset: i64, time_us: u64) {
        let Some(send) = self.sends.get(&value) else {
            return;
        };
        if send.acks != -1 || offset < 0 {
            return;
        }
        let model = self.partitions.get(&send.partition);
        let replicas = model
            .map(|m| m.replicas.values().collect::<Vec<_>>())
            .unwrap_or_default();
        let committed = (replicas.iter())
            .filter(|r| r.high_watermark > offset)
            .find_map(|r| r.epoch_at(offset));
        let epoch = committed.or_else(|| replicas.iter().filter_map(|r| r.epoch_at(offset)).max());
        self.tracked.push(Tracked {
            partition: send.partition.clone(),
            offset,
            value,
            epoch,
            acked_us: time_us,
            losses: BTreeMap::new(),
            lossy_election: None,
        });
    }

    /// Judges the history invariants after the heal-and-settle phase and the final read,
    /// against the replicas' state at quiescence.
    pub fn finish(self, quiescence: &Quiescence) -> Verdict {
        let mut verdict = Verdict {
            counts: self.counts.clone(),
            ..Verdict::default()
        };
        durability::judge(&self, &mut verdict);
        consistency::judge(&self, quiescence, &mut verdict);
        order::judge(&self, &mut verdict);
        reads::judge(&self, &mut verdict);
        liveness::judge(&self, quiescence, &mut verdict);
        for (partition, offset, violation) in &self.deferred {
            verdict.push(partition, *offset, violation.clone());
        }
        verdict
    }
}

/// Whether `replica` holds the batch at `offset` of `epoch` (any batch, if unknown).
pub(crate) fn holds(replica: &crate::model::Replica, offset: i64, epoch: Option<i32>) -> bool {
    match (replica.epoch_at(offset), epoch) {
        (Some(crate::model::UNKNOWN_EPOCH), _) => true,
        (Some(held), Some(epoch)) => held == epoch,
        (Some(_), None) => true,
        (None, _) => false,
    }
}
