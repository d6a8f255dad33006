//! The checker: what the primary-backup log promises, read from the observation log and
//! the final world.
//!
//! 1. Epochs: one primary per epoch (checked as observations arrive).
//! 2. Durability: every acked (value, index) is at that index of the final primary's log.
//! 3. Agreement: at the end the backup's log is a prefix of the primary's.
//! 4. Liveness: after the heal, some write is acked.
//! 5. The client's own record of its acks (what the explorer reads) matches the log.

use std::collections::BTreeMap;

use odradek_sim::{NodeId, Observation, Observed, World};

use super::{Obs, PbNode, Replica, CLIENT_NODE as CLIENT, REPLICAS};

/// Collects what the checks need while the run goes.
#[derive(Debug, Default)]
pub struct Checker {
    /// The node that led each epoch.
    primaries: BTreeMap<u32, NodeId>,
    /// Every ack: (value, index, virtual time).
    acks: Vec<(u64, u64, u64)>,
    catch_ups: u64,
}

impl Checker {
    /// Takes one log entry; fails at the first epoch with two primaries.
    pub fn observe(&mut self, entry: &Observation<Obs>) -> Result<(), String> {
        let Observed::Node(obs) = &entry.what else {
            return Ok(());
        };
        match obs {
            Obs::Acked { value, index, .. } => self.acks.push((*value, *index, entry.time_us)),
            Obs::BecamePrimary { epoch } => {
                let first = *self.primaries.entry(*epoch).or_insert(entry.node);
                if first != entry.node {
                    return Err(format!(
                        "two primaries in one epoch. epoch={epoch} first={first:?} second={:?}",
                        entry.node
                    ));
                }
            }
            Obs::CaughtUp => self.catch_ups += 1,
            Obs::Recovered { .. } | Obs::Halted { .. } => {}
        }
        Ok(())
    }

    /// The end-of-run checks over the final world.
    pub fn finish(&self, world: &World<PbNode>, heal_us: u64) -> Result<(), String> {
        let replicas: Vec<&Replica> = REPLICAS
            .iter()
            .filter_map(|&id| match world.node(id) {
                Some(PbNode::Replica(replica)) => Some(replica),
                _ => None,
            })
            .collect();
        let primary = replicas
            .iter()
            .filter(|r| r.is_primary())
            .max_by_key(|r| r.epoch())
            .ok_or("no primary after the settle phase. liveness")?;
        for &(value, index, time_us) in &self.acks {
            let found = primary.log().get(index as usize).map(|e| e.value);
            if found != Some(value) {
                return Err(format!(
                    "acked write missing from the final log. value={value} index={index} \
                     found={found:?} acked_at_us={time_us} epoch={}",
                    primary.epoch()
                ));
            }
        }
        for backup in replicas.iter().filter(|r| !r.is_primary()) {
            if !primary.log().starts_with(backup.log()) {
                return Err(format!(
                    "replicas diverge after the settle phase. primary_len={} backup_len={}",
                    primary.log().len(),
                    backup.log().len()
                ));
            }
        }
        if let Some(PbNode::Client(client)) = world.node(CLIENT) {
            let observed: BTreeMap<u64, u64> = self.acks.iter().map(|&(v, i, _)| (v, i)).collect();
            if *client.acked() != observed {
                return Err(format!(
                    "client state disagrees with its observed acks. state={} observed={}",
                    client.acked().len(),
                    observed.len()
                ));
            }
        }
        if self.acked_after(heal_us) == 0 {
            return Err("no write acked after the heal. liveness".into());
        }
        Ok(())
    }

    /// Acks received.
    pub fn acked(&self) -> u64 {
        self.acks.len() as u64
    }

    /// Acks received at or after `time_us`.
    pub fn acked_after(&self, time_us: u64) -> u64 {
        self.acks.iter().filter(|ack| ack.2 >= time_us).count() as u64
    }

    /// Epoch changes after the first.
    pub fn failovers(&self) -> u64 {
        self.primaries.len().saturating_sub(1) as u64
    }

    /// Damaged replicas that caught up.
    pub fn catch_ups(&self) -> u64 {
        self.catch_ups
    }
}
