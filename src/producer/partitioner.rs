//! The partitioner: which partition of its topic a record goes to. An explicit partition
//! wins; a key is hashed as Kafka hashes it; a record with neither goes round robin (the
//! seed's rule, the default) or to a sticky partition (KIP-794).
//!
//! The only state is one cursor per topic, bounded by the partition count (round robin) or
//! by `batch.size` (sticky), so it means something to the protocol and keeps the explorer's
//! state space finite. The sticky switch is a choice, asked of a [`Chooser`], never an RNG.

use std::collections::BTreeMap;

use odradek_sim::Chooser;

use super::batch::record_bytes_upper_bound;
use super::config::PartitionerKind;
use super::murmur2::{murmur2, to_positive};
use crate::record::ProducerRecord;

/// Why a record has no partition.
#[derive(Debug, Clone, PartialEq, Eq, Hash, thiserror::Error)]
pub enum PartitionError {
    /// The record names a partition the topic does not have.
    #[error("invalid partition given with record. topic={topic} partition={partition} partitions={partitions}")]
    InvalidPartition {
        /// The record's topic.
        topic: String,
        /// The partition the record asked for.
        partition: i32,
        /// The topic's partition count.
        partitions: i32,
    },
    /// The topic has no partitions, as far as the caller's metadata knows.
    #[error("topic has no partitions. topic={topic} partitions={partitions}")]
    NoPartitions {
        /// The record's topic.
        topic: String,
        /// The count given.
        partitions: i32,
    },
}

/// Where keyless records of one topic go next.
#[derive(Debug, Clone, PartialEq, Eq, Hash)]
struct Cursor {
    /// Round robin: the next partition. Sticky: the current one.
    partition: i32,
    /// Sticky only: bytes sent to `partition` since it was chosen, below `batch.size` plus
    /// one record.
    produced_bytes: usize,
}

/// Assigns partitions to records; one per producer.
#[derive(Debug, Clone, PartialEq, Eq, Hash)]
pub struct Partitioner {
    kind: PartitionerKind,
    /// Sticky: bytes after which the partitioner moves on (`batch.size`).
    batch_size: usize,
    cursors: BTreeMap<String, Cursor>,
}

/// Kafka's partition for a key: `toPositive(murmur2(key)) % partitions`.
pub fn partition_for_key(key: &[u8], partitions: i32) -> i32 {
    debug_assert!(partitions > 0, "partitions={partitions}");
    to_positive(murmur2(key)) % partitions
}

impl Partitioner {
    /// A partitioner of `kind`; the sticky one switches after `batch_size` bytes.
    pub fn new(kind: PartitionerKind, batch_size: usize) -> Partitioner {
        Partitioner {
            kind,
            batch_size,
            cursors: BTreeMap::new(),
        }
    }

    /// The partition for `record` in a topic of `partitions` partitions. Only a sticky
    /// switch asks `chooser` (for one of `partitions` answers).
    pub fn partition(
        &mut self,
        record: &ProducerRecord,
        partitions: i32,
        chooser: &mut dyn Chooser,
    ) -> Result<i32, PartitionError> {
        if partitions <= 0 {
            return Err(PartitionError::NoPartitions {
                topic: record.topic.clone(),
                partitions,
            });
        }
        if let Some(partition) = record.partition {
            if !(0..partitions).contains(&partition) {
                return Err(PartitionError::InvalidPartition {
                    topic: record.topic.clone(),
                    partition,
                    partitions,
                });
            }
            return Ok(partition);
        }
        if let Some(key) = &record.key {
            return Ok(partition_for_key(key, partitions));
        }
        let partition = match self.kind {
            PartitionerKind::RoundRobin => self.round_robin(&record.topic, partitions),
            PartitionerKind::Sticky => {
                let bytes = record_bytes_upper_bound(record);
                self.sticky(&record.topic, partitions, bytes, chooser)
            }
        };
        debug_assert!((0..partitions).contains(&partition));
        Ok(partition)
    }

    fn round_robin(&mut self, topic: &str, partitions: i32) -> i32 {
        let cursor = self.cursor(topic);
        // The count may have changed since the last record: stay in range.
        let partition = cursor.partition % partitions;
        cursor.partition = (partition + 1) % partitions;
        partition
    }

    fn sticky(
        &mut self,
        topic: &str,
        partitions: i32,
        record_bytes: usize,
        chooser: &mut dyn Chooser,
    ) -> i32 {
        let batch_size = self.batch_size;
        let fresh = !self.cursors.contains_key(topic);
        let cursor = self.cursor(topic);
        if fresh || cursor.produced_bytes >= batch_size || cursor.partition >= partitions {
            cursor.partition = choose_partition(partitions, chooser);
            cursor.produced_bytes = 0;
        }
        cursor.produced_bytes += record_bytes;
        cursor.partition
    }

    fn cursor(&mut self, topic: &str) -> &mut Cursor {
        self.cursors.entry(topic.to_owned()).or_insert(Cursor {
            partition: 0,
            produced_bytes: 0,
        })
    }
}

/// One of `partitions`, asked of the chooser unless there is only one.
fn choose_partition(partitions: i32, chooser: &mut dyn Chooser) -> i32 {
    if partitions == 1 {
        return 0;
    }
    let answer = chooser.choose(partitions as usize);
    i32::try_from(answer).unwrap_or(0)
}
