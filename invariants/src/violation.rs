//! What the oracle reports: violations a person can act on, and allowed losses with the
//! causal chain that allows each.

use std::fmt;

use serde::{Deserialize, Serialize};

use crate::invariant::Invariant;
use crate::PartitionRef;

/// A broken invariant: "invariant: sentence. key=value ..." when displayed (STYLE, item 7),
/// naming the partition, offsets, values, nodes and virtual time.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Violation {
    /// What broke.
    pub invariant: Invariant,
    /// When the oracle saw it, in virtual microseconds.
    pub time_us: u64,
    /// One sentence, lowercase, no final period.
    pub sentence: String,
    /// The evidence, in print order.
    pub fields: Vec<(String, String)>,
}

impl Violation {
    /// A violation of `invariant` at `time_us`.
    pub fn new(invariant: Invariant, time_us: u64, sentence: impl Into<String>) -> Self {
        Self {
            invariant,
            time_us,
            sentence: sentence.into(),
            fields: Vec::new(),
        }
    }

    /// Adds `key=value`.
    pub fn with(mut self, key: &str, value: impl fmt::Display) -> Self {
        self.fields.push((key.to_string(), value.to_string()));
        self
    }

    /// The value of field `key`, if given.
    pub fn field(&self, key: &str) -> Option<&str> {
        let found = self.fields.iter().find(|(k, _)| k == key);
        found.map(|(_, v)| v.as_str())
    }
}

impl fmt::Display for Violation {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "{}: {}.", self.invariant, self.sentence)?;
        for (key, value) in &self.fields {
            write!(f, " {key}={value}")?;
        }
        write!(f, " time_ms={}", self.time_us / 1000)
    }
}

/// An acked acks=all record lost in a way DESIGN's durability rule allows, with every link
/// of the chain cited.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct AllowedLoss {
    /// The partition.
    pub partition: PartitionRef,
    /// The record's offset.
    pub offset: i64,
    /// Its value.
    pub value: u64,
    /// The links: (a) the election, (b) what lost the record, (c) why nobody was eligible.
    pub chain: Vec<String>,
}

impl fmt::Display for AllowedLoss {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(
            f,
            "allowed loss. partition={} offset={} value={}",
            partition_name(&self.partition),
            self.offset,
            self.value
        )?;
        for (link, text) in ["a", "b", "c"].iter().zip(&self.chain) {
            write!(f, " ({link}) {text};")?;
        }
        Ok(())
    }
}

/// `topic-partition`, as Kafka spells it.
pub fn partition_name(partition: &PartitionRef) -> String {
    format!("{}-{}", partition.topic, partition.partition)
}
