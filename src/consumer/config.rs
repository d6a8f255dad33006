//! The consumer's settings, with Kafka's names and Kafka 3.x defaults.

/// Kafka's default `max.partition.fetch.bytes`: 1 MiB per partition and fetch.
pub const FETCH_MAX_BYTES_DEFAULT: u32 = 1024 * 1024;
/// Kafka's default `fetch.max.wait.ms`.
pub const FETCH_MAX_WAIT_MS_DEFAULT: u64 = 500;

/// `auto.offset.reset`: where a partition without a valid position starts.
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
pub enum OffsetReset {
    /// The log start offset.
    Earliest,
    /// The high watermark: only records committed from now on. Kafka's default.
    #[default]
    Latest,
}

/// Every consumer setting the state machine honours.
#[derive(Debug, Clone, PartialEq, Eq, Hash, serde::Serialize, serde::Deserialize)]
#[serde(deny_unknown_fields)]
pub struct ConsumerConfig {
    /// `auto.offset.reset`.
    pub auto_offset_reset: OffsetReset,
    /// `max.partition.fetch.bytes`: bytes one fetch may return (the first batch comes
    /// whole).
    pub max_partition_fetch_bytes: u32,
    /// `fetch.max.wait.ms`: how long the leader may hold a fetch that has nothing to
    /// return.
    pub fetch_max_wait_ms: u64,
    /// `request.timeout.ms`: how long a request waits for its answer before the consumer
    /// resets the connection.
    pub request_timeout_ms: u64,
    /// `retry.backoff.ms`: the pause after a failed request.
    pub retry_backoff_ms: u64,
}

impl Default for ConsumerConfig {
    fn default() -> ConsumerConfig {
        ConsumerConfig {
            auto_offset_reset: OffsetReset::Latest,
            max_partition_fetch_bytes: FETCH_MAX_BYTES_DEFAULT,
            fetch_max_wait_ms: FETCH_MAX_WAIT_MS_DEFAULT,
            request_timeout_ms: 30_000,
            retry_backoff_ms: 100,
        }
    }
}
