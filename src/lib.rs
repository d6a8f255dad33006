//! The system under test: a Kafka-style replicated log built as sans-IO nodes for
//! `odradek-sim`.

#![warn(missing_docs, unreachable_pub)]

pub mod broker;
pub mod bugs;
pub mod client;
pub mod cluster;
pub mod command;
pub mod consumer;
pub mod controller;
pub mod log;
pub mod metadata;
pub mod producer;
pub mod protocol;
pub mod record;
#[cfg(unix)]
pub mod serve;
pub mod wire;
pub mod workload;
