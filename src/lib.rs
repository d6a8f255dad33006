//! The system under test: a Kafka-style replicated log built as sans-IO nodes for
//! `odradek-sim`.

#![warn(missing_docs, unreachable_pub)]

pub mod log;
pub mod producer;
pub mod record;
