//! The consumer: assigned partitions, a position per partition, fetches from each
//! partition's leader, and `poll` handing out records in offset order.
//!
//! Like the producer's Sender it is a sans-IO state machine that embeds in a node: inputs
//! through [`Consumer::assign`], [`Consumer::poll`] and the `handle_*` methods, outputs as
//! [`ConsumerCommand`]s (requests, resets, timers). It never reads at or above a
//! partition's high watermark, even if a broker returned such records, and an
//! out-of-range position resets by `auto.offset.reset` and says so in the poll stream
//! ([`PollEvent::Reset`]), so the history can excuse the jump. Groups and committed
//! offsets are a later step.

mod config;
mod fetcher;

pub use config::{ConsumerConfig, OffsetReset, FETCH_MAX_BYTES_DEFAULT, FETCH_MAX_WAIT_MS_DEFAULT};
pub use fetcher::{
    Consumer, ConsumerCommand, ConsumerRecord, ConsumerRequestKey, ConsumerTimer, PollEvent, Polled,
};
