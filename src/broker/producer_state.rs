//! Idempotent producer state of one partition replica: per producer id its epoch and the
//! last five batches' sequence ranges and offsets (Kafka's `ProducerStateEntry`). The leader
//! checks each batch against it (duplicate, gap, fenced epoch); every replica rebuilds it
//! from batch headers at startup, while following and after every truncation, so a
//! failover neither duplicates a retry nor deduplicates one against a truncated offset.

use std::collections::{BTreeMap, VecDeque};

use odradek_sim::Disk;

use crate::log::{Log, LogError};
use crate::protocol::ErrorCode;
use crate::record::BatchHeader;

/// Batches remembered per producer for deduplication (Kafka's 5).
pub const DEDUP_BATCHES_MAX: usize = 5;

/// One remembered batch.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
struct BatchMeta {
    first_seq: i32,
    last_seq: i32,
    first_offset: i64,
    last_offset: i64,
}

/// One producer id's entry.
#[derive(Debug, Clone, PartialEq, Eq, Hash)]
struct ProducerEntry {
    epoch: i16,
    batches: VecDeque<BatchMeta>,
}

/// What the sequence check decided for a batch.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum SequenceCheck {
    /// Not idempotent, or the next batch in sequence: append it.
    Append,
    /// Already in the log at these offsets: answer with them, append nothing.
    Duplicate {
        /// The original first offset.
        first_offset: i64,
        /// The original last offset.
        last_offset: i64,
    },
}

/// Producer state of one partition replica.
#[derive(Debug, Clone, Default, PartialEq, Eq, Hash)]
pub struct ProducerStates {
    producers: BTreeMap<i64, ProducerEntry>,
}

/// The sequence after `seq`, wrapping at `i32::MAX` as Kafka's does.
fn next_sequence(seq: i32) -> i32 {
    if seq == i32::MAX {
        0
    } else {
        seq + 1
    }
}

impl ProducerStates {
    /// The leader's check of an incoming batch.
    pub fn check(&self, header: &BatchHeader) -> Result<SequenceCheck, ErrorCode> {
        if header.producer_id < 0 {
            return Ok(SequenceCheck::Append);
        }
        let Some(entry) = self.producers.get(&header.producer_id) else {
            return if header.base_sequence == 0 {
                Ok(SequenceCheck::Append)
            } else {
                Err(ErrorCode::OutOfOrderSequenceNumber)
            };
        };
        if header.producer_epoch < entry.epoch {
            return Err(ErrorCode::InvalidProducerEpoch);
        }
        if header.producer_epoch > entry.epoch {
            return if header.base_sequence == 0 {
                Ok(SequenceCheck::Append)
            } else {
                Err(ErrorCode::OutOfOrderSequenceNumber)
            };
        }
        let last_seq = header.last_sequence();
        if let Some(dup) = entry
            .batches
            .iter()
            .find(|b| b.first_seq == header.base_sequence && b.last_seq == last_seq)
        {
            return Ok(SequenceCheck::Duplicate {
                first_offset: dup.first_offset,
                last_offset: dup.last_offset,
            });
        }
        let expected = entry
            .batches
            .back()
            .map_or(0, |b| next_sequence(b.last_seq));
        if header.base_sequence == expected {
            Ok(SequenceCheck::Append)
        } else {
            Err(ErrorCode::OutOfOrderSequenceNumber)
        }
    }

    /// Records a batch now in the log (its header carries its offsets).
    pub fn update(&mut self, header: &BatchHeader) {
        if header.producer_id < 0 {
            return;
        }
        let entry = self
            .producers
            .entry(header.producer_id)
            .or_insert(ProducerEntry {
                epoch: header.producer_epoch,
                batches: VecDeque::new(),
            });
        if header.producer_epoch != entry.epoch {
            entry.epoch = header.producer_epoch;
            entry.batches.clear();
        }
        entry.batches.push_back(BatchMeta {
            first_seq: header.base_sequence,
            last_seq: header.last_sequence(),
            first_offset: header.base_offset,
            last_offset: header.last_offset(),
        });
        while entry.batches.len() > DEDUP_BATCHES_MAX {
            entry.batches.pop_front();
        }
    }

    /// Rebuilds the state from the log's batch headers. On a corrupt batch returns the
    /// error with the state built from the batches before it.
    pub fn rebuild(log: &Log, disk: &dyn Disk) -> (ProducerStates, Result<(), LogError>) {
        let mut states = ProducerStates::default();
        let headers = match log.batch_headers(disk, log.log_start_offset()) {
            Ok(headers) => headers,
            Err(error) => return (states, Err(error)),
        };
        for header in headers {
            match header {
                Ok(header) => states.update(&header),
                Err(error) => return (states, Err(error)),
            }
        }
        (states, Ok(()))
    }
}
