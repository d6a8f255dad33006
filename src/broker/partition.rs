//! One partition replica on a broker: its log, its producer state and its role (leader,
//! follower or offline) in the leader epoch it last heard of.

use std::collections::BTreeMap;

use odradek_sim::Disk;

use super::producer_state::ProducerStates;
use crate::log::{Log, LogConfig, LogError, RecoveryReport};
use crate::protocol::{BrokerId, IsrMember, TopicPartition};

/// What a leader knows of one follower, learned from its fetches in the current epoch.
#[derive(Debug, Clone, PartialEq, Eq, Hash)]
pub struct ReplicaView {
    /// Its log end offset as its last fetch in this epoch said; `None` until it fetches.
    pub log_end_offset: Option<i64>,
    /// The broker epoch its last fetch carried, for ISR expansion.
    pub broker_epoch: i64,
    /// Its lag timer fired and it has not caught up since.
    pub lagging: bool,
    /// The leader's log end offset when the follower's previous fetch was answered: a
    /// fetch at or past it means the follower caught up (Kafka's `lastCaughtUpTime`).
    pub caught_up_target: i64,
}

/// The leader's side of a partition.
#[derive(Debug, Clone, PartialEq, Eq, Hash)]
pub struct LeaderState {
    /// The committed ISR, as the controller last said.
    pub isr: Vec<BrokerId>,
    /// The partition epoch of that ISR.
    pub partition_epoch: i32,
    /// Where this leader's epoch starts in its log.
    pub epoch_start_offset: i64,
    /// Every other assigned replica.
    pub followers: BTreeMap<BrokerId, ReplicaView>,
    /// The ISR an AlterPartition proposed whose outcome is unknown: it counts in the
    /// maximal ISR and is proposed again until a response carrying the partition's state,
    /// a definite refusal, or newer metadata settles it (Kafka's pending ISR state). The
    /// controller may have committed it while its answer was lost.
    pub pending_isr: Option<Vec<IsrMember>>,
}

/// Where a follower is in its cycle.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum FollowerPhase {
    /// Finding the divergence point with OffsetsForLeaderEpoch.
    Truncating,
    /// Fetching from its log end offset.
    Fetching,
}

/// The follower's side of a partition.
#[derive(Debug, Clone, PartialEq, Eq, Hash)]
pub struct FollowerState {
    /// The leader it follows.
    pub leader: BrokerId,
    /// Where it is.
    pub phase: FollowerPhase,
    /// A request to the leader awaits its answer.
    pub in_flight: bool,
    /// The epoch the next OffsetsForLeaderEpoch asks about when the leader answered with
    /// an epoch this replica does not hold (KIP-279's next round): its largest epoch
    /// below that one. `None` asks about its latest epoch. An epoch that holds no batch
    /// yet (it led without appending) stays the latest after a truncation to its start, so
    /// asking about the latest again would get the same answer forever.
    pub next_epoch: Option<i32>,
}

/// The replica's role.
#[derive(Debug, Clone, PartialEq, Eq, Hash)]
pub enum Role {
    /// It leads `leader_epoch`.
    Leader(LeaderState),
    /// It follows.
    Follower(FollowerState),
    /// No leader known, or the partition is offline.
    Offline,
}

/// One partition replica.
#[derive(Debug, Clone, PartialEq, Eq, Hash)]
pub struct Partition {
    /// The partition.
    pub tp: TopicPartition,
    /// Its log.
    pub log: Log,
    /// The leader epoch of the role.
    pub leader_epoch: i32,
    /// The role.
    pub role: Role,
    /// Idempotent producer state.
    pub producers: ProducerStates,
}

/// What opening a partition found.
pub struct Opened {
    /// The partition, offline until the controller says otherwise.
    pub partition: Partition,
    /// The log's recovery report.
    pub report: RecoveryReport,
    /// A corrupt batch found by the producer-state scan and cut: (from, to) log end.
    pub cut: Option<(i64, i64)>,
}

impl Partition {
    /// Opens (or creates) the replica's log and rebuilds its producer state. A corrupt
    /// batch the scan meets is truncated away: a corrupt log is never served.
    pub fn open(disk: &mut dyn Disk, tp: &TopicPartition) -> Result<Opened, LogError> {
        let (mut log, report) = Log::open(disk, &tp.dir(), LogConfig::default())?;
        let mut cut = None;
        let producers = loop {
            match ProducerStates::rebuild(&log, disk) {
                (producers, Ok(())) => break producers,
                (_, Err(LogError::Corrupt { offset, .. })) => {
                    let from = log.log_end_offset();
                    let to = log.truncate_to(disk, offset)?;
                    cut = Some((from, to));
                }
                (_, Err(error)) => return Err(error),
            }
        };
        let partition = Partition {
            tp: tp.clone(),
            log,
            leader_epoch: -1,
            role: Role::Offline,
            producers,
        };
        Ok(Opened {
            partition,
            report,
            cut,
        })
    }

    /// The leader state, if it leads `epoch`.
    pub fn leader_in(&mut self, epoch: i32) -> Option<&mut LeaderState> {
        match &mut self.role {
            Role::Leader(leader) if self.leader_epoch == epoch => Some(leader),
            _ => None,
        }
    }

    /// Whether it leads.
    pub fn is_leader(&self) -> bool {
        matches!(self.role, Role::Leader(_))
    }
}
