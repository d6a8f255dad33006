//! The partitioner: Kafka's murmur2 vectors, explicit partitions validated, keys hashed,
//! round robin per topic, and the sticky partitioner's switch after `batch.size` bytes.

use bytes::Bytes;
use odradek::producer::{
    murmur2, partition_for_key, to_positive, PartitionError, Partitioner, PartitionerKind,
};
use odradek::record::ProducerRecord;
use proptest::prelude::*;

const CASES: u32 = 256;

fn keyless(topic: &str, value_bytes: usize) -> ProducerRecord {
    ProducerRecord::new(topic, None, Some(Bytes::from(vec![7; value_bytes])))
}

/// Bytes of a keyless, headerless record with a `value_bytes` value and the widest deltas:
/// attributes, a 10-byte timestamp delta, a 5-byte offset delta, key length -1, the value
/// with its length, no headers, and the length prefix.
fn keyless_upper_bound(value_bytes: usize) -> usize {
    let varint_len = |n: usize| {
        if n < 64 {
            1
        } else if n < 8192 {
            2
        } else {
            3
        }
    };
    let body = 1 + 10 + 5 + 1 + varint_len(value_bytes) + value_bytes + 1;
    varint_len(body) + body
}

/// A chooser that must not be asked.
fn never(n: usize) -> usize {
    panic!("unexpected choose({n})")
}

#[test]
fn murmur2_matches_every_kafka_vector() {
    let vectors: [(&str, i32, i32); 7] = [
        ("21", -973932308, 1173551340),
        ("foobar", -790332482, 1357151166),
        ("a-little-bit-long-string", -985981536, 1161502112),
        ("a-little-bit-longer-string", -1486304829, 661178819),
        (
            "lkjh234lh9fiuh90y23oiuhsafujhadof229phr9h19h89h8",
            -58897971,
            2088585677,
        ),
        ("abc", 479470107, 479470107),
        ("", 275646681, 275646681),
    ];
    for (key, hash, positive) in vectors {
        assert_eq!(murmur2(key.as_bytes()), hash, "key={key:?}");
        assert_eq!(to_positive(hash), positive, "key={key:?}");
        for partitions in [1, 3, 7, 100] {
            assert_eq!(
                partition_for_key(key.as_bytes(), partitions),
                positive % partitions,
                "key={key:?} partitions={partitions}"
            );
        }
    }
}

#[test]
fn keyed_records_go_where_kafka_sends_them() {
    let mut partitioner = Partitioner::new(PartitionerKind::Sticky, 16_384);
    let record = ProducerRecord::new("t", Some(Bytes::from_static(b"foobar")), None);
    // toPositive(murmur2("foobar")) = 1357151166: % 5 == 1, % 6 == 0.
    assert_eq!(partitioner.partition(&record, 5, &mut never), Ok(1));
    assert_eq!(partitioner.partition(&record, 6, &mut never), Ok(0));
}

#[test]
fn explicit_partition_wins_and_is_validated() {
    let mut partitioner = Partitioner::new(PartitionerKind::RoundRobin, 16_384);
    let mut record = ProducerRecord::new("t", Some(Bytes::from_static(b"21")), None);
    record.partition = Some(2);
    assert_eq!(partitioner.partition(&record, 3, &mut never), Ok(2));
    record.partition = Some(3);
    let error = partitioner
        .partition(&record, 3, &mut never)
        .expect_err("out of range");
    assert_eq!(
        error,
        PartitionError::InvalidPartition {
            topic: "t".into(),
            partition: 3,
            partitions: 3
        }
    );
    assert_eq!(
        error.to_string(),
        "invalid partition given with record. topic=t partition=3 partitions=3"
    );
    record.partition = Some(-1);
    assert!(partitioner.partition(&record, 3, &mut never).is_err());
    assert_eq!(
        partitioner.partition(&keyless("t", 1), 0, &mut never),
        Err(PartitionError::NoPartitions {
            topic: "t".into(),
            partitions: 0
        })
    );
}

#[test]
fn round_robin_cycles_each_topic_independently() {
    let mut partitioner = Partitioner::new(PartitionerKind::RoundRobin, 16_384);
    let mut next = |topic| {
        partitioner
            .partition(&keyless(topic, 10), 3, &mut never)
            .expect("partition")
    };
    let seen: Vec<i32> = ["a", "a", "b", "a", "a", "b", "b"]
        .into_iter()
        .map(&mut next)
        .collect();
    assert_eq!(seen, [0, 1, 0, 2, 0, 1, 2]);
}

#[test]
fn round_robin_stays_in_range_when_partitions_shrink() {
    let mut partitioner = Partitioner::new(PartitionerKind::RoundRobin, 16_384);
    for _ in 0..4 {
        partitioner
            .partition(&keyless("t", 1), 5, &mut never)
            .expect("partition");
    }
    // The cursor is at 4; with 2 partitions it continues at 4 % 2 == 0.
    let seen: Vec<i32> = (0..3)
        .map(|_| {
            partitioner
                .partition(&keyless("t", 1), 2, &mut never)
                .expect("partition")
        })
        .collect();
    assert_eq!(seen, [0, 1, 0]);
}

#[test]
fn sticky_sticks_until_batch_size_bytes_then_asks_the_chooser() {
    // A keyless record with a 100-byte value takes 100 + 22 bytes at most.
    let mut partitioner = Partitioner::new(PartitionerKind::Sticky, 1_000);
    let mut asked = Vec::new();
    let mut answers = [2usize, 4, 1].into_iter();
    let mut chooser = |n: usize| {
        asked.push(n);
        answers.next().expect("answer")
    };
    let seen: Vec<i32> = (0..20)
        .map(|_| {
            partitioner
                .partition(&keyless("t", 100), 5, &mut chooser)
                .expect("partition")
        })
        .collect();
    // 9 records (9 * 122 = 1098 bytes) reach batch.size; the 10th switches.
    let mut expected = vec![2; 9];
    expected.extend([4; 9]);
    expected.extend([1; 2]);
    assert_eq!(seen, expected);
    assert_eq!(asked, [5, 5, 5]);
}

#[test]
fn sticky_never_asks_with_one_partition() {
    let mut partitioner = Partitioner::new(PartitionerKind::Sticky, 0);
    for _ in 0..10 {
        assert_eq!(
            partitioner.partition(&keyless("t", 3), 1, &mut never),
            Ok(0)
        );
    }
}

proptest! {
    #![proptest_config(ProptestConfig::with_cases(CASES))]

    #[test]
    fn round_robin_spreads_keyless_records_evenly(partitions in 1i32..12, records in 0usize..200) {
        let mut partitioner = Partitioner::new(PartitionerKind::RoundRobin, 16_384);
        let mut counts = vec![0usize; partitions as usize];
        for _ in 0..records {
            let partition = partitioner.partition(&keyless("t", 5), partitions, &mut never).unwrap();
            counts[partition as usize] += 1;
        }
        let max = counts.iter().max().copied().unwrap_or(0);
        let min = counts.iter().min().copied().unwrap_or(0);
        prop_assert!(max - min <= 1, "counts={counts:?}");
        prop_assert_eq!(counts.iter().sum::<usize>(), records);
    }

    #[test]
    fn keyed_partition_is_stable_and_in_range(
        key in proptest::collection::vec(any::<u8>(), 0..64),
        partitions in 1i32..1000,
        kind in prop_oneof![Just(PartitionerKind::RoundRobin), Just(PartitionerKind::Sticky)],
    ) {
        let mut partitioner = Partitioner::new(kind, 100);
        let record = ProducerRecord::new("t", Some(Bytes::from(key.clone())), None);
        let first = partitioner.partition(&record, partitions, &mut never).unwrap();
        prop_assert!((0..partitions).contains(&first));
        prop_assert_eq!(first, to_positive(murmur2(&key)) % partitions);
        prop_assert_eq!(partitioner.partition(&record, partitions, &mut never).unwrap(), first);
    }

    #[test]
    fn sticky_switches_only_after_batch_size_bytes(
        batch_size in 0usize..2_000,
        sizes in proptest::collection::vec(0usize..300, 1..100),
        answers in proptest::collection::vec(any::<usize>(), 100),
        partitions in 1i32..8,
    ) {
        let mut partitioner = Partitioner::new(PartitionerKind::Sticky, batch_size);
        let mut answers = answers.into_iter();
        let mut switches = 0usize;
        let mut current = None;
        let mut produced = 0usize;
        for size in sizes {
            let mut asked = false;
            let mut chooser = |n: usize| { asked = true; answers.next().unwrap() % n };
            let record = keyless("t", size);
            let partition = partitioner.partition(&record, partitions, &mut chooser).unwrap();
            prop_assert!((0..partitions).contains(&partition));
            let due = current.is_none() || produced >= batch_size;
            if partitions > 1 {
                prop_assert_eq!(asked, due, "produced={} batch_size={}", produced, batch_size);
            }
            if due {
                switches += 1;
                produced = 0;
            } else {
                prop_assert_eq!(Some(partition), current);
            }
            current = Some(partition);
            produced += keyless_upper_bound(size);
        }
        prop_assert!(switches >= 1);
    }
}
