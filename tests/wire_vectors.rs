//! The wire codec against kafka-python 3.0.12, which generates its codec from Kafka's own
//! message schemas: every request and response of every advertised version, as
//! `scripts/wire_vectors.py` had kafka-python encode them. Each request decodes to the
//! values the script put in (or a version's defaults) and encodes back to the same bytes;
//! each response decodes and our encoder writes the same bytes.

use bytes::Bytes;
use odradek::wire::request::Topic;
use odradek::wire::response::decode_response;
use odradek::wire::{decode_request, encode_response, framed, ApiKey, Request};

#[derive(serde::Deserialize)]
struct Vector {
    api: String,
    version: i16,
    request: String,
    response: String,
}

fn vectors() -> Vec<Vector> {
    serde_json::from_str(include_str!("wire_vectors.json")).expect("valid vectors")
}

fn unhex(hex: &str) -> Vec<u8> {
    (0..hex.len())
        .step_by(2)
        .map(|i| u8::from_str_radix(&hex[i..i + 2], 16).expect("hex"))
        .collect()
}

fn api(name: &str) -> ApiKey {
    (ApiKey::ALL.into_iter())
        .find(|api| api.name() == name)
        .expect("an API served")
}

fn topic<P>(partitions: Vec<P>) -> Vec<Topic<P>> {
    vec![Topic {
        name: "orders".into(),
        partitions,
    }]
}

/// What the script put in each request, with the defaults of the fields `v` lacks.
fn expected(api: ApiKey, v: i16) -> Request {
    use odradek::wire::request::*;
    let records: Vec<u8> = (0..61).collect();
    match api {
        ApiKey::ApiVersions => Request::ApiVersions,
        ApiKey::Metadata => Request::Metadata(MetadataRequest {
            topics: Some(vec!["orders".into()]),
            allow_auto_topic_creation: v < 4,
        }),
        ApiKey::Produce => Request::Produce(ProduceRequest {
            transactional_id: None,
            acks: -1,
            timeout_ms: 1500,
            topics: topic(vec![
                ProducePartition {
                    partition: 2,
                    records: Some(Bytes::from(records)),
                },
                ProducePartition {
                    partition: 5,
                    records: None,
                },
            ]),
        }),
        ApiKey::Fetch => Request::Fetch(FetchRequest {
            replica_id: -1,
            max_wait_ms: 500,
            min_bytes: 1,
            max_bytes: 52_428_800,
            isolation_level: 1,
            session_id: 0,
            session_epoch: -1,
            topics: topic(vec![FetchPartition {
                partition: 4,
                current_leader_epoch: if v >= 9 { 9 } else { -1 },
                fetch_offset: 1234,
                log_start_offset: -1,
                partition_max_bytes: 1_048_576,
            }]),
            forgotten: Vec::new(),
            rack_id: if v >= 11 { "r1".into() } else { String::new() },
        }),
        ApiKey::ListOffsets => Request::ListOffsets(ListOffsetsRequest {
            replica_id: -1,
            isolation_level: if v >= 2 { 1 } else { 0 },
            topics: topic(vec![ListOffsetsPartition {
                partition: 6,
                current_leader_epoch: if v >= 4 { 3 } else { -1 },
                timestamp: -2,
            }]),
        }),
        ApiKey::InitProducerId => Request::InitProducerId(InitProducerIdRequest {
            transactional_id: None,
            transaction_timeout_ms: 60_000,
        }),
        ApiKey::OffsetForLeaderEpoch => {
            Request::OffsetForLeaderEpoch(OffsetForLeaderEpochRequest {
                replica_id: if v >= 3 { -1 } else { -2 },
                topics: topic(vec![EpochPartition {
                    partition: 1,
                    current_leader_epoch: 8,
                    leader_epoch: 6,
                }]),
            })
        }
        ApiKey::FindCoordinator => Request::FindCoordinator(FindCoordinatorRequest {
            key: "group-a".into(),
            key_type: 0,
        }),
        ApiKey::OffsetCommit => Request::OffsetCommit(OffsetCommitRequest {
            group_id: "group-a".into(),
            generation_id: -1,
            member_id: String::new(),
            group_instance_id: None,
            topics: topic(vec![CommitPartition {
                partition: 2,
                offset: 321,
                leader_epoch: if v >= 6 { 4 } else { -1 },
                metadata: Some("m".into()),
            }]),
        }),
        ApiKey::OffsetFetch => Request::OffsetFetch(OffsetFetchRequest {
            group_id: "group-a".into(),
            topics: Some(topic(vec![2, 3])),
        }),
    }
}

#[test]
fn every_advertised_version_of_every_api_has_a_vector() {
    let vectors = vectors();
    for api in ApiKey::ALL {
        let (min, max) = api.versions();
        for v in min..=max {
            assert!(
                vectors
                    .iter()
                    .any(|x| x.api == api.name() && x.version == v),
                "{} v{v} has no vector",
                api.name()
            );
        }
    }
}

#[test]
fn requests_kafka_python_encodes_decode_to_their_values_and_encode_back() {
    for vector in vectors() {
        let api = api(&vector.api);
        let bytes = unhex(&vector.request);
        let (header, request) = decode_request(Bytes::from(bytes.clone()))
            .unwrap_or_else(|e| panic!("{} v{}: {e}", vector.api, vector.version));
        assert_eq!((header.api, header.version), (api, vector.version));
        assert_eq!(header.correlation_id, 100 + i32::from(vector.version));
        assert_eq!(header.client_id.as_deref(), Some("vectors"));
        assert_eq!(
            request,
            expected(api, vector.version),
            "{} v{}",
            vector.api,
            vector.version
        );
        assert_eq!(
            request.encode(&header),
            framed(&bytes),
            "{} v{} re-encoded",
            vector.api,
            vector.version
        );
    }
}

#[test]
fn responses_encode_as_kafka_python_encodes_them() {
    for vector in vectors() {
        let api = api(&vector.api);
        let bytes = unhex(&vector.response);
        let (correlation_id, response) =
            decode_response(api, vector.version, Bytes::from(bytes.clone()))
                .unwrap_or_else(|e| panic!("{} v{}: {e}", vector.api, vector.version));
        assert_eq!(correlation_id, 100 + i32::from(vector.version));
        assert_eq!(
            encode_response(vector.version, correlation_id, &response),
            framed(&bytes),
            "{} v{}: {response:?}",
            vector.api,
            vector.version
        );
    }
}

#[test]
fn responses_kafka_python_encodes_decode_to_their_values() {
    use odradek::wire::Response;
    for vector in vectors() {
        let (api, v) = (api(&vector.api), vector.version);
        let bytes = Bytes::from(unhex(&vector.response));
        let (_, response) = decode_response(api, v, bytes).expect("decodes");
        match response {
            Response::Metadata(m) => {
                let ports: Vec<i32> = m.brokers.iter().map(|b| b.port).collect();
                assert_eq!(ports, [9092, 9093]);
                let p = &m.topics[0].partitions[0];
                assert_eq!((p.error_code, p.partition, p.leader_id), (5, 3, 2));
                assert_eq!(
                    (p.replicas.as_slice(), p.isr.as_slice()),
                    (&[2, 1][..], &[2][..])
                );
                assert_eq!(p.leader_epoch, if v >= 7 { 7 } else { -1 });
                assert_eq!(p.offline_replicas, if v >= 5 { vec![1] } else { vec![] });
                assert_eq!(m.controller_id, -1);
            }
            Response::Produce(topics) => {
                assert_eq!(first(&topics), 1);
                let p = &topics[0].partitions[0];
                assert_eq!((p.partition, p.base_offset), (2, 4242));
                assert_eq!(p.log_start_offset, if v >= 5 { 17 } else { -1 });
            }
            Response::Fetch(f) => {
                assert_eq!(first(&f.topics), 1);
                let p = &f.topics[0].partitions[0];
                assert_eq!(
                    (p.partition, p.high_watermark, p.last_stable_offset),
                    (4, 2000, 1990)
                );
                assert_eq!(p.log_start_offset, if v >= 5 { 11 } else { -1 });
                assert_eq!(p.records.as_deref().map(<[u8]>::len), Some(61));
            }
            Response::ListOffsets(topics) => {
                assert_eq!(first(&topics), 1);
                let p = &topics[0].partitions[0];
                assert_eq!((p.partition, p.offset), (6, 77));
                assert_eq!(p.leader_epoch, if v >= 4 { 3 } else { -1 });
            }
            Response::InitProducerId {
                producer_id,
                producer_epoch,
                ..
            } => {
                assert_eq!((producer_id, producer_epoch), (8001, 2));
            }
            Response::OffsetForLeaderEpoch(topics) => {
                assert_eq!(first(&topics), 1);
                let p = &topics[0].partitions[0];
                assert_eq!((p.partition, p.leader_epoch, p.end_offset), (1, 6, 999));
            }
            Response::FindCoordinator { node_id, port, .. } => {
                assert_eq!((node_id, port), (2, 9093));
            }
            Response::OffsetCommit(topics) => assert_eq!(topics[0].partitions, [(2, 0)]),
            Response::OffsetFetch { topics, .. } => {
                let p = &topics[0].partitions[0];
                assert_eq!(
                    (p.partition, p.offset, p.metadata.as_deref()),
                    (2, 321, Some("m"))
                );
                assert_eq!(p.leader_epoch, if v >= 5 { 4 } else { -1 });
            }
            Response::ApiVersions { apis, .. } => assert_eq!(apis, [(0, 3, 8), (18, 0, 2)]),
        }
    }
}

/// The partitions of the one topic, "orders", every vector holds.
fn first<P>(topics: &[Topic<P>]) -> usize {
    assert_eq!(topics.len(), 1);
    assert_eq!(topics[0].name, "orders");
    topics[0].partitions.len()
}
