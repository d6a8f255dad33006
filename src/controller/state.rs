//! The controller's durable state and its file: what ZooKeeper (or the KRaft metadata log)
//! holds. Written whole to a temporary file, synced, renamed over the old one and the
//! directory synced, so a crash at any point leaves the old state or the new one, never a
//! mix; a CRC-32C guards against bit flips.

use std::collections::BTreeMap;

use odradek_sim::{Disk, DiskError};
use serde::{Deserialize, Serialize};

use crate::protocol::{BrokerId, PartitionState, TopicPartition};

/// The state file.
const STATE_FILE: &str = "controller.state";
/// Where a new state is written before it replaces the old.
const STATE_TMP: &str = "controller.state.tmp";
/// The largest state file read back; anything larger is damage.
const STATE_BYTES_MAX: u64 = 1024 * 1024;

/// One registered broker.
#[derive(Debug, Clone, PartialEq, Eq, Hash, Serialize, Deserialize)]
pub struct BrokerRecord {
    /// Its current broker epoch.
    pub broker_epoch: i64,
    /// Whether its session expired (it may not lead or join an ISR).
    pub fenced: bool,
}

/// Everything the controller must not forget.
#[derive(Debug, Clone, Default, PartialEq, Eq, Hash, Serialize, Deserialize)]
pub struct ControllerState {
    /// Registered brokers.
    pub brokers: BTreeMap<BrokerId, BrokerRecord>,
    /// Every partition, ordered by partition.
    pub partitions: Vec<PartitionState>,
    /// The epoch the next registration gets.
    pub next_broker_epoch: i64,
    /// The producer id the next InitProducerId gets.
    pub next_producer_id: i64,
}

/// Why the state file could not be used.
#[derive(Debug, thiserror::Error)]
pub enum StateError {
    /// The disk failed.
    #[error("disk error. {0}")]
    Disk(#[from] DiskError),
    /// The file fails its checksum or does not parse.
    #[error("controller state damaged. {0}")]
    Damaged(String),
}

impl ControllerState {
    /// The partition's state.
    pub fn partition(&self, tp: &TopicPartition) -> Option<&PartitionState> {
        self.partitions.iter().find(|p| &p.tp == tp)
    }

    /// The partition's state, mutable.
    pub fn partition_mut(&mut self, tp: &TopicPartition) -> Option<&mut PartitionState> {
        self.partitions.iter_mut().find(|p| &p.tp == tp)
    }

    /// Whether `broker` is registered and not fenced: it may lead and join ISRs.
    pub fn available(&self, broker: BrokerId) -> bool {
        self.brokers.get(&broker).is_some_and(|b| !b.fenced)
    }

    /// Reads the state file: `None` if there is none.
    pub fn load(disk: &mut dyn Disk) -> Result<Option<ControllerState>, StateError> {
        if !disk.exists(STATE_FILE) {
            return Ok(None);
        }
        let len = disk.len(STATE_FILE)?;
        if !(4..=STATE_BYTES_MAX).contains(&len) {
            return Err(StateError::Damaged(format!("length={len}")));
        }
        let bytes = disk.read_all(STATE_FILE)?;
        let (crc, body) = bytes.split_at(4);
        let stored = u32::from_be_bytes(crc.try_into().expect("four bytes"));
        if crc32c::crc32c(body) != stored {
            return Err(StateError::Damaged("checksum mismatch".into()));
        }
        serde_json::from_slice(body)
            .map(Some)
            .map_err(|error| StateError::Damaged(error.to_string()))
    }

    /// Writes the state durably, replacing the old file atomically.
    pub fn store(&self, disk: &mut dyn Disk) -> Result<(), DiskError> {
        let body = serde_json::to_vec(self).expect("the state serializes");
        let mut bytes = crc32c::crc32c(&body).to_be_bytes().to_vec();
        bytes.extend_from_slice(&body);
        if disk.exists(STATE_TMP) {
            disk.set_len(STATE_TMP, 0)?;
        } else {
            disk.create(STATE_TMP)?;
        }
        disk.write_at(STATE_TMP, 0, &bytes)?;
        disk.sync(STATE_TMP)?;
        disk.rename(STATE_TMP, STATE_FILE)?;
        disk.sync_dir()
    }
}
