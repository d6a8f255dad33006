//! What an application hands the producer: Kafka's `ProducerRecord`, with key and value
//! already serialized.

use bytes::Bytes;

use super::records::Header;

/// A record on its way to a topic, before it has a partition, an offset or (perhaps) a
/// timestamp. The producer's pipeline fills these in: an explicit partition wins over the
/// partitioner, and a missing timestamp becomes the producer's wall clock at send time.
#[derive(Debug, Clone, PartialEq, Eq, Hash)]
pub struct ProducerRecord {
    /// The topic to append to.
    pub topic: String,
    /// The partition, if the application chose one; otherwise the partitioner decides.
    pub partition: Option<i32>,
    /// Milliseconds since the epoch, if the application chose them.
    pub timestamp: Option<i64>,
    /// The key; `None` is a null key, which Kafka partitions without hashing.
    pub key: Option<Bytes>,
    /// The value; `None` is a null value, which Kafka allows (a tombstone).
    pub value: Option<Bytes>,
    /// Headers, in order.
    pub headers: Vec<Header>,
}

impl ProducerRecord {
    /// A record for `topic` with no partition, timestamp or headers chosen: the common case.
    pub fn new(
        topic: impl Into<String>,
        key: Option<Bytes>,
        value: Option<Bytes>,
    ) -> ProducerRecord {
        ProducerRecord {
            topic: topic.into(),
            partition: None,
            timestamp: None,
            key,
            value,
            headers: Vec::new(),
        }
    }
}
