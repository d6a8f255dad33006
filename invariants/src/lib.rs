//! Odradek's oracle: history types and checkers for Kafka-style replicated logs.
//!
//! Pure functions over client histories and replica observations. This crate depends on
//! neither the system under test (`odradek`) nor the engine (`odradek-sim`), so a checker
//! can never read a bug-zoo switch or engine state: it judges only what was observed.
//! The history types arrive with the broker; until then the crate holds this charter.

#![warn(missing_docs, unreachable_pub)]
