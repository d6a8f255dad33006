//! Requests as real clients send them, decoded at every advertised version. Fields a
//! version lacks take Kafka's defaults, so the shell reads one shape whatever the version.

use bytes::Bytes;

use super::codec::{Reader, WireError, Writer};
use super::ApiKey;

/// Request header v1, which every non-flexible request carries.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct RequestHeader {
    /// The API.
    pub api: ApiKey,
    /// Its version.
    pub version: i16,
    /// Echoed in the response.
    pub correlation_id: i32,
    /// The client's name.
    pub client_id: Option<String>,
}

/// Partitions grouped under their topic, as every API here groups them.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Topic<P> {
    /// The topic.
    pub name: String,
    /// Its partitions.
    pub partitions: Vec<P>,
}

/// A request this broker serves.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Request {
    /// ApiVersions at any version: a version above the range is answered, not refused.
    ApiVersions,
    /// Metadata.
    Metadata(MetadataRequest),
    /// Produce.
    Produce(ProduceRequest),
    /// Fetch.
    Fetch(FetchRequest),
    /// ListOffsets.
    ListOffsets(ListOffsetsRequest),
    /// InitProducerId.
    InitProducerId(InitProducerIdRequest),
    /// OffsetForLeaderEpoch.
    OffsetForLeaderEpoch(OffsetForLeaderEpochRequest),
    /// FindCoordinator.
    FindCoordinator(FindCoordinatorRequest),
    /// OffsetCommit.
    OffsetCommit(OffsetCommitRequest),
    /// OffsetFetch.
    OffsetFetch(OffsetFetchRequest),
}

/// Metadata: which topics (`None` for all).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct MetadataRequest {
    /// The topics asked for; `None` asks for every topic.
    pub topics: Option<Vec<String>>,
    /// Whether a topic asked for and missing is created (v4+; before, always).
    pub allow_auto_topic_creation: bool,
}

/// Produce.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ProduceRequest {
    /// Set by transactional producers, which this broker does not serve.
    pub transactional_id: Option<String>,
    /// 0, 1 or -1.
    pub acks: i16,
    /// How long the leader may wait for replication.
    pub timeout_ms: i32,
    /// Record batches per partition.
    pub topics: Vec<Topic<ProducePartition>>,
}

/// One partition's records in a produce.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ProducePartition {
    /// The partition.
    pub partition: i32,
    /// RecordBatch v2 bytes, as sent.
    pub records: Option<Bytes>,
}

/// Fetch.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct FetchRequest {
    /// -1 for a consumer.
    pub replica_id: i32,
    /// How long the broker may wait for `min_bytes`.
    pub max_wait_ms: i32,
    /// What the response should hold before the wait ends.
    pub min_bytes: i32,
    /// Limit on the whole response.
    pub max_bytes: i32,
    /// 0 read uncommitted, 1 read committed.
    pub isolation_level: i8,
    /// Incremental fetch session (KIP-227; v7+), 0 for none.
    pub session_id: i32,
    /// The session's epoch, -1 for a full fetch without a session.
    pub session_epoch: i32,
    /// What to fetch.
    pub topics: Vec<Topic<FetchPartition>>,
    /// Partitions to drop from the session (v7+).
    pub forgotten: Vec<Topic<i32>>,
    /// The consumer's rack (v11+).
    pub rack_id: String,
}

/// One partition of a fetch.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct FetchPartition {
    /// The partition.
    pub partition: i32,
    /// The leader epoch the client knows (v9+; -1 unknown).
    pub current_leader_epoch: i32,
    /// Where to read from.
    pub fetch_offset: i64,
    /// The follower's log start (v5+; -1 for consumers).
    pub log_start_offset: i64,
    /// Limit for this partition.
    pub partition_max_bytes: i32,
}

/// ListOffsets.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ListOffsetsRequest {
    /// -1 for a consumer.
    pub replica_id: i32,
    /// 0 read uncommitted, 1 read committed (v2+).
    pub isolation_level: i8,
    /// What to look up.
    pub topics: Vec<Topic<ListOffsetsPartition>>,
}

/// One partition of a ListOffsets.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ListOffsetsPartition {
    /// The partition.
    pub partition: i32,
    /// The leader epoch the client knows (v4+; -1 unknown).
    pub current_leader_epoch: i32,
    /// -2 earliest, -1 latest, else a timestamp.
    pub timestamp: i64,
}

/// InitProducerId.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct InitProducerIdRequest {
    /// Set by transactional producers.
    pub transactional_id: Option<String>,
    /// The transaction timeout.
    pub transaction_timeout_ms: i32,
}

/// OffsetForLeaderEpoch.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct OffsetForLeaderEpochRequest {
    /// -1 for a consumer, -2 for a debug client (v3+; -2 before).
    pub replica_id: i32,
    /// What to look up.
    pub topics: Vec<Topic<EpochPartition>>,
}

/// One partition of an OffsetForLeaderEpoch.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct EpochPartition {
    /// The partition.
    pub partition: i32,
    /// The leader epoch the client knows (-1 unknown).
    pub current_leader_epoch: i32,
    /// The epoch whose end offset is asked for.
    pub leader_epoch: i32,
}

/// FindCoordinator.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct FindCoordinatorRequest {
    /// The group id (or transactional id).
    pub key: String,
    /// 0 group, 1 transaction (v1+).
    pub key_type: i8,
}

/// OffsetCommit.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct OffsetCommitRequest {
    /// The group.
    pub group_id: String,
    /// The group's generation, -1 for a simple (unmanaged) consumer.
    pub generation_id: i32,
    /// The member, "" for a simple consumer.
    pub member_id: String,
    /// Static membership (v7+).
    pub group_instance_id: Option<String>,
    /// What to commit.
    pub topics: Vec<Topic<CommitPartition>>,
}

/// One partition's committed offset.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct CommitPartition {
    /// The partition.
    pub partition: i32,
    /// The next offset to consume.
    pub offset: i64,
    /// The leader epoch of the last record consumed (v6+; -1 unknown).
    pub leader_epoch: i32,
    /// Client metadata stored with the offset.
    pub metadata: Option<String>,
}

/// OffsetFetch.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct OffsetFetchRequest {
    /// The group.
    pub group_id: String,
    /// The partitions asked for; `None` (v2+) asks for every committed one.
    pub topics: Option<Vec<Topic<i32>>>,
}

/// Decodes one frame (without its size prefix). An ApiVersions request decodes at any
/// version, because a client newer than this broker learns the versions from the answer.
pub fn decode_request(frame: Bytes) -> Result<(RequestHeader, Request), WireError> {
    let mut r = Reader::new(frame);
    let key = r.i16("request_api_key")?;
    let version = r.i16("request_api_version")?;
    let correlation_id = r.i32("correlation_id")?;
    let client_id = r.nullable_string("client_id")?;
    let api = ApiKey::from_key(key).ok_or(WireError::UnknownApi { key })?;
    let header = RequestHeader {
        api,
        version,
        correlation_id,
        client_id,
    };
    if api == ApiKey::ApiVersions && version >= 0 {
        // v3+ bodies (flexible) are not read: the answer does not depend on them.
        return Ok((header, Request::ApiVersions));
    }
    let (min, max) = api.versions();
    if !(min..=max).contains(&version) {
        return Err(WireError::UnsupportedVersion {
            api: api.name(),
            version,
            min,
            max,
        });
    }
    let request = body(&mut r, api, version)?;
    r.finish()?;
    Ok((header, request))
}

fn body(r: &mut Reader, api: ApiKey, v: i16) -> Result<Request, WireError> {
    Ok(match api {
        ApiKey::ApiVersions => Request::ApiVersions,
        ApiKey::Metadata => {
            let topics = if v == 0 {
                let names = r.array("topics", 2, |r| r.string("name"))?;
                (!names.is_empty()).then_some(names)
            } else {
                r.nullable_array("topics", 2, |r| r.string("name"))?
            };
            let allow_auto_topic_creation = if v >= 4 {
                r.bool("allow_auto_topic_creation")?
            } else {
                true
            };
            if v >= 8 {
                r.bool("include_cluster_authorized_operations")?;
                r.bool("include_topic_authorized_operations")?;
            }
            Request::Metadata(MetadataRequest {
                topics,
                allow_auto_topic_creation,
            })
        }
        ApiKey::Produce => Request::Produce(ProduceRequest {
            transactional_id: r.nullable_string("transactional_id")?,
            acks: r.i16("acks")?,
            timeout_ms: r.i32("timeout_ms")?,
            topics: read_topics(r, "topic_data", 8, |r| {
                Ok(ProducePartition {
                    partition: r.i32("index")?,
                    records: r.nullable_bytes("records")?,
                })
            })?,
        }),
        ApiKey::Fetch => {
            let replica_id = r.i32("replica_id")?;
            let max_wait_ms = r.i32("max_wait_ms")?;
            let min_bytes = r.i32("min_bytes")?;
            let max_bytes = r.i32("max_bytes")?;
            let isolation_level = r.i8("isolation_level")?;
            let (session_id, session_epoch) = if v >= 7 {
                (r.i32("session_id")?, r.i32("session_epoch")?)
            } else {
                (0, -1)
            };
            let topics = read_topics(r, "topics", 16, |r| {
                Ok(FetchPartition {
                    partition: r.i32("partition")?,
                    current_leader_epoch: if v >= 9 {
                        r.i32("current_leader_epoch")?
                    } else {
                        -1
                    },
                    fetch_offset: r.i64("fetch_offset")?,
                    log_start_offset: if v >= 5 {
                        r.i64("log_start_offset")?
                    } else {
                        -1
                    },
                    partition_max_bytes: r.i32("partition_max_bytes")?,
                })
            })?;
            let forgotten = if v >= 7 {
                read_topics(r, "forgotten_topics_data", 4, |r| r.i32("partitions"))?
            } else {
                Vec::new()
            };
            let rack_id = if v >= 11 {
                r.string("rack_id")?
            } else {
                String::new()
            };
            Request::Fetch(FetchRequest {
                replica_id,
                max_wait_ms,
                min_bytes,
                max_bytes,
                isolation_level,
                session_id,
                session_epoch,
                topics,
                forgotten,
                rack_id,
            })
        }
        ApiKey::ListOffsets => {
            let replica_id = r.i32("replica_id")?;
            let isolation_level = if v >= 2 { r.i8("isolation_level")? } else { 0 };
            let topics = read_topics(r, "topics", 12, |r| {
                Ok(ListOffsetsPartition {
                    partition: r.i32("partition_index")?,
                    current_leader_epoch: if v >= 4 {
                        r.i32("current_leader_epoch")?
                    } else {
                        -1
                    },
                    timestamp: r.i64("timestamp")?,
                })
            })?;
            Request::ListOffsets(ListOffsetsRequest {
                replica_id,
                isolation_level,
                topics,
            })
        }
        ApiKey::InitProducerId => Request::InitProducerId(InitProducerIdRequest {
            transactional_id: r.nullable_string("transactional_id")?,
            transaction_timeout_ms: r.i32("transaction_timeout_ms")?,
        }),
        ApiKey::OffsetForLeaderEpoch => {
            let replica_id = if v >= 3 { r.i32("replica_id")? } else { -2 };
            let topics = read_topics(r, "topics", 12, |r| {
                Ok(EpochPartition {
                    partition: r.i32("partition")?,
                    current_leader_epoch: r.i32("current_leader_epoch")?,
                    leader_epoch: r.i32("leader_epoch")?,
                })
            })?;
            Request::OffsetForLeaderEpoch(OffsetForLeaderEpochRequest { replica_id, topics })
        }
        ApiKey::FindCoordinator => Request::FindCoordinator(FindCoordinatorRequest {
            key: r.string("key")?,
            key_type: if v >= 1 { r.i8("key_type")? } else { 0 },
        }),
        ApiKey::OffsetCommit => {
            let group_id = r.string("group_id")?;
            let generation_id = r.i32("generation_id")?;
            let member_id = r.string("member_id")?;
            let group_instance_id = if v >= 7 {
                r.nullable_string("group_instance_id")?
            } else {
                None
            };
            if v <= 4 {
                r.i64("retention_time_ms")?;
            }
            let topics = read_topics(r, "topics", 14, |r| {
                Ok(CommitPartition {
                    partition: r.i32("partition_index")?,
                    offset: r.i64("committed_offset")?,
                    leader_epoch: if v >= 6 {
                        r.i32("committed_leader_epoch")?
                    } else {
                        -1
                    },
                    metadata: r.nullable_string("committed_metadata")?,
                })
            })?;
            Request::OffsetCommit(OffsetCommitRequest {
                group_id,
                generation_id,
                member_id,
                group_instance_id,
                topics,
            })
        }
        ApiKey::OffsetFetch => {
            let group_id = r.string("group_id")?;
            let topic = |r: &mut Reader| {
                Ok(Topic {
                    name: r.string("name")?,
                    partitions: r.array("partition_indexes", 4, |r| r.i32("partition_index"))?,
                })
            };
            let topics = if v >= 2 {
                r.nullable_array("topics", 6, topic)?
            } else {
                Some(r.array("topics", 6, topic)?)
            };
            Request::OffsetFetch(OffsetFetchRequest { group_id, topics })
        }
    })
}

/// An array of topics, each an array of partitions read by `partition`, whose smallest
/// encoding is `partition_size` bytes.
pub(super) fn read_topics<P>(
    r: &mut Reader,
    field: &'static str,
    partition_size: usize,
    mut partition: impl FnMut(&mut Reader) -> Result<P, WireError>,
) -> Result<Vec<Topic<P>>, WireError> {
    r.array(field, 6, |r| {
        Ok(Topic {
            name: r.string("name")?,
            partitions: r.array("partitions", partition_size, &mut partition)?,
        })
    })
}

impl Request {
    /// The request's encoding at `version` under `header`, framed: what a client sends.
    /// The project's own clients and tests speak to the real mode with it.
    pub fn encode(&self, header: &RequestHeader) -> Vec<u8> {
        let mut w = Writer::default();
        w.i16(header.api.key())
            .i16(header.version)
            .i32(header.correlation_id)
            .nullable_string(header.client_id.as_deref());
        let v = header.version;
        match self {
            Request::ApiVersions => {}
            Request::Metadata(req) => {
                match (&req.topics, v) {
                    (None, 0) => _ = w.i32(0),
                    (None, _) => _ = w.i32(-1),
                    (Some(topics), _) => _ = w.array(topics, |w, t| _ = w.string(t)),
                }
                if v >= 4 {
                    w.bool(req.allow_auto_topic_creation);
                }
                if v >= 8 {
                    w.bool(false).bool(false);
                }
            }
            Request::Produce(req) => {
                w.nullable_string(req.transactional_id.as_deref())
                    .i16(req.acks)
                    .i32(req.timeout_ms);
                write_topics(&mut w, &req.topics, |w, p| {
                    w.i32(p.partition).nullable_bytes(p.records.as_deref());
                });
            }
            Request::Fetch(req) => {
                w.i32(req.replica_id)
                    .i32(req.max_wait_ms)
                    .i32(req.min_bytes)
                    .i32(req.max_bytes)
                    .i8(req.isolation_level);
                if v >= 7 {
                    w.i32(req.session_id).i32(req.session_epoch);
                }
                write_topics(&mut w, &req.topics, |w, p| {
                    w.i32(p.partition);
                    if v >= 9 {
                        w.i32(p.current_leader_epoch);
                    }
                    w.i64(p.fetch_offset);
                    if v >= 5 {
                        w.i64(p.log_start_offset);
                    }
                    w.i32(p.partition_max_bytes);
                });
                if v >= 7 {
                    write_topics(&mut w, &req.forgotten, |w, p| _ = w.i32(*p));
                }
                if v >= 11 {
                    w.string(&req.rack_id);
                }
            }
            Request::ListOffsets(req) => {
                w.i32(req.replica_id);
                if v >= 2 {
                    w.i8(req.isolation_level);
                }
                write_topics(&mut w, &req.topics, |w, p| {
                    w.i32(p.partition);
                    if v >= 4 {
                        w.i32(p.current_leader_epoch);
                    }
                    w.i64(p.timestamp);
                });
            }
            Request::InitProducerId(req) => {
                w.nullable_string(req.transactional_id.as_deref())
                    .i32(req.transaction_timeout_ms);
            }
            Request::OffsetForLeaderEpoch(req) => {
                if v >= 3 {
                    w.i32(req.replica_id);
                }
                write_topics(&mut w, &req.topics, |w, p| {
                    w.i32(p.partition)
                        .i32(p.current_leader_epoch)
                        .i32(p.leader_epoch);
                });
            }
            Request::FindCoordinator(req) => {
                w.string(&req.key);
                if v >= 1 {
                    w.i8(req.key_type);
                }
            }
            Request::OffsetCommit(req) => {
                w.string(&req.group_id)
                    .i32(req.generation_id)
                    .string(&req.member_id);
                if v >= 7 {
                    w.nullable_string(req.group_instance_id.as_deref());
                }
                if v <= 4 {
                    w.i64(-1);
                }
                write_topics(&mut w, &req.topics, |w, p| {
                    w.i32(p.partition).i64(p.offset);
                    if v >= 6 {
                        w.i32(p.leader_epoch);
                    }
                    w.nullable_string(p.metadata.as_deref());
                });
            }
            Request::OffsetFetch(req) => {
                w.string(&req.group_id);
                match &req.topics {
                    Some(topics) => write_topics(&mut w, topics, |w, p| _ = w.i32(*p)),
                    None => _ = w.i32(-1),
                }
            }
        }
        super::framed(&w.into_bytes())
    }
}

/// Writes topics and their partitions, each partition by `partition`.
pub(super) fn write_topics<P>(
    w: &mut Writer,
    topics: &[Topic<P>],
    mut partition: impl FnMut(&mut Writer, &P),
) {
    w.array(topics, |w, topic| {
        w.string(&topic.name);
        w.array(&topic.partitions, &mut partition);
    });
}
