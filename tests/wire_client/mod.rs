//! The requests the real-mode tests send and what they read back, shared by the test that
//! runs `odradek serve` as processes (`tests/serve.rs`) and the one that runs its shell
//! under madsim (`tests/serve_madsim.rs`); each does its own I/O.

use bytes::Bytes;
use odradek::record::{BatchBuilder, BatchOptions, RecordBatch};
use odradek::wire::request::*;

/// The topic every real-mode test writes.
pub const TOPIC: &str = "orders";

/// Metadata v8 for [`TOPIC`], never creating it.
pub fn metadata_request() -> Request {
    Request::Metadata(MetadataRequest {
        topics: Some(vec![TOPIC.into()]),
        allow_auto_topic_creation: false,
    })
}

/// An idempotent producer's one-record batch: `value` as sequence `sequence`.
pub fn one_record_batch(value: &str, (id, epoch): (i64, i16), sequence: i32) -> Bytes {
    let mut builder = BatchBuilder::new(BatchOptions {
        producer_id: id,
        producer_epoch: epoch,
        base_sequence: sequence,
        ..BatchOptions::default()
    });
    let value = Some(Bytes::from(value.to_owned()));
    builder.append(0, None, value, Vec::new()).unwrap();
    builder.build().unwrap().encode().unwrap()
}

/// A produce of `records` to `partition` of [`TOPIC`] with `acks`.
pub fn produce_request(partition: i32, records: Bytes, acks: i16) -> Request {
    Request::Produce(ProduceRequest {
        transactional_id: None,
        acks,
        timeout_ms: 5000,
        topics: vec![Topic {
            name: TOPIC.into(),
            partitions: vec![ProducePartition {
                partition,
                records: Some(records),
            }],
        }],
    })
}

/// A consumer's fetch of `partition` of [`TOPIC`] from `offset`.
pub fn fetch_request(partition: i32, offset: i64) -> Request {
    Request::Fetch(FetchRequest {
        replica_id: -1,
        max_wait_ms: 100,
        min_bytes: 1,
        max_bytes: 1 << 20,
        isolation_level: 0,
        session_id: 0,
        session_epoch: -1,
        topics: vec![Topic {
            name: TOPIC.into(),
            partitions: vec![FetchPartition {
                partition,
                current_leader_epoch: -1,
                fetch_offset: offset,
                log_start_offset: -1,
                partition_max_bytes: 1 << 20,
            }],
        }],
        forgotten: Vec::new(),
        rack_id: String::new(),
    })
}

/// Appends every record of the fetched `records` to `out` as (offset, value); returns the
/// offset after the last batch, or `offset` when there was none.
pub fn read_records(mut records: Bytes, offset: i64, out: &mut Vec<(i64, String)>) -> i64 {
    let mut next = offset;
    while !records.is_empty() {
        let (batch, used) = RecordBatch::decode(&records).expect("a whole batch");
        for record in &batch.records {
            let value = record.value.clone().expect("a value");
            let value = String::from_utf8(value.to_vec()).expect("UTF-8");
            out.push((batch.record_offset(record), value));
        }
        next = batch.next_offset();
        records = records.slice(used..);
    }
    next
}
