//! A partition's full name: the key of every per-partition table in the producer.

use std::fmt;

/// A topic and a partition index, ordered by topic then partition so per-partition tables
/// iterate deterministically.
#[derive(
    Debug, Clone, PartialEq, Eq, Hash, PartialOrd, Ord, serde::Serialize, serde::Deserialize,
)]
pub struct TopicPartition {
    /// The topic's name.
    pub topic: String,
    /// The partition's index, from 0; `i32` as on Kafka's wire.
    pub partition: i32,
}

impl TopicPartition {
    /// `topic`'s partition `partition`.
    pub fn new(topic: impl Into<String>, partition: i32) -> TopicPartition {
        TopicPartition {
            topic: topic.into(),
            partition,
        }
    }
}

impl fmt::Display for TopicPartition {
    /// Kafka's spelling, `topic-partition`, as violations and logs print it.
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "{}-{}", self.topic, self.partition)
    }
}
