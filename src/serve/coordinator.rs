//! Committed consumer offsets: the minimal group coordinator real clients need (librdkafka's
//! consumer wants a group id, and then commits). No membership, no rebalancing: a simple
//! consumer's commits stored per group and partition, on the coordinator broker's disk.
//!
//! One broker coordinates each group, chosen by a hash of its name, so every broker sends
//! a client to the same one. The offsets are one JSON file, replaced whole on every commit
//! (written aside, fsynced, renamed over, the directory fsynced), so a crash leaves either
//! the old commits or the new ones.

use std::collections::BTreeMap;
use std::io::Write;
use std::path::PathBuf;

use odradek_sim::{fnv64, NodeId};
use serde::{Deserialize, Serialize};

use super::ServeError;

/// One partition's committed position.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Committed {
    /// The next offset to consume.
    pub offset: i64,
    /// Leader epoch of the last record consumed, -1 unknown.
    pub leader_epoch: i32,
    /// The client's metadata.
    pub metadata: Option<String>,
}

/// The committed offsets of every group this broker coordinates.
#[derive(Debug)]
pub struct Offsets {
    path: PathBuf,
    groups: BTreeMap<String, BTreeMap<String, BTreeMap<i32, Committed>>>,
}

/// The broker coordinating `group` among `brokers`.
pub fn coordinator_of(group: &str, brokers: &[NodeId]) -> NodeId {
    let index = fnv64(group.as_bytes()) % brokers.len() as u64;
    brokers[index as usize]
}

impl Offsets {
    /// The offsets stored under `dir`, or none when there is no file yet.
    pub fn load(dir: &std::path::Path) -> Result<Offsets, ServeError> {
        let path = dir.join("committed-offsets.json");
        let groups = match std::fs::read(&path) {
            Ok(bytes) => serde_json::from_slice(&bytes).map_err(|e| ServeError::Config {
                path: path.clone(),
                error: e.to_string(),
            })?,
            Err(e) if e.kind() == std::io::ErrorKind::NotFound => BTreeMap::new(),
            Err(e) => return Err(ServeError::io(path.display().to_string())(e)),
        };
        Ok(Offsets { path, groups })
    }

    /// Stores `commits` of `group` durably.
    pub fn commit(
        &mut self,
        group: &str,
        commits: Vec<(String, i32, Committed)>,
    ) -> Result<(), ServeError> {
        let stored = self.groups.entry(group.to_owned()).or_default();
        for (topic, partition, committed) in commits {
            stored
                .entry(topic)
                .or_default()
                .insert(partition, committed);
        }
        self.save()
    }

    /// What `group` committed for `topic`-`partition`.
    pub fn committed(&self, group: &str, topic: &str, partition: i32) -> Option<&Committed> {
        self.groups.get(group)?.get(topic)?.get(&partition)
    }

    /// Every (topic, partition) `group` committed.
    pub fn partitions(&self, group: &str) -> Vec<(String, i32)> {
        (self.groups.get(group).into_iter().flatten())
            .flat_map(|(topic, parts)| parts.keys().map(|p| (topic.clone(), *p)))
            .collect()
    }

    fn save(&self) -> Result<(), ServeError> {
        let what = self.path.display().to_string();
        let aside = self.path.with_extension("json.tmp");
        let bytes = serde_json::to_vec(&self.groups).expect("offsets serialize");
        let mut file = std::fs::File::create(&aside).map_err(ServeError::io(&what))?;
        file.write_all(&bytes).map_err(ServeError::io(&what))?;
        file.sync_all().map_err(ServeError::io(&what))?;
        std::fs::rename(&aside, &self.path).map_err(ServeError::io(&what))?;
        let dir = self.path.parent().expect("a file in a directory");
        std::fs::File::open(dir)
            .and_then(|d| d.sync_all())
            .map_err(ServeError::io(&what))
    }
}
