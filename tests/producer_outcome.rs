//! Completion classification (DESIGN's definite/indeterminate table), the producer's
//! config defaults and validation, and the serializers.

use bytes::Bytes;
use odradek::producer::{
    classify, Acks, BytesSerializer, ConfigError, DeliveryError, FailureKind, JsonSerializer,
    PartitionerKind, ProducerConfig, RecordSerializeError, RecordSerializer, SendOutcome,
    SerializeError, Serializer, StringSerializer,
};
use odradek::record::Compression;
use proptest::prelude::*;

const CASES: u32 = 256;

const ALL_ERRORS: [DeliveryError; 7] = [
    DeliveryError::NotEnoughReplicas,
    DeliveryError::NotLeaderOrFollower,
    DeliveryError::OutOfOrderSequenceNumber,
    DeliveryError::ExpiredUnsent,
    DeliveryError::RequestTimedOut,
    DeliveryError::ConnectionReset,
    DeliveryError::NotEnoughReplicasAfterAppend,
];

#[test]
fn failures_classify_exactly_as_design_says() {
    use DeliveryError::*;
    use FailureKind::*;
    let table = [
        (NotEnoughReplicas, Definite),
        (NotLeaderOrFollower, Definite),
        (OutOfOrderSequenceNumber, Definite),
        (ExpiredUnsent, Definite),
        (RequestTimedOut, Indeterminate),
        (ConnectionReset, Indeterminate),
        (NotEnoughReplicasAfterAppend, Indeterminate),
    ];
    for (error, kind) in table {
        assert_eq!(classify(false, error), kind, "error={error}");
        assert_eq!(
            classify(true, error),
            Indeterminate,
            "an earlier unknown attempt taints error={error}"
        );
    }
    assert_eq!(
        SendOutcome::failed(false, ExpiredUnsent),
        SendOutcome::DefinitelyFailed(ExpiredUnsent)
    );
    assert_eq!(
        SendOutcome::failed(true, ExpiredUnsent),
        SendOutcome::Indeterminate(ExpiredUnsent)
    );
}

proptest! {
    #![proptest_config(ProptestConfig::with_cases(CASES))]

    /// Over any attempt history, a failure is definite exactly when neither an earlier
    /// attempt nor the final error left the outcome unknown.
    #[test]
    fn a_failure_is_definite_only_when_no_attempt_may_have_appended(
        history in proptest::collection::vec(proptest::sample::select(ALL_ERRORS.to_vec()), 0..8),
        last in proptest::sample::select(ALL_ERRORS.to_vec()),
    ) {
        let earlier = history.iter().any(|error| error.outcome_unknown());
        let kind = classify(earlier, last);
        let unknown = history.iter().chain([&last]).any(|error| {
            matches!(error, DeliveryError::RequestTimedOut | DeliveryError::ConnectionReset
                | DeliveryError::NotEnoughReplicasAfterAppend)
        });
        prop_assert_eq!(kind == FailureKind::Definite, !unknown);
    }
}

#[test]
fn defaults_are_kafkas() {
    let config = ProducerConfig::default();
    assert_eq!(config.acks, Acks::All);
    assert!(config.enable_idempotence);
    assert_eq!(config.retries, 2_147_483_647);
    assert_eq!(config.batch_size, 16_384);
    assert_eq!(config.linger_ms, 0);
    assert_eq!(config.buffer_memory, 33_554_432);
    assert_eq!(config.max_block_ms, 60_000);
    assert_eq!(config.delivery_timeout_ms, 120_000);
    assert_eq!(config.request_timeout_ms, 30_000);
    assert_eq!(config.retry_backoff_ms, 100);
    assert_eq!(config.max_request_size, 1_048_576);
    assert_eq!(config.max_in_flight_requests_per_connection, 5);
    assert_eq!(config.compression_type, Compression::None);
    assert_eq!(config.partitioner, PartitionerKind::RoundRobin);
    assert_eq!(config.bugs, odradek::bugs::Bugs::default());
    assert_eq!(config.validate(), Ok(()));
}

#[test]
fn idempotence_refuses_weaker_settings_with_a_typed_error() {
    let base = ProducerConfig::default();
    let acks_one = ProducerConfig {
        acks: Acks::Leader,
        ..base.clone()
    };
    let error = acks_one.validate().expect_err("acks=1");
    assert_eq!(
        error.to_string(),
        "idempotence requires acks=all. field=acks value=1"
    );
    let six_in_flight = ProducerConfig {
        max_in_flight_requests_per_connection: 6,
        ..base.clone()
    };
    assert!(matches!(
        six_in_flight.validate(),
        Err(ConfigError::Idempotence {
            field: "max_in_flight_requests_per_connection",
            value: 6,
            ..
        })
    ));
    let no_retries = ProducerConfig {
        retries: 0,
        ..base.clone()
    };
    assert!(matches!(
        no_retries.validate(),
        Err(ConfigError::Idempotence {
            field: "retries",
            ..
        })
    ));
    let plain = ProducerConfig {
        enable_idempotence: false,
        acks: Acks::None,
        retries: 0,
        max_in_flight_requests_per_connection: 10,
        ..base.clone()
    };
    assert_eq!(
        plain.validate(),
        Ok(()),
        "without idempotence all are allowed"
    );
    let short_delivery = ProducerConfig {
        delivery_timeout_ms: 1_000,
        ..base
    };
    assert!(matches!(
        short_delivery.validate(),
        Err(ConfigError::Invalid {
            field: "delivery_timeout_ms",
            ..
        })
    ));
}

#[derive(serde::Serialize)]
struct Order {
    id: u32,
    item: &'static str,
}

#[test]
fn serializers_give_bytes_utf8_and_json() {
    assert_eq!(
        Serializer::<[u8]>::serialize(&BytesSerializer, "t", b"\x00\xff"),
        Ok(Bytes::from_static(b"\x00\xff"))
    );
    assert_eq!(
        StringSerializer.serialize("t", "héllo"),
        Ok(Bytes::from("héllo"))
    );
    assert_eq!(
        JsonSerializer.serialize("t", &Order { id: 3, item: "tea" }),
        Ok(Bytes::from_static(br#"{"id":3,"item":"tea"}"#))
    );
    let both = RecordSerializer {
        key: StringSerializer,
        value: JsonSerializer,
    };
    let record = both
        .record("orders", Some("k"), Some(&Order { id: 1, item: "x" }))
        .expect("serialize");
    assert_eq!(record.topic, "orders");
    assert_eq!(record.key, Some(Bytes::from_static(b"k")));
    assert_eq!(
        record.value,
        Some(Bytes::from_static(br#"{"id":1,"item":"x"}"#))
    );
    let tombstone = both
        .record::<str, Order>("orders", Some("k"), None)
        .expect("serialize");
    assert_eq!(tombstone.value, None, "a null value stays null");
}

#[test]
fn json_that_cannot_be_written_is_a_typed_error() {
    let mut map = std::collections::BTreeMap::new();
    map.insert(vec![1u8], 2u8);
    let both = RecordSerializer {
        key: JsonSerializer,
        value: JsonSerializer,
    };
    let error = both
        .record("t", Some(&map), Some(&1))
        .expect_err("map keys must be strings");
    match &error {
        RecordSerializeError::Key(SerializeError::Json { topic, .. }) => assert_eq!(topic, "t"),
        other => panic!("{other:?}"),
    }
    assert!(
        error
            .to_string()
            .starts_with("key: json serialization failed. topic=t: "),
        "{error}"
    );
}
