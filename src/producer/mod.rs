//! The producer's pipeline up to the wire: serializers, the partitioner, the
//! RecordAccumulator with compression, and the bookkeeping that completes every send exactly
//! once. The Sender, which talks to brokers, drives these stages.
//!
//! Like every node's parts, these are plain values (`Clone + Eq + Hash + Debug`, ordered maps
//! and vectors) with no IO, no clock and no randomness: time arrives as timer inputs
//! ([`AccumulatorTimer`]), choices through a [`Chooser`](odradek_sim::Chooser), and the
//! wall clock only as a record's timestamp. So the explorer can hash and branch them.
//!
//! The flow of one send: [`RecordSerializer::record`] -> [`Partitioner::partition`] ->
//! [`RecordAccumulator::append`]; later [`RecordAccumulator::drain`] seals batches for a
//! request, [`RecordAccumulator::reenqueue`] takes retries back, and
//! [`RecordAccumulator::complete`] hands each send its [`SendOutcome`]. The [`Sender`] runs
//! that loop against brokers: it owns the accumulator and turns responses, timers and
//! resets into [`Command`](crate::command::Command)s for its node.
//!
//! ```
//! use odradek::producer::*;
//!
//! let config = ProducerConfig::default();
//! let serializer = RecordSerializer { key: StringSerializer, value: StringSerializer };
//! let record = serializer.record("orders", Some("k1"), Some("tea")).unwrap();
//! let mut partitioner = Partitioner::new(config.partitioner, config.batch_size);
//! let mut chooser = |_: usize| 0; // the node passes its Ctx's chooser
//! let partition = partitioner.partition(&record, 3, &mut chooser).unwrap();
//!
//! let mut accumulator = RecordAccumulator::new(&config).unwrap();
//! let tp = TopicPartition::new("orders", partition);
//! accumulator.append(SendId(1), tp.clone(), record, 1_700_000_000_000).unwrap();
//! assert_eq!(accumulator.ready(), [tp.clone()]); // linger.ms = 0
//!
//! let producer = ProducerIdEpoch { producer_id: 4, producer_epoch: 0 };
//! let mut drained = accumulator.drain(&[tp], config.max_request_size, Some(producer)).unwrap();
//! let (_, batch) = drained.remove(0);
//! assert_eq!(batch.base_sequence(), Some(0));
//! let done = accumulator.complete(
//!     batch,
//!     BatchResult::Acknowledged { base_offset: 41, log_append_time_ms: None },
//! );
//! match &done.outcomes[..] {
//!     [(SendId(1), SendOutcome::Ok(metadata))] => assert_eq!(metadata.offset, 41),
//!     other => panic!("{other:?}"),
//! }
//! ```

mod accumulator;
mod batch;
mod config;
mod murmur2;
mod outcome;
mod partitioner;
mod sender;
mod serializer;
mod topic_partition;

pub use accumulator::{
    increment_sequence, AccumulatorTimer, Admission, AppendError, AppendOutcome, AppendResult,
    BatchResult, Completion, RecordAccumulator,
};
pub use batch::{ProducerBatch, ProducerIdEpoch, RecordSend, SendId};
pub use config::{
    Acks, ConfigError, PartitionerKind, ProducerConfig, BATCH_SIZE_DEFAULT, BUFFER_MEMORY_DEFAULT,
    IDEMPOTENT_IN_FLIGHT_MAX, MAX_REQUEST_SIZE_DEFAULT,
};
pub use murmur2::{murmur2, to_positive};
pub use outcome::{classify, DeliveryError, FailureKind, RecordMetadata, SendOutcome};
pub use partitioner::{partition_for_key, PartitionError, Partitioner};
pub use sender::{RequestKey, Sender, SenderCommand, SenderTimer};
pub use serializer::{
    BytesSerializer, JsonSerializer, RecordSerializeError, RecordSerializer, SerializeError,
    Serializer, StringSerializer,
};
pub use topic_partition::TopicPartition;
