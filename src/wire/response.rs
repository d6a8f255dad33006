//! Responses, encoded at the version of the request they answer (header v0: the
//! correlation id alone), and decoded again for the project's own clients and tests.

use bytes::Bytes;

use super::codec::{Reader, WireError, Writer};
use super::request::{read_topics, write_topics, Topic};
use super::{ApiKey, UNSUPPORTED_VERSION};

/// A response this broker sends.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Response {
    /// ApiVersions: the error (UNSUPPORTED_VERSION for a version above 2, answered at
    /// v0 as Kafka does) and the versions of every API served.
    ApiVersions {
        /// The error code.
        error_code: i16,
        /// (key, min, max) of each API.
        apis: Vec<(i16, i16, i16)>,
    },
    /// Metadata.
    Metadata(MetadataResponse),
    /// Produce.
    Produce(Vec<Topic<ProducePartitionResponse>>),
    /// Fetch.
    Fetch(FetchResponse),
    /// ListOffsets.
    ListOffsets(Vec<Topic<ListOffsetsPartitionResponse>>),
    /// InitProducerId.
    InitProducerId {
        /// The error code.
        error_code: i16,
        /// The producer id.
        producer_id: i64,
        /// Its epoch.
        producer_epoch: i16,
    },
    /// OffsetForLeaderEpoch.
    OffsetForLeaderEpoch(Vec<Topic<EpochEndOffset>>),
    /// FindCoordinator.
    FindCoordinator {
        /// The error code.
        error_code: i16,
        /// The coordinator's broker id.
        node_id: i32,
        /// Its host.
        host: String,
        /// Its port.
        port: i32,
    },
    /// OffsetCommit: an error code per partition.
    OffsetCommit(Vec<Topic<(i32, i16)>>),
    /// OffsetFetch.
    OffsetFetch {
        /// Committed offsets.
        topics: Vec<Topic<OffsetFetchPartition>>,
        /// Group-level error (v2+).
        error_code: i16,
    },
}

/// A broker's address in Metadata.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct BrokerAddress {
    /// The broker id.
    pub node_id: i32,
    /// Host clients connect to.
    pub host: String,
    /// Port clients connect to.
    pub port: i32,
}

/// Metadata.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct MetadataResponse {
    /// Every live broker.
    pub brokers: Vec<BrokerAddress>,
    /// The cluster's id (v2+).
    pub cluster_id: Option<String>,
    /// The controller's broker id, -1 when none is a broker (v1+).
    pub controller_id: i32,
    /// The topics asked for.
    pub topics: Vec<MetadataTopic>,
}

/// One topic in Metadata.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct MetadataTopic {
    /// The error code (UNKNOWN_TOPIC_OR_PARTITION, LEADER_NOT_AVAILABLE while created).
    pub error_code: i16,
    /// The topic.
    pub name: String,
    /// Its partitions.
    pub partitions: Vec<MetadataPartition>,
}

/// One partition in Metadata.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct MetadataPartition {
    /// The error code (LEADER_NOT_AVAILABLE without a leader).
    pub error_code: i16,
    /// The partition.
    pub partition: i32,
    /// The leader's broker id, -1 for none.
    pub leader_id: i32,
    /// The leader epoch (v7+).
    pub leader_epoch: i32,
    /// Every replica.
    pub replicas: Vec<i32>,
    /// The in-sync replicas.
    pub isr: Vec<i32>,
    /// Replicas whose log is offline (v5+).
    pub offline_replicas: Vec<i32>,
}

/// One partition of a produce response.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ProducePartitionResponse {
    /// The partition.
    pub partition: i32,
    /// The error code.
    pub error_code: i16,
    /// Offset of the first record appended.
    pub base_offset: i64,
    /// -1: the broker keeps the producer's timestamps (CreateTime).
    pub log_append_time_ms: i64,
    /// The log's start offset (v5+).
    pub log_start_offset: i64,
}

/// Fetch.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct FetchResponse {
    /// Top-level error (v7+).
    pub error_code: i16,
    /// The fetch session, 0 for none (v7+).
    pub session_id: i32,
    /// Per partition.
    pub topics: Vec<Topic<FetchPartitionResponse>>,
}

/// One partition of a fetch response.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct FetchPartitionResponse {
    /// The partition.
    pub partition: i32,
    /// The error code.
    pub error_code: i16,
    /// The high watermark.
    pub high_watermark: i64,
    /// The last stable offset (the high watermark without transactions).
    pub last_stable_offset: i64,
    /// The log's start offset (v5+).
    pub log_start_offset: i64,
    /// Record batches.
    pub records: Option<Bytes>,
}

/// One partition of a ListOffsets response.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ListOffsetsPartitionResponse {
    /// The partition.
    pub partition: i32,
    /// The error code.
    pub error_code: i16,
    /// Timestamp of the offset found, -1 for earliest and latest.
    pub timestamp: i64,
    /// The offset.
    pub offset: i64,
    /// Leader epoch of the offset (v4+).
    pub leader_epoch: i32,
}

/// One partition of an OffsetForLeaderEpoch response.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct EpochEndOffset {
    /// The error code.
    pub error_code: i16,
    /// The partition.
    pub partition: i32,
    /// The largest epoch not above the one asked for.
    pub leader_epoch: i32,
    /// Where that epoch ends.
    pub end_offset: i64,
}

/// One partition of an OffsetFetch response.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct OffsetFetchPartition {
    /// The partition.
    pub partition: i32,
    /// The committed offset, -1 for none.
    pub offset: i64,
    /// Its leader epoch (v5+).
    pub leader_epoch: i32,
    /// Its metadata.
    pub metadata: Option<String>,
    /// The error code.
    pub error_code: i16,
}

impl Response {
    /// The API this response answers.
    pub fn api(&self) -> ApiKey {
        match self {
            Response::ApiVersions { .. } => ApiKey::ApiVersions,
            Response::Metadata(_) => ApiKey::Metadata,
            Response::Produce(_) => ApiKey::Produce,
            Response::Fetch(_) => ApiKey::Fetch,
            Response::ListOffsets(_) => ApiKey::ListOffsets,
            Response::InitProducerId { .. } => ApiKey::InitProducerId,
            Response::OffsetForLeaderEpoch(_) => ApiKey::OffsetForLeaderEpoch,
            Response::FindCoordinator { .. } => ApiKey::FindCoordinator,
            Response::OffsetCommit(_) => ApiKey::OffsetCommit,
            Response::OffsetFetch { .. } => ApiKey::OffsetFetch,
        }
    }

    /// The ApiVersions answer for a request at `version`.
    pub fn api_versions(version: i16) -> Response {
        let (_, max) = ApiKey::ApiVersions.versions();
        Response::ApiVersions {
            error_code: if version > max {
                UNSUPPORTED_VERSION
            } else {
                0
            },
            apis: (ApiKey::ALL.iter())
                .map(|api| (api.key(), api.versions().0, api.versions().1))
                .collect(),
        }
    }
}

/// The version a response to a request at `version` is written at: its own, except an
/// ApiVersions request above the range, answered at v0 (KIP-511).
pub fn response_version(api: ApiKey, version: i16) -> i16 {
    let (_, max) = api.versions();
    if api == ApiKey::ApiVersions && version > max {
        0
    } else {
        version
    }
}

/// The framed response (size, correlation id, body) at `version`.
pub fn encode_response(version: i16, correlation_id: i32, response: &Response) -> Vec<u8> {
    let v = response_version(response.api(), version);
    let mut w = Writer::default();
    w.i32(correlation_id);
    match response {
        Response::ApiVersions { error_code, apis } => {
            w.i16(*error_code);
            w.array(apis, |w, (key, min, max)| {
                _ = w.i16(*key).i16(*min).i16(*max)
            });
            if v >= 1 {
                w.i32(0);
            }
        }
        Response::Metadata(m) => {
            if v >= 3 {
                w.i32(0);
            }
            w.array(&m.brokers, |w, b| {
                w.i32(b.node_id).string(&b.host).i32(b.port);
                if v >= 1 {
                    w.nullable_string(None);
                }
            });
            if v >= 2 {
                w.nullable_string(m.cluster_id.as_deref());
            }
            if v >= 1 {
                w.i32(m.controller_id);
            }
            w.array(&m.topics, |w, t| {
                w.i16(t.error_code).string(&t.name);
                if v >= 1 {
                    w.bool(false);
                }
                w.array(&t.partitions, |w, p| {
                    w.i16(p.error_code).i32(p.partition).i32(p.leader_id);
                    if v >= 7 {
                        w.i32(p.leader_epoch);
                    }
                    w.array(&p.replicas, |w, r| _ = w.i32(*r));
                    w.array(&p.isr, |w, r| _ = w.i32(*r));
                    if v >= 5 {
                        w.array(&p.offline_replicas, |w, r| _ = w.i32(*r));
                    }
                });
                if v >= 8 {
                    w.i32(i32::MIN);
                }
            });
            if v >= 8 {
                w.i32(i32::MIN);
            }
        }
        Response::Produce(topics) => {
            write_topics(&mut w, topics, |w, p| {
                w.i32(p.partition)
                    .i16(p.error_code)
                    .i64(p.base_offset)
                    .i64(p.log_append_time_ms);
                if v >= 5 {
                    w.i64(p.log_start_offset);
                }
                if v >= 8 {
                    w.i32(0).nullable_string(None);
                }
            });
            w.i32(0);
        }
        Response::Fetch(f) => {
            w.i32(0);
            if v >= 7 {
                w.i16(f.error_code).i32(f.session_id);
            }
            write_topics(&mut w, &f.topics, |w, p| {
                w.i32(p.partition)
                    .i16(p.error_code)
                    .i64(p.high_watermark)
                    .i64(p.last_stable_offset);
                if v >= 5 {
                    w.i64(p.log_start_offset);
                }
                w.i32(-1);
                if v >= 11 {
                    w.i32(-1);
                }
                w.nullable_bytes(p.records.as_deref());
            });
        }
        Response::ListOffsets(topics) => {
            if v >= 2 {
                w.i32(0);
            }
            write_topics(&mut w, topics, |w, p| {
                w.i32(p.partition)
                    .i16(p.error_code)
                    .i64(p.timestamp)
                    .i64(p.offset);
                if v >= 4 {
                    w.i32(p.leader_epoch);
                }
            });
        }
        Response::InitProducerId {
            error_code,
            producer_id,
            producer_epoch,
        } => {
            w.i32(0)
                .i16(*error_code)
                .i64(*producer_id)
                .i16(*producer_epoch);
        }
        Response::OffsetForLeaderEpoch(topics) => {
            w.i32(0);
            write_topics(&mut w, topics, |w, p| {
                w.i16(p.error_code)
                    .i32(p.partition)
                    .i32(p.leader_epoch)
                    .i64(p.end_offset);
            });
        }
        Response::FindCoordinator {
            error_code,
            node_id,
            host,
            port,
        } => {
            if v >= 1 {
                w.i32(0).i16(*error_code).nullable_string(None);
            } else {
                w.i16(*error_code);
            }
            w.i32(*node_id).string(host).i32(*port);
        }
        Response::OffsetCommit(topics) => {
            if v >= 3 {
                w.i32(0);
            }
            write_topics(&mut w, topics, |w, (partition, error_code)| {
                w.i32(*partition).i16(*error_code);
            });
        }
        Response::OffsetFetch { topics, error_code } => {
            if v >= 3 {
                w.i32(0);
            }
            write_topics(&mut w, topics, |w, p| {
                w.i32(p.partition).i64(p.offset);
                if v >= 5 {
                    w.i32(p.leader_epoch);
                }
                w.nullable_string(p.metadata.as_deref()).i16(p.error_code);
            });
            if v >= 2 {
                w.i16(*error_code);
            }
        }
    }
    super::framed(&w.into_bytes())
}

/// Decodes a response frame (without its size prefix) to a request of `api` at
/// `version`: the correlation id and the response.
pub fn decode_response(
    api: ApiKey,
    version: i16,
    frame: Bytes,
) -> Result<(i32, Response), WireError> {
    let v = response_version(api, version);
    let mut r = Reader::new(frame);
    let correlation_id = r.i32("correlation_id")?;
    let response = match api {
        ApiKey::ApiVersions => {
            let error_code = r.i16("error_code")?;
            let apis = r.array("api_keys", 6, |r| {
                Ok((
                    r.i16("api_key")?,
                    r.i16("min_version")?,
                    r.i16("max_version")?,
                ))
            })?;
            if v >= 1 {
                r.i32("throttle_time_ms")?;
            }
            Response::ApiVersions { error_code, apis }
        }
        ApiKey::Metadata => {
            if v >= 3 {
                r.i32("throttle_time_ms")?;
            }
            let brokers = r.array("brokers", 10, |r| {
                let broker = BrokerAddress {
                    node_id: r.i32("node_id")?,
                    host: r.string("host")?,
                    port: r.i32("port")?,
                };
                if v >= 1 {
                    r.nullable_string("rack")?;
                }
                Ok(broker)
            })?;
            let cluster_id = if v >= 2 {
                r.nullable_string("cluster_id")?
            } else {
                None
            };
            let controller_id = if v >= 1 { r.i32("controller_id")? } else { -1 };
            let topics = r.array("topics", 8, |r| {
                let error_code = r.i16("error_code")?;
                let name = r.string("name")?;
                if v >= 1 {
                    r.bool("is_internal")?;
                }
                let partitions = r.array("partitions", 18, |r| {
                    let error_code = r.i16("error_code")?;
                    let partition = r.i32("partition_index")?;
                    let leader_id = r.i32("leader_id")?;
                    let leader_epoch = if v >= 7 { r.i32("leader_epoch")? } else { -1 };
                    let replicas = r.array("replica_nodes", 4, |r| r.i32("replica"))?;
                    let isr = r.array("isr_nodes", 4, |r| r.i32("isr"))?;
                    let offline_replicas = if v >= 5 {
                        r.array("offline_replicas", 4, |r| r.i32("offline"))?
                    } else {
                        Vec::new()
                    };
                    Ok(MetadataPartition {
                        error_code,
                        partition,
                        leader_id,
                        leader_epoch,
                        replicas,
                        isr,
                        offline_replicas,
                    })
                })?;
                if v >= 8 {
                    r.i32("topic_authorized_operations")?;
                }
                Ok(MetadataTopic {
                    error_code,
                    name,
                    partitions,
                })
            })?;
            if v >= 8 {
                r.i32("cluster_authorized_operations")?;
            }
            Response::Metadata(MetadataResponse {
                brokers,
                cluster_id,
                controller_id,
                topics,
            })
        }
        ApiKey::Produce => {
            let topics = read_topics(&mut r, "topics", 22, |r| {
                let partition = ProducePartitionResponse {
                    partition: r.i32("index")?,
                    error_code: r.i16("error_code")?,
                    base_offset: r.i64("base_offset")?,
                    log_append_time_ms: r.i64("log_append_time_ms")?,
                    log_start_offset: if v >= 5 {
                        r.i64("log_start_offset")?
                    } else {
                        -1
                    },
                };
                if v >= 8 {
                    r.array("record_errors", 6, |r| {
                        r.i32("batch_index")?;
                        r.nullable_string("batch_index_error_message")
                    })?;
                    r.nullable_string("error_message")?;
                }
                Ok(partition)
            })?;
            r.i32("throttle_time_ms")?;
            Response::Produce(topics)
        }
        ApiKey::Fetch => {
            r.i32("throttle_time_ms")?;
            let (error_code, session_id) = if v >= 7 {
                (r.i16("error_code")?, r.i32("session_id")?)
            } else {
                (0, 0)
            };
            let topics = read_topics(&mut r, "topics", 30, |r| {
                let partition = r.i32("partition_index")?;
                let error_code = r.i16("error_code")?;
                let high_watermark = r.i64("high_watermark")?;
                let last_stable_offset = r.i64("last_stable_offset")?;
                let log_start_offset = if v >= 5 {
                    r.i64("log_start_offset")?
                } else {
                    -1
                };
                r.nullable_array("aborted_transactions", 16, |r| {
                    Ok((r.i64("producer_id")?, r.i64("first_offset")?))
                })?;
                if v >= 11 {
                    r.i32("preferred_read_replica")?;
                }
                Ok(FetchPartitionResponse {
                    partition,
                    error_code,
                    high_watermark,
                    last_stable_offset,
                    log_start_offset,
                    records: r.nullable_bytes("records")?,
                })
            })?;
            Response::Fetch(FetchResponse {
                error_code,
                session_id,
                topics,
            })
        }
        ApiKey::ListOffsets => {
            if v >= 2 {
                r.i32("throttle_time_ms")?;
            }
            Response::ListOffsets(read_topics(&mut r, "topics", 22, |r| {
                Ok(ListOffsetsPartitionResponse {
                    partition: r.i32("partition_index")?,
                    error_code: r.i16("error_code")?,
                    timestamp: r.i64("timestamp")?,
                    offset: r.i64("offset")?,
                    leader_epoch: if v >= 4 { r.i32("leader_epoch")? } else { -1 },
                })
            })?)
        }
        ApiKey::InitProducerId => {
            r.i32("throttle_time_ms")?;
            Response::InitProducerId {
                error_code: r.i16("error_code")?,
                producer_id: r.i64("producer_id")?,
                producer_epoch: r.i16("producer_epoch")?,
            }
        }
        ApiKey::OffsetForLeaderEpoch => {
            r.i32("throttle_time_ms")?;
            Response::OffsetForLeaderEpoch(read_topics(&mut r, "topics", 18, |r| {
                Ok(EpochEndOffset {
                    error_code: r.i16("error_code")?,
                    partition: r.i32("partition")?,
                    leader_epoch: r.i32("leader_epoch")?,
                    end_offset: r.i64("end_offset")?,
                })
            })?)
        }
        ApiKey::FindCoordinator => {
            let error_code = if v >= 1 {
                r.i32("throttle_time_ms")?;
                let error_code = r.i16("error_code")?;
                r.nullable_string("error_message")?;
                error_code
            } else {
                r.i16("error_code")?
            };
            Response::FindCoordinator {
                error_code,
                node_id: r.i32("node_id")?,
                host: r.string("host")?,
                port: r.i32("port")?,
            }
        }
        ApiKey::OffsetCommit => {
            if v >= 3 {
                r.i32("throttle_time_ms")?;
            }
            Response::OffsetCommit(read_topics(&mut r, "topics", 6, |r| {
                Ok((r.i32("partition_index")?, r.i16("error_code")?))
            })?)
        }
        ApiKey::OffsetFetch => {
            if v >= 3 {
                r.i32("throttle_time_ms")?;
            }
            let topics = read_topics(&mut r, "topics", 16, |r| {
                Ok(OffsetFetchPartition {
                    partition: r.i32("partition_index")?,
                    offset: r.i64("committed_offset")?,
                    leader_epoch: if v >= 5 {
                        r.i32("committed_leader_epoch")?
                    } else {
                        -1
                    },
                    metadata: r.nullable_string("metadata")?,
                    error_code: r.i16("error_code")?,
                })
            })?;
            let error_code = if v >= 2 { r.i16("error_code")? } else { 0 };
            Response::OffsetFetch { topics, error_code }
        }
    };
    r.finish()?;
    Ok((correlation_id, response))
}
