//! The RecordAccumulator: a queue of batches per partition, filled by sends and emptied by
//! the Sender's drains, within `buffer.memory`.
//!
//! It reads no clock. Time enters as timer inputs the owning node arms when told to:
//! [`AccumulatorTimer::Linger`] when a partition gets a new batch (a partition's linger
//! timer always belongs to its newest batch, since only the tail can still take records),
//! [`AccumulatorTimer::RetryBackoff`] when a retry is re-enqueued, and
//! [`AccumulatorTimer::MaxBlock`] when a send waits for memory. The call order is:
//! `append` for each send; `ready` and `drain` when a send reports a sendable batch or a
//! timer fires; `reenqueue` for a retry; `complete` once per drained batch, which returns its
//! memory and admits waiting sends.
//!
//! Waiting sends queue in send order: while one waits, later sends wait behind it, as the
//! application thread that calls Kafka's blocking `send` would. So sends of one producer
//! reach each partition in the order they were made.

use std::collections::BTreeMap;

use bytes::Bytes;

use crate::record::{Compression, ProducerRecord, RecordError, BATCH_HEADER_BYTES};

use super::batch::{record_bytes_upper_bound, ProducerBatch, ProducerIdEpoch, SendId};
use super::config::{ConfigError, ProducerConfig};
use super::outcome::{DeliveryError, SendOutcome};
use super::topic_partition::TopicPartition;

/// The timers the accumulator asks its owner to arm; plain data, so the node's own timer
/// enum can wrap them.
#[derive(
    Debug, Clone, PartialEq, Eq, Hash, PartialOrd, Ord, serde::Serialize, serde::Deserialize,
)]
pub enum AccumulatorTimer {
    /// `linger.ms` for the newest batch of a partition: arm (or re-arm) on a new batch, and
    /// call [`RecordAccumulator::on_linger_expired`] when it fires.
    Linger(TopicPartition),
    /// `retry.backoff.ms` for a partition's re-enqueued batches: call
    /// [`RecordAccumulator::on_retry_backoff_expired`] when it fires.
    RetryBackoff(TopicPartition),
    /// `max.block.ms` for a send waiting for memory: call
    /// [`RecordAccumulator::on_max_block_expired`] when it fires, cancel it when the send is
    /// admitted.
    MaxBlock(SendId),
}

/// What an accepted append did.
#[derive(Debug, Clone, PartialEq, Eq, Hash)]
pub struct AppendResult {
    /// The partition the record went to.
    pub topic_partition: TopicPartition,
    /// A batch of the partition is now sendable by size: the record filled its batch or
    /// started a new one behind a closed one. The Sender should look at `ready`.
    pub batch_full: bool,
    /// The record started a new batch.
    pub new_batch_created: bool,
    /// A timer to arm now (the new batch's linger), if any.
    pub arm: Option<AccumulatorTimer>,
}

/// Where a send went.
#[derive(Debug, Clone, PartialEq, Eq, Hash)]
pub enum AppendOutcome {
    /// Into a batch.
    Appended(AppendResult),
    /// The buffer is full (or earlier sends wait): the send waits for memory. Arm `arm`
    /// (its `max.block.ms`).
    Pending {
        /// The send's max.block timer.
        arm: AccumulatorTimer,
    },
}

/// A waiting send that got memory, or failed, when memory came back.
#[derive(Debug, Clone, PartialEq, Eq, Hash)]
pub struct Admission {
    /// The send; cancel its [`AccumulatorTimer::MaxBlock`].
    pub send: SendId,
    /// Where it went.
    pub result: Result<AppendResult, AppendError>,
}

/// Why a send was refused. None of these sends reached a batch, so each is a definite
/// failure in the history.
#[derive(Debug, Clone, PartialEq, Eq, Hash, thiserror::Error)]
pub enum AppendError {
    /// The record, with a batch header, exceeds `max.request.size`: no request could carry
    /// it (Kafka's RecordTooLargeException).
    #[error("record too large. send={send} size={size} max_request_size={max_request_size}", send = send.0)]
    RecordTooLarge {
        /// The send.
        send: SendId,
        /// Upper bound of its bytes in a batch of its own.
        size: usize,
        /// The limit.
        max_request_size: usize,
    },
    /// The send waited `max.block.ms` for buffer memory and got none (Kafka's
    /// TimeoutException from `send`).
    #[error("buffer memory exhausted. send={send} max_block_ms={max_block_ms}", send = send.0)]
    BufferExhausted {
        /// The send.
        send: SendId,
        /// How long it waited.
        max_block_ms: u64,
    },
    /// The record format refused the record; validated settings keep this from happening.
    #[error("record refused by the batch builder. send={send}: {source}", send = send.0)]
    Record {
        /// The send.
        send: SendId,
        /// What the format said.
        source: RecordError,
    },
}

/// How a drained batch's delivery ended, as the Sender learned it.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum BatchResult {
    /// Acknowledged at `base_offset` (-1 under acks=0).
    Acknowledged {
        /// The offset of the batch's first record.
        base_offset: i64,
        /// The broker's time under LogAppendTime, else `None`.
        log_append_time_ms: Option<i64>,
    },
    /// Failed for good, retries exhausted or not retriable.
    Failed(DeliveryError),
}

/// What completing a batch produced.
#[derive(Debug, Clone, PartialEq, Eq, Hash)]
pub struct Completion {
    /// Every send of the batch, once, with its outcome.
    pub outcomes: Vec<(SendId, SendOutcome)>,
    /// Waiting sends the returned memory admitted.
    pub admitted: Vec<Admission>,
}

/// A send waiting for buffer memory.
#[derive(Debug, Clone, PartialEq, Eq, Hash)]
struct PendingSend {
    send: SendId,
    topic_partition: TopicPartition,
    timestamp: i64,
    record: ProducerRecord,
}

/// The settings the accumulator reads.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
struct Limits {
    batch_size: usize,
    linger_ms: u64,
    buffer_memory: usize,
    max_block_ms: u64,
    retry_backoff_ms: u64,
    max_request_size: usize,
    compression: Compression,
}

/// Batches per partition, the memory they hold, the sends waiting for memory, and the next
/// sequence number per partition. Owns no timer and no clock: see the module docs.
#[derive(Debug, Clone, PartialEq, Eq, Hash)]
pub struct RecordAccumulator {
    limits: Limits,
    queues: BTreeMap<TopicPartition, Vec<ProducerBatch>>,
    /// Sends waiting for memory, in send order.
    pending: Vec<PendingSend>,
    /// Bytes reserved by queued and in-flight batches, at most `buffer.memory`.
    buffer_used_bytes: usize,
    /// Idempotence: the base sequence of each partition's next new batch.
    next_sequences: BTreeMap<TopicPartition, i32>,
}

/// Kafka's `DefaultRecordBatch.incrementSequence`: sequences wrap from `i32::MAX` to 0.
pub fn increment_sequence(sequence: i32, increment: i32) -> i32 {
    debug_assert!(sequence >= 0 && increment >= 0);
    if sequence > i32::MAX - increment {
        increment - (i32::MAX - sequence) - 1
    } else {
        sequence + increment
    }
}

impl RecordAccumulator {
    /// An empty accumulator for a producer with `config`, which must validate.
    pub fn new(config: &ProducerConfig) -> Result<RecordAccumulator, ConfigError> {
        config.validate()?;
        Ok(RecordAccumulator {
            limits: Limits {
                batch_size: config.batch_size,
                linger_ms: config.linger_ms,
                buffer_memory: config.buffer_memory,
                max_block_ms: config.max_block_ms,
                retry_backoff_ms: config.retry_backoff_ms,
                max_request_size: config.max_request_size,
                compression: config.compression_type,
            },
            queues: BTreeMap::new(),
            pending: Vec::new(),
            buffer_used_bytes: 0,
            next_sequences: BTreeMap::new(),
        })
    }

    /// The delay to arm `timer` with: `linger.ms`, `retry.backoff.ms` or `max.block.ms`.
    pub fn timer_delay_ms(&self, timer: &AccumulatorTimer) -> u64 {
        match timer {
            AccumulatorTimer::Linger(_) => self.limits.linger_ms,
            AccumulatorTimer::RetryBackoff(_) => self.limits.retry_backoff_ms,
            AccumulatorTimer::MaxBlock(_) => self.limits.max_block_ms,
        }
    }

    /// Adds `record` (already partitioned to `topic_partition`) for `send`. A record
    /// without a timestamp gets `wall_clock_ms`, the only use of the clock here.
    pub fn append(
        &mut self,
        send: SendId,
        topic_partition: TopicPartition,
        record: ProducerRecord,
        wall_clock_ms: i64,
    ) -> Result<AppendOutcome, AppendError> {
        let size = BATCH_HEADER_BYTES + record_bytes_upper_bound(&record);
        if size > self.limits.max_request_size {
            let max_request_size = self.limits.max_request_size;
            return Err(AppendError::RecordTooLarge {
                send,
                size,
                max_request_size,
            });
        }
        let pending = PendingSend {
            send,
            topic_partition,
            timestamp: record.timestamp.unwrap_or(wall_clock_ms),
            record,
        };
        if !self.pending.is_empty() {
            self.pending.push(pending);
            return Ok(AppendOutcome::Pending {
                arm: AccumulatorTimer::MaxBlock(send),
            });
        }
        match self.try_append(&pending)? {
            Some(result) => Ok(AppendOutcome::Appended(result)),
            None => {
                self.pending.push(pending);
                Ok(AppendOutcome::Pending {
                    arm: AccumulatorTimer::MaxBlock(send),
                })
            }
        }
    }

    /// Appends to the partition's open tail, or to a new batch if memory allows; `None`
    /// when the send must wait for memory.
    fn try_append(&mut self, pending: &PendingSend) -> Result<Option<AppendResult>, AppendError> {
        let limits = self.limits;
        let refused = |source| AppendError::Record {
            send: pending.send,
            source,
        };
        let tp = &pending.topic_partition;
        let queue = self.queues.entry(tp.clone()).or_default();
        let queued = queue.len();
        if let Some(tail) = queue.last_mut() {
            let appended = tail
                .try_append(
                    pending.send,
                    pending.timestamp,
                    &pending.record,
                    limits.batch_size,
                )
                .map_err(refused)?;
            if appended {
                return Ok(Some(AppendResult {
                    topic_partition: tp.clone(),
                    batch_full: queued > 1 || tail.size_bytes() >= limits.batch_size,
                    new_batch_created: false,
                    arm: None,
                }));
            }
        }
        let record_size = BATCH_HEADER_BYTES + record_bytes_upper_bound(&pending.record);
        let reserved_bytes = limits.batch_size.max(record_size);
        if self.buffer_used_bytes + reserved_bytes > limits.buffer_memory {
            return Ok(None);
        }
        let lingered = limits.linger_ms == 0;
        let mut batch =
            ProducerBatch::new(tp.clone(), limits.compression, reserved_bytes, lingered);
        let appended = batch
            .try_append(
                pending.send,
                pending.timestamp,
                &pending.record,
                limits.batch_size,
            )
            .map_err(refused)?;
        assert!(appended, "an empty batch takes any record");
        self.buffer_used_bytes += reserved_bytes;
        let batch_full = !queue.is_empty() || batch.size_bytes() >= limits.batch_size;
        queue.push(batch);
        Ok(Some(AppendResult {
            topic_partition: tp.clone(),
            batch_full,
            new_batch_created: true,
            arm: (!lingered).then(|| AccumulatorTimer::Linger(tp.clone())),
        }))
    }

    /// Admits waiting sends, in order, while memory allows.
    fn admit_pending(&mut self) -> Vec<Admission> {
        let mut admitted = Vec::new();
        while let Some(pending) = self.pending.first().cloned() {
            let result = match self.try_append(&pending) {
                Ok(None) => break,
                Ok(Some(result)) => Ok(result),
                Err(error) => Err(error),
            };
            self.pending.remove(0);
            admitted.push(Admission {
                send: pending.send,
                result,
            });
        }
        admitted
    }

    /// The partitions whose head batch is sendable: full, followed by another batch,
    /// lingered, a sealed retry, or any batch while sends wait for memory (draining frees
    /// memory). A head that backs off is never ready.
    pub fn ready(&self) -> Vec<TopicPartition> {
        let exhausted = !self.pending.is_empty();
        self.queues
            .iter()
            .filter(|(_, queue)| {
                queue.first().is_some_and(|head| {
                    !head.backing_off
                        && (exhausted
                            || queue.len() > 1
                            || head.is_sealed()
                            || head.lingered
                            || head.size_bytes() >= self.limits.batch_size)
                })
            })
            .map(|(tp, _)| tp.clone())
            .collect()
    }

    /// The head batch of every partition in `partitions` that has one and is not backing
    /// off, ready or not (piggybacking), in the given order, one per partition, while their
    /// encoded sizes fit `max_request_size`; the first batch is taken even if it alone
    /// exceeds it. Batches are sealed here: compressed and, with `producer`, stamped with
    /// the partition's next sequence, which a sealed batch keeps for good.
    ///
    /// The Sender passes the partitions led by one broker that it may send to (not muted),
    /// rotating the start between calls for fairness as Kafka's `drainIndex` does. On an
    /// encoding error nothing is drained.
    pub fn drain(
        &mut self,
        partitions: &[TopicPartition],
        max_request_size: usize,
        producer: Option<ProducerIdEpoch>,
    ) -> Result<Vec<(TopicPartition, ProducerBatch)>, RecordError> {
        let mut chosen: Vec<(TopicPartition, Bytes)> = Vec::new();
        let mut request_bytes = 0usize;
        for tp in partitions {
            if chosen.iter().any(|(seen, _)| seen == tp) {
                continue;
            }
            let Some(head) = self.queues.get(tp).and_then(|queue| queue.first()) else {
                continue;
            };
            if head.backing_off {
                continue;
            }
            let encoded = head.encode(producer, self.next_sequence(tp))?;
            if !chosen.is_empty() && request_bytes + encoded.len() > max_request_size {
                break;
            }
            request_bytes += encoded.len();
            chosen.push((tp.clone(), encoded));
        }
        Ok(chosen
            .into_iter()
            .map(|(tp, encoded)| {
                let batch = self.take_head(&tp, producer, encoded);
                (tp, batch)
            })
            .collect())
    }

    fn next_sequence(&self, tp: &TopicPartition) -> i32 {
        self.next_sequences.get(tp).copied().unwrap_or(0)
    }

    /// Removes `tp`'s head, sealing it with `encoded` (and the next sequence) if it was open.
    fn take_head(
        &mut self,
        tp: &TopicPartition,
        producer: Option<ProducerIdEpoch>,
        encoded: Bytes,
    ) -> ProducerBatch {
        let base_sequence = self.next_sequence(tp);
        let queue = self
            .queues
            .get_mut(tp)
            .expect("drained partitions have a queue");
        let mut batch = queue.remove(0);
        if queue.is_empty() {
            self.queues.remove(tp);
        }
        if !batch.is_sealed() {
            batch.seal(producer, base_sequence, encoded);
            if producer.is_some() {
                let count = i32::try_from(batch.record_count()).unwrap_or(i32::MAX);
                let next = increment_sequence(base_sequence, count);
                self.next_sequences.insert(tp.clone(), next);
            }
        }
        batch
    }

    /// Puts a drained batch back for a retry, ahead of every batch not yet sent and, among
    /// retries, in sequence order, so the partition's batches leave again in order. The
    /// batch keeps its bytes and sequence. Arm the returned backoff timer.
    pub fn reenqueue(&mut self, mut batch: ProducerBatch) -> AccumulatorTimer {
        debug_assert!(batch.is_sealed(), "only drained batches are retried");
        let tp = batch.topic_partition().clone();
        batch.backing_off = true;
        batch.retried = batch.retried.saturating_add(1);
        let queue = self.queues.entry(tp.clone()).or_default();
        let position = match batch.base_sequence() {
            Some(sequence) => queue
                .iter()
                .take_while(|queued| {
                    queued
                        .base_sequence()
                        .is_some_and(|queued| queued < sequence)
                })
                .count(),
            None => 0,
        };
        queue.insert(position, batch);
        AccumulatorTimer::RetryBackoff(tp)
    }

    /// Removes the queued batch of `tp` whose first send is `first_send`, when its
    /// `delivery.timeout.ms` expired before it left again. `None` if it is not queued (in
    /// flight, or completed). The caller completes the batch.
    pub fn expire(&mut self, tp: &TopicPartition, first_send: SendId) -> Option<ProducerBatch> {
        let queue = self.queues.get_mut(tp)?;
        let index = queue
            .iter()
            .position(|batch| batch.first_send() == first_send)?;
        let batch = queue.remove(index);
        if queue.is_empty() {
            self.queues.remove(tp);
        }
        Some(batch)
    }

    /// Whether `tp` has a queued sealed batch with a sequence below `sequence`: an earlier
    /// batch waiting for its retry, so a sequence gap behind it is no reason to fail.
    pub fn has_retry_before(&self, tp: &TopicPartition, sequence: i32) -> bool {
        self.batches(tp).iter().any(|batch| {
            batch
                .base_sequence()
                .is_some_and(|queued| queued < sequence)
        })
    }

    /// Gives a sealed batch the partition's next sequence, as if it were new. Only the
    /// `reassign_sequence_on_retry` bug calls this: the broker can then no longer recognise
    /// the retry as a duplicate.
    pub fn reassign_sequence(&mut self, batch: &mut ProducerBatch) -> Result<(), RecordError> {
        let Some(producer) = batch.producer() else {
            return Ok(());
        };
        let tp = batch.topic_partition().clone();
        let sequence = self.next_sequence(&tp);
        batch.restamp(producer, sequence)?;
        let count = i32::try_from(batch.record_count()).unwrap_or(i32::MAX);
        self.next_sequences
            .insert(tp, increment_sequence(sequence, count));
        Ok(())
    }

    /// After an epoch bump: every partition's sequences start again at 0 under `producer`,
    /// and every queued sealed batch is stamped anew, in queue order. The caller waits until
    /// no batch is in flight, so every batch still to be sent is in a queue.
    pub fn reset_producer(&mut self, producer: ProducerIdEpoch) -> Result<(), RecordError> {
        self.next_sequences.clear();
        for (tp, queue) in &mut self.queues {
            let mut sequence = 0;
            for batch in queue.iter_mut().filter(|batch| batch.is_sealed()) {
                batch.restamp(producer, sequence)?;
                let count = i32::try_from(batch.record_count()).unwrap_or(i32::MAX);
                sequence = increment_sequence(sequence, count);
            }
            if sequence > 0 {
                self.next_sequences.insert(tp.clone(), sequence);
            }
        }
        Ok(())
    }

    /// The partitions with at least one queued batch, in order: what a drain may take.
    pub fn queued_partitions(&self) -> Vec<TopicPartition> {
        self.queues.keys().cloned().collect()
    }

    /// `linger.ms` passed for `tp`'s newest batch: it becomes sendable. Returns whether a
    /// batch was waiting on it (a timer that outlived its batch changes nothing).
    pub fn on_linger_expired(&mut self, tp: &TopicPartition) -> bool {
        let Some(tail) = self.queues.get_mut(tp).and_then(|queue| queue.last_mut()) else {
            return false;
        };
        let changed = !tail.is_sealed() && !tail.lingered;
        if changed {
            tail.lingered = true;
        }
        changed
    }

    /// `retry.backoff.ms` passed for `tp`: its retries may be drained again.
    pub fn on_retry_backoff_expired(&mut self, tp: &TopicPartition) -> bool {
        let mut changed = false;
        for batch in self.queues.get_mut(tp).into_iter().flatten() {
            changed |= batch.backing_off;
            batch.backing_off = false;
        }
        changed
    }

    /// `max.block.ms` passed for a waiting `send`: it fails, and sends that waited behind
    /// it may now fit. `None` if the send was admitted already.
    pub fn on_max_block_expired(&mut self, send: SendId) -> (Option<AppendError>, Vec<Admission>) {
        let Some(index) = self.pending.iter().position(|pending| pending.send == send) else {
            return (None, Vec::new());
        };
        self.pending.remove(index);
        let error = AppendError::BufferExhausted {
            send,
            max_block_ms: self.limits.max_block_ms,
        };
        (Some(error), self.admit_pending())
    }

    /// Completes a drained batch: every send gets its outcome exactly once (the batch is
    /// consumed), its memory returns to the buffer, and waiting sends are admitted.
    pub fn complete(&mut self, batch: ProducerBatch, result: BatchResult) -> Completion {
        assert!(
            batch.reserved_bytes() <= self.buffer_used_bytes,
            "batch memory returned twice. partition={} reserved={} used={}",
            batch.topic_partition(),
            batch.reserved_bytes(),
            self.buffer_used_bytes
        );
        self.buffer_used_bytes -= batch.reserved_bytes();
        let outcomes = match result {
            BatchResult::Acknowledged {
                base_offset,
                log_append_time_ms,
            } => batch.acknowledged(base_offset, log_append_time_ms),
            BatchResult::Failed(error) => batch.failed(error),
        };
        Completion {
            outcomes,
            admitted: self.admit_pending(),
        }
    }

    /// Batches queued for `tp`, head first.
    pub fn batches(&self, tp: &TopicPartition) -> &[ProducerBatch] {
        self.queues.get(tp).map_or(&[], Vec::as_slice)
    }

    /// Sends waiting for memory, in send order.
    pub fn pending_sends(&self) -> Vec<SendId> {
        self.pending.iter().map(|pending| pending.send).collect()
    }

    /// `buffer.memory` bytes held by queued and in-flight batches.
    pub fn buffer_used_bytes(&self) -> usize {
        self.buffer_used_bytes
    }
}
