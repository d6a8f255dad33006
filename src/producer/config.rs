//! The producer's settings, with Kafka's names and Kafka 3.x defaults, and the checks Kafka's
//! `ProducerConfig` makes before a producer starts.

use crate::bugs::Bugs;
use crate::record::{Compression, BATCH_HEADER_BYTES, RECORDS_BYTES_MAX};

/// The most requests a connection may carry unanswered while idempotence is on: the broker
/// keeps the last 5 batches per producer and partition for deduplication.
pub const IDEMPOTENT_IN_FLIGHT_MAX: u32 = 5;

/// Kafka's default `batch.size`: 16 KiB.
pub const BATCH_SIZE_DEFAULT: usize = 16 * 1024;
/// Kafka's default `buffer.memory`: 32 MiB.
pub const BUFFER_MEMORY_DEFAULT: usize = 32 * 1024 * 1024;
/// Kafka's default `max.request.size`: 1 MiB.
pub const MAX_REQUEST_SIZE_DEFAULT: usize = 1024 * 1024;

const _: () = assert!(BATCH_SIZE_DEFAULT <= MAX_REQUEST_SIZE_DEFAULT);
const _: () = assert!(MAX_REQUEST_SIZE_DEFAULT <= BUFFER_MEMORY_DEFAULT);
const _: () = assert!(BATCH_HEADER_BYTES < BATCH_SIZE_DEFAULT);

/// Kafka's `acks`: how many replicas must have a batch before the leader answers.
#[derive(
    Debug,
    Clone,
    Copy,
    PartialEq,
    Eq,
    Hash,
    PartialOrd,
    Ord,
    Default,
    serde::Serialize,
    serde::Deserialize,
)]
#[serde(rename_all = "snake_case")]
pub enum Acks {
    /// `acks=0`: no answer is awaited; sends complete with offset -1 and are never retried.
    None,
    /// `acks=1`: the leader's append suffices.
    Leader,
    /// `acks=all` (-1): the batch must be committed, below the high watermark. Kafka's
    /// default since 3.0, and required by idempotence.
    #[default]
    All,
}

impl Acks {
    /// The value Kafka's configuration and ProduceRequest carry: 0, 1 or -1.
    pub fn code(self) -> i16 {
        match self {
            Acks::None => 0,
            Acks::Leader => 1,
            Acks::All => -1,
        }
    }
}

/// How a record with neither a partition nor a key is placed.
#[derive(
    Debug,
    Clone,
    Copy,
    PartialEq,
    Eq,
    Hash,
    PartialOrd,
    Ord,
    Default,
    serde::Serialize,
    serde::Deserialize,
)]
#[serde(rename_all = "snake_case")]
pub enum PartitionerKind {
    /// A counter per topic, as the seed describes: records go to partitions 0, 1, 2, ...
    #[default]
    RoundRobin,
    /// Kafka's built-in sticky partitioner (KIP-794): stay on one partition until about
    /// `batch.size` bytes went to it, then switch to a partition the chooser picks.
    Sticky,
}

/// Every producer setting the pipeline honours. Names mirror Kafka's with dots as
/// underscores, so a reader finds them in Kafka's documentation; defaults are Kafka 3.x's.
#[derive(Debug, Clone, PartialEq, Eq, Hash, serde::Serialize, serde::Deserialize)]
#[serde(deny_unknown_fields)]
pub struct ProducerConfig {
    /// `acks`: replicas that must hold a batch before it is acknowledged.
    pub acks: Acks,
    /// `enable.idempotence`: producer id, epoch and per-partition sequence numbers, so the
    /// broker drops duplicates of a retried batch.
    pub enable_idempotence: bool,
    /// `retries`: how many times a failed batch may be sent again, within
    /// `delivery_timeout_ms`; a batch that failed after that many retries fails for good.
    pub retries: u32,
    /// `batch.size`: a batch whose header and records reach this many bytes is full.
    pub batch_size: usize,
    /// `linger.ms`: how long a batch that is not full waits for more records.
    pub linger_ms: u64,
    /// `buffer.memory`: bytes all queued and in-flight batches may reserve together.
    pub buffer_memory: usize,
    /// `max.block.ms`: how long a send waits for buffer memory before it fails.
    pub max_block_ms: u64,
    /// `delivery.timeout.ms`: the bound on a send's life from `send` to completion.
    pub delivery_timeout_ms: u64,
    /// `request.timeout.ms`: how long a request waits for its answer.
    pub request_timeout_ms: u64,
    /// `retry.backoff.ms`: the pause before a failed batch is sent again.
    pub retry_backoff_ms: u64,
    /// `max.request.size`: bytes of batches one ProduceRequest may carry, and the largest
    /// record the producer accepts.
    pub max_request_size: usize,
    /// `max.in.flight.requests.per.connection`: unanswered requests per broker.
    pub max_in_flight_requests_per_connection: u32,
    /// `compression.type`: the codec every batch is compressed with as it closes.
    pub compression_type: Compression,
    /// `partitioner.class`, reduced to the two built-in choices for keyless records.
    pub partitioner: PartitionerKind,
    /// Bug-zoo switches, none by default. The producer honours two:
    /// [`ReassignSequenceOnRetry`](crate::bugs::Bug::ReassignSequenceOnRetry) (a retried
    /// batch gets a new sequence number, so the broker cannot recognise it as a duplicate)
    /// and [`AcksAllAtLeaderAppend`](crate::bugs::Bug::AcksAllAtLeaderAppend)
    /// (acks=all sends complete when the leader appends, before replication).
    pub bugs: Bugs,
}

impl Default for ProducerConfig {
    fn default() -> ProducerConfig {
        ProducerConfig {
            acks: Acks::All,
            enable_idempotence: true,
            retries: i32::MAX as u32,
            batch_size: BATCH_SIZE_DEFAULT,
            linger_ms: 0,
            buffer_memory: BUFFER_MEMORY_DEFAULT,
            max_block_ms: 60_000,
            delivery_timeout_ms: 120_000,
            request_timeout_ms: 30_000,
            retry_backoff_ms: 100,
            max_request_size: MAX_REQUEST_SIZE_DEFAULT,
            max_in_flight_requests_per_connection: 5,
            compression_type: Compression::None,
            partitioner: PartitionerKind::RoundRobin,
            bugs: Bugs::default(),
        }
    }
}

/// A setting, or a combination of settings, the producer refuses to start with.
#[derive(Debug, Clone, PartialEq, Eq, Hash, thiserror::Error)]
pub enum ConfigError {
    /// Idempotence is on but another setting forbids it; Kafka refuses this combination
    /// rather than silently weakening the guarantee.
    #[error("idempotence requires {requires}. field={field} value={value}")]
    Idempotence {
        /// The conflicting setting.
        field: &'static str,
        /// Its value.
        value: i64,
        /// What idempotence needs of it.
        requires: &'static str,
    },
    /// A setting outside the values the producer can honour.
    #[error("invalid producer config: {reason}. field={field} value={value}")]
    Invalid {
        /// The setting.
        field: &'static str,
        /// Its value.
        value: u64,
        /// What it breaks.
        reason: &'static str,
    },
}

impl ProducerConfig {
    /// Checks the settings as Kafka's `ProducerConfig` does. A producer is built only from a
    /// config that passes.
    pub fn validate(&self) -> Result<(), ConfigError> {
        if self.enable_idempotence {
            self.validate_idempotence()?;
        }
        let invalid = |field, value: u64, reason| {
            Err(ConfigError::Invalid {
                field,
                value,
                reason,
            })
        };
        if self.max_in_flight_requests_per_connection == 0 {
            return invalid(
                "max_in_flight_requests_per_connection",
                0,
                "must be at least 1",
            );
        }
        if self.max_request_size <= BATCH_HEADER_BYTES {
            return invalid(
                "max_request_size",
                self.max_request_size as u64,
                "must exceed a batch header",
            );
        }
        if self.max_request_size > RECORDS_BYTES_MAX {
            return invalid(
                "max_request_size",
                self.max_request_size as u64,
                "must be at most RECORDS_BYTES_MAX, the largest batch the format builds",
            );
        }
        if self.batch_size > RECORDS_BYTES_MAX {
            return invalid(
                "batch_size",
                self.batch_size as u64,
                "must be at most RECORDS_BYTES_MAX, the largest batch the format builds",
            );
        }
        if self.buffer_memory < self.max_request_size {
            return invalid(
                "buffer_memory",
                self.buffer_memory as u64,
                "must hold at least one request of max_request_size",
            );
        }
        let floor = self.linger_ms.saturating_add(self.request_timeout_ms);
        if self.delivery_timeout_ms < floor {
            return invalid(
                "delivery_timeout_ms",
                self.delivery_timeout_ms,
                "must be at least linger_ms + request_timeout_ms",
            );
        }
        Ok(())
    }

    fn validate_idempotence(&self) -> Result<(), ConfigError> {
        let conflict = |field, value: i64, requires| {
            Err(ConfigError::Idempotence {
                field,
                value,
                requires,
            })
        };
        if self.acks != Acks::All {
            return conflict("acks", self.acks.code().into(), "acks=all");
        }
        let in_flight = self.max_in_flight_requests_per_connection;
        if in_flight > IDEMPOTENT_IN_FLIGHT_MAX {
            return conflict(
                "max_in_flight_requests_per_connection",
                in_flight.into(),
                "at most 5 requests in flight",
            );
        }
        if self.retries == 0 {
            return conflict("retries", 0, "retries > 0");
        }
        Ok(())
    }
}
