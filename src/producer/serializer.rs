//! Key and value serializers: the first stage of the pipeline, turning application values
//! into the bytes a [`ProducerRecord`] carries. Bytes pass through, strings as UTF-8, serde
//! types as JSON. Serializers are stateless values, so they hash with the node.

use bytes::Bytes;

use crate::record::ProducerRecord;

/// Turns a value into the bytes of a record's key or value, as Kafka's `Serializer`.
pub trait Serializer<T: ?Sized> {
    /// The bytes of `data`, bound for `topic` (which a serializer may use, as Kafka's may).
    fn serialize(&self, topic: &str, data: &T) -> Result<Bytes, SerializeError>;
}

/// Why a value could not be turned into bytes.
#[derive(Debug, Clone, PartialEq, Eq, Hash, thiserror::Error)]
pub enum SerializeError {
    /// serde_json refused the value: a map with non-string keys, or a `Serialize` impl
    /// that failed.
    #[error("json serialization failed. topic={topic}: {reason}")]
    Json {
        /// The topic the record was bound for.
        topic: String,
        /// serde_json's message.
        reason: String,
    },
}

/// Which part of a record failed to serialize.
#[derive(Debug, Clone, PartialEq, Eq, Hash, thiserror::Error)]
pub enum RecordSerializeError {
    /// The key.
    #[error("key: {0}")]
    Key(SerializeError),
    /// The value.
    #[error("value: {0}")]
    Value(SerializeError),
}

/// Bytes as they are: Kafka's `ByteArraySerializer`.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Default)]
pub struct BytesSerializer;

impl Serializer<[u8]> for BytesSerializer {
    fn serialize(&self, _topic: &str, data: &[u8]) -> Result<Bytes, SerializeError> {
        Ok(Bytes::copy_from_slice(data))
    }
}

impl Serializer<Bytes> for BytesSerializer {
    fn serialize(&self, _topic: &str, data: &Bytes) -> Result<Bytes, SerializeError> {
        Ok(data.clone())
    }
}

/// Strings as UTF-8: Kafka's `StringSerializer` with its default encoding.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Default)]
pub struct StringSerializer;

impl Serializer<str> for StringSerializer {
    fn serialize(&self, _topic: &str, data: &str) -> Result<Bytes, SerializeError> {
        Ok(Bytes::copy_from_slice(data.as_bytes()))
    }
}

/// Any serde type as compact JSON, the common choice of applications without a schema
/// registry.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Default)]
pub struct JsonSerializer;

impl<T: serde::Serialize + ?Sized> Serializer<T> for JsonSerializer {
    fn serialize(&self, topic: &str, data: &T) -> Result<Bytes, SerializeError> {
        serde_json::to_vec(data)
            .map(Bytes::from)
            .map_err(|error| SerializeError::Json {
                topic: topic.to_owned(),
                reason: error.to_string(),
            })
    }
}

/// A key serializer and a value serializer, applied together: what a `KafkaProducer<K, V>`
/// is configured with.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Default)]
pub struct RecordSerializer<KS, VS> {
    /// Serializes keys.
    pub key: KS,
    /// Serializes values.
    pub value: VS,
}

impl<KS, VS> RecordSerializer<KS, VS> {
    /// A record for `topic` with the serialized key and value; a `None` stays null, as
    /// Kafka never hands a null to a serializer's output. Partition, timestamp and headers
    /// are left for the caller to set on the result.
    pub fn record<K: ?Sized, V: ?Sized>(
        &self,
        topic: &str,
        key: Option<&K>,
        value: Option<&V>,
    ) -> Result<ProducerRecord, RecordSerializeError>
    where
        KS: Serializer<K>,
        VS: Serializer<V>,
    {
        let key = key
            .map(|key| self.key.serialize(topic, key))
            .transpose()
            .map_err(RecordSerializeError::Key)?;
        let value = value
            .map(|value| self.value.serialize(topic, value))
            .transpose()
            .map_err(RecordSerializeError::Value)?;
        Ok(ProducerRecord::new(topic, key, value))
    }
}
