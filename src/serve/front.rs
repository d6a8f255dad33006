//! Kafka's wire protocol in front of a broker role. Each wire request becomes the role's
//! typed requests, one per partition where the role takes one (Fetch, ListOffsets,
//! OffsetForLeaderEpoch) and one for the whole request where it takes many (Produce,
//! Metadata); each reaches the role as a message from a client of its own, so the answers
//! cannot be confused. InitProducerId goes on to the controller, as the role's producer
//! sends it. Metadata names the real host and ports.
//!
//! A connection's requests are answered one at a time, in order, as Kafka answers them
//! (it reads no further request from a connection until the current one is answered). A
//! frame that does not decode, an unknown API or version, or a frame over
//! `socket.request.max.bytes` closes that connection and is logged; no other connection
//! notices.
//!
//! A fetch with nothing to return is held up to its `max_wait_ms`: the front asks the role
//! again every few milliseconds until a partition has data or an error, or the wait ends.

use std::collections::BTreeMap;
use std::sync::atomic::{AtomicU16, Ordering};
use std::sync::{Arc, Mutex};
use std::time::Duration;

use bytes::Bytes;
use odradek_sim::NodeId;
use tokio::io::{AsyncReadExt, AsyncWriteExt};
use tokio::net::{TcpListener, TcpStream};
use tokio::sync::{mpsc, oneshot};
use tokio::time::Instant;

use super::coordinator::{coordinator_of, Committed, Offsets};
use super::peer::{self, Hello};
use super::shell::{Input, REMOTE_IDS};
use super::{valid_topic_name, ServeConfig, ServeError};
use crate::protocol::{ErrorCode, Msg, TopicPartition, CLIENT};
use crate::protocol::{
    FetchRequest as RoleFetch, ListOffsetsRequest as RoleListOffsets, OffsetSpec,
    OffsetsForLeaderEpochRequest, PartitionProduce, ProduceRequest as RoleProduce,
};
use crate::wire::request::{Request, RequestHeader, Topic};
use crate::wire::response::{
    BrokerAddress, EpochEndOffset, FetchPartitionResponse, FetchResponse,
    ListOffsetsPartitionResponse, MetadataPartition, MetadataResponse, MetadataTopic,
    OffsetFetchPartition, ProducePartitionResponse, Response,
};
use crate::wire::{decode_request, encode_response, Frames, REQUEST_MAX_BYTES_DEFAULT};

/// How long the front waits for the role (or the controller) to answer.
const CALL_TIMEOUT: Duration = Duration::from_secs(30);

/// Between polls of a held fetch.
const FETCH_POLL: Duration = Duration::from_millis(5);

const UNKNOWN_TOPIC_OR_PARTITION: i16 = 3;
const LEADER_NOT_AVAILABLE: i16 = 5;
const REQUEST_TIMED_OUT: i16 = 7;
const NOT_COORDINATOR: i16 = 16;
const INVALID_REQUEST: i16 = 42;
const TRANSACTIONAL_ID_AUTHORIZATION_FAILED: i16 = 53;
const KAFKA_STORAGE_ERROR: i16 = 56;

/// The front of broker `me`.
pub struct Front {
    me: NodeId,
    config: Arc<ServeConfig>,
    node: mpsc::UnboundedSender<Input>,
    offsets: Mutex<Offsets>,
    remote_calls: AtomicU16,
}

impl Front {
    pub(crate) fn new(
        me: NodeId,
        config: Arc<ServeConfig>,
        node: mpsc::UnboundedSender<Input>,
    ) -> Result<Arc<Front>, ServeError> {
        let offsets = Offsets::load(&config.node_dir(me))?;
        Ok(Arc::new(Front {
            me,
            config,
            node,
            offsets: Mutex::new(offsets),
            remote_calls: AtomicU16::new(0),
        }))
    }

    /// Serves every client connection `listener` accepts.
    pub async fn serve(self: Arc<Self>, listener: TcpListener) {
        loop {
            let Ok((stream, addr)) = listener.accept().await else {
                tokio::time::sleep(Duration::from_millis(10)).await;
                continue;
            };
            let front = self.clone();
            tokio::spawn(async move {
                if let Err(error) = front.connection(stream).await {
                    tracing::warn!(broker = %front.me, %addr, %error, "closing client connection");
                }
            });
        }
    }

    async fn connection(&self, mut stream: TcpStream) -> Result<(), String> {
        let _ = stream.set_nodelay(true);
        let mut frames = Frames::new(REQUEST_MAX_BYTES_DEFAULT);
        let mut buf = vec![0u8; 64 << 10];
        loop {
            while let Some(frame) = frames.next_frame().map_err(|e| e.to_string())? {
                let (header, request) = decode_request(frame).map_err(|e| e.to_string())?;
                tracing::debug!(broker = %self.me, ?header, "request");
                if let Some(response) = self.answer(&header, request).await {
                    let bytes = encode_response(header.version, header.correlation_id, &response);
                    stream.write_all(&bytes).await.map_err(|e| e.to_string())?;
                    stream.flush().await.map_err(|e| e.to_string())?;
                }
            }
            let n = stream.read(&mut buf).await.map_err(|e| e.to_string())?;
            if n == 0 {
                return Ok(());
            }
            frames.extend(&buf[..n]);
        }
    }

    /// The role's answer to one typed request, `None` if it gave none in time.
    async fn call(&self, msg: Msg) -> Option<Msg> {
        let (reply, answer) = oneshot::channel();
        self.node.send(Input::Call { msg, reply }).ok()?;
        tokio::time::timeout(CALL_TIMEOUT, answer).await.ok()?.ok()
    }

    /// Asks the controller, over a connection of its own, as the role's clients do.
    async fn call_controller(&self, msg: Msg) -> Option<Msg> {
        let controller = self.config.cluster().controller;
        let port = self.config.cluster_port(controller);
        let slot = self.remote_calls.fetch_add(1, Ordering::Relaxed) % 500;
        let hello = Hello {
            from: REMOTE_IDS + (self.me.0 % 50) * 500 + slot,
            channel: CLIENT.0,
        };
        let exchange = async {
            let host = self.config.host(controller);
            let mut stream = TcpStream::connect((host, port)).await.ok()?;
            stream.write_all(&peer::encode(&hello)).await.ok()?;
            peer::write(&mut stream, &msg).await.ok()?;
            peer::read::<Msg>(&mut stream).await.ok()
        };
        tokio::time::timeout(CALL_TIMEOUT, exchange).await.ok()?
    }

    /// The wire response to `request`; `None` for an acks=0 produce.
    async fn answer(&self, header: &RequestHeader, request: Request) -> Option<Response> {
        Some(match request {
            Request::ApiVersions => Response::api_versions(header.version),
            Request::Metadata(req) => {
                self.metadata(req.topics, req.allow_auto_topic_creation)
                    .await
            }
            Request::Produce(req) => {
                if req.transactional_id.is_some() {
                    return Some(Response::Produce(each_partition(&req.topics, |_, p| {
                        produce_error(p.partition, TRANSACTIONAL_ID_AUTHORIZATION_FAILED)
                    })));
                }
                let partitions: Vec<PartitionProduce> = (req.topics.iter())
                    .flat_map(|t| t.partitions.iter().map(move |p| (t, p)))
                    .map(|(t, p)| PartitionProduce {
                        tp: TopicPartition::new(&t.name, p.partition),
                        records: p.records.clone().unwrap_or_default(),
                    })
                    .collect();
                let role = RoleProduce {
                    acks: req.acks,
                    timeout_ms: u32::try_from(req.timeout_ms).unwrap_or(0),
                    partitions,
                };
                if req.acks == 0 {
                    // The role sends no answer: the call is dropped at once.
                    let (reply, _) = oneshot::channel();
                    let _ = self.node.send(Input::Call {
                        msg: Msg::ProduceRequest(role),
                        reply,
                    });
                    return None;
                }
                let answers = match self.call(Msg::ProduceRequest(role)).await {
                    Some(Msg::ProduceResponse(resp)) => resp.partitions,
                    _ => Vec::new(),
                };
                let unknown: std::collections::BTreeSet<&str> = (answers.iter())
                    .filter(|a| a.error == ErrorCode::UnknownTopicOrPartition)
                    .map(|a| &*a.tp.topic)
                    .collect();
                for topic in unknown {
                    if valid_topic_name(topic) {
                        self.create_topic(topic).await;
                    }
                }
                Response::Produce(each_partition(&req.topics, |topic, p| {
                    let tp_answer = (answers.iter())
                        .find(|a| a.tp.partition == p.partition && &*a.tp.topic == topic);
                    match tp_answer {
                        Some(a) => ProducePartitionResponse {
                            partition: p.partition,
                            error_code: a.error.code(),
                            base_offset: a.base_offset,
                            log_append_time_ms: -1,
                            log_start_offset: -1,
                        },
                        None => produce_error(p.partition, REQUEST_TIMED_OUT),
                    }
                }))
            }
            Request::Fetch(req) => self.fetch(req).await,
            Request::ListOffsets(req) => {
                let mut topics = Vec::new();
                for topic in &req.topics {
                    let mut partitions = Vec::new();
                    for p in &topic.partitions {
                        let spec = match p.timestamp {
                            -2 => Some(OffsetSpec::Earliest),
                            -1 => Some(OffsetSpec::Latest),
                            _ => None,
                        };
                        let answer = match spec {
                            Some(spec) => {
                                let tp = TopicPartition::new(&topic.name, p.partition);
                                let msg = Msg::ListOffsetsRequest(RoleListOffsets { tp, spec });
                                self.call(msg).await
                            }
                            None => None,
                        };
                        partitions.push(match answer {
                            Some(Msg::ListOffsetsResponse(a)) => ListOffsetsPartitionResponse {
                                partition: p.partition,
                                error_code: a.error.code(),
                                timestamp: -1,
                                offset: a.offset,
                                leader_epoch: a.leader_epoch,
                            },
                            _ => ListOffsetsPartitionResponse {
                                partition: p.partition,
                                error_code: if spec.is_some() {
                                    REQUEST_TIMED_OUT
                                } else {
                                    INVALID_REQUEST
                                },
                                timestamp: -1,
                                offset: -1,
                                leader_epoch: -1,
                            },
                        });
                    }
                    topics.push(Topic {
                        name: topic.name.clone(),
                        partitions,
                    });
                }
                Response::ListOffsets(topics)
            }
            Request::InitProducerId(req) => {
                let answer = match req.transactional_id {
                    Some(_) => None,
                    None => self.call_controller(Msg::InitProducerIdRequest).await,
                };
                match answer {
                    Some(Msg::InitProducerIdResponse {
                        error,
                        producer_id,
                        producer_epoch,
                    }) => Response::InitProducerId {
                        error_code: error.code(),
                        producer_id,
                        producer_epoch,
                    },
                    _ => Response::InitProducerId {
                        error_code: if req.transactional_id.is_some() {
                            TRANSACTIONAL_ID_AUTHORIZATION_FAILED
                        } else {
                            REQUEST_TIMED_OUT
                        },
                        producer_id: -1,
                        producer_epoch: -1,
                    },
                }
            }
            Request::OffsetForLeaderEpoch(req) => {
                let mut topics = Vec::new();
                for topic in &req.topics {
                    let mut partitions = Vec::new();
                    for p in &topic.partitions {
                        let msg = Msg::OffsetsForLeaderEpochRequest(OffsetsForLeaderEpochRequest {
                            tp: TopicPartition::new(&topic.name, p.partition),
                            current_leader_epoch: p.current_leader_epoch,
                            leader_epoch: p.leader_epoch,
                        });
                        partitions.push(match self.call(msg).await {
                            Some(Msg::OffsetsForLeaderEpochResponse(a)) => EpochEndOffset {
                                error_code: a.error.code(),
                                partition: p.partition,
                                leader_epoch: a.leader_epoch,
                                end_offset: a.end_offset,
                            },
                            _ => EpochEndOffset {
                                error_code: REQUEST_TIMED_OUT,
                                partition: p.partition,
                                leader_epoch: -1,
                                end_offset: -1,
                            },
                        });
                    }
                    topics.push(Topic {
                        name: topic.name.clone(),
                        partitions,
                    });
                }
                Response::OffsetForLeaderEpoch(topics)
            }
            Request::FindCoordinator(req) => {
                let node = coordinator_of(&req.key, &self.config.broker_nodes());
                let port = self.config.client_port(node).unwrap_or_default();
                Response::FindCoordinator {
                    error_code: if req.key_type == 0 {
                        0
                    } else {
                        INVALID_REQUEST
                    },
                    node_id: i32::from(node.0),
                    host: self.config.host(node).into(),
                    port: i32::from(port),
                }
            }
            Request::OffsetCommit(req) => {
                let error = if !self.coordinates(&req.group_id) {
                    NOT_COORDINATOR
                } else {
                    let commits = (req.topics.iter())
                        .flat_map(|t| t.partitions.iter().map(move |p| (t, p)))
                        .map(|(t, p)| {
                            let committed = Committed {
                                offset: p.offset,
                                leader_epoch: p.leader_epoch,
                                metadata: p.metadata.clone(),
                            };
                            (t.name.clone(), p.partition, committed)
                        })
                        .collect();
                    let mut offsets = self.offsets.lock().expect("offsets lock");
                    match offsets.commit(&req.group_id, commits) {
                        Ok(()) => 0,
                        Err(error) => {
                            tracing::error!(broker = %self.me, %error, "storing offsets");
                            KAFKA_STORAGE_ERROR
                        }
                    }
                };
                Response::OffsetCommit(each_partition(&req.topics, |_, p| (p.partition, error)))
            }
            Request::OffsetFetch(req) => {
                if !self.coordinates(&req.group_id) {
                    return Some(Response::OffsetFetch {
                        topics: Vec::new(),
                        error_code: NOT_COORDINATOR,
                    });
                }
                let offsets = self.offsets.lock().expect("offsets lock");
                let asked: Vec<(String, i32)> = match &req.topics {
                    Some(topics) => (topics.iter())
                        .flat_map(|t| t.partitions.iter().map(|p| (t.name.clone(), *p)))
                        .collect(),
                    None => offsets.partitions(&req.group_id),
                };
                let mut topics: BTreeMap<String, Vec<OffsetFetchPartition>> = BTreeMap::new();
                for (topic, partition) in asked {
                    let committed = offsets.committed(&req.group_id, &topic, partition);
                    topics.entry(topic).or_default().push(OffsetFetchPartition {
                        partition,
                        offset: committed.map_or(-1, |c| c.offset),
                        leader_epoch: committed.map_or(-1, |c| c.leader_epoch),
                        metadata: committed.and_then(|c| c.metadata.clone()),
                        error_code: 0,
                    });
                }
                Response::OffsetFetch {
                    topics: (topics.into_iter())
                        .map(|(name, partitions)| Topic { name, partitions })
                        .collect(),
                    error_code: 0,
                }
            }
        })
    }

    fn coordinates(&self, group: &str) -> bool {
        coordinator_of(group, &self.config.broker_nodes()) == self.me
    }

    /// Asks the controller to create `name` with the configured partitions and replicas.
    async fn create_topic(&self, name: &str) {
        let msg = Msg::CreateTopicRequest {
            name: name.to_owned(),
            partitions: self.config.partitions,
            replication_factor: self.config.replication_factor,
        };
        match self.call_controller(msg).await {
            Some(Msg::CreateTopicResponse(ErrorCode::None)) => {
                tracing::info!(broker = %self.me, topic = name, "created on request");
            }
            answer => {
                tracing::warn!(broker = %self.me, topic = name, ?answer, "not created");
            }
        }
    }

    async fn metadata(&self, asked: Option<Vec<String>>, create: bool) -> Response {
        let states = match self.call(Msg::MetadataRequest).await {
            Some(Msg::MetadataResponse(resp)) => resp.partitions,
            _ => Vec::new(),
        };
        let mut known: BTreeMap<String, Vec<MetadataPartition>> = BTreeMap::new();
        for state in states {
            let leader = state.leader.unwrap_or(-1);
            known
                .entry(state.tp.topic.to_string())
                .or_default()
                .push(MetadataPartition {
                    error_code: if state.leader.is_some() {
                        0
                    } else {
                        LEADER_NOT_AVAILABLE
                    },
                    partition: state.tp.partition,
                    leader_id: leader,
                    leader_epoch: state.leader_epoch,
                    replicas: state.replicas.clone(),
                    isr: state.isr.clone(),
                    offline_replicas: Vec::new(),
                });
        }
        let names: Vec<String> = asked.unwrap_or_else(|| known.keys().cloned().collect());
        let topics = (names.into_iter())
            .map(|name| match known.remove(&name) {
                Some(mut partitions) => {
                    partitions.sort_by_key(|p| p.partition);
                    MetadataTopic {
                        error_code: 0,
                        name,
                        partitions,
                    }
                }
                None => MetadataTopic {
                    error_code: UNKNOWN_TOPIC_OR_PARTITION,
                    name,
                    partitions: Vec::new(),
                },
            })
            .collect::<Vec<_>>();
        // Kafka's auto-creation: an unknown topic asked for by name is created, and is
        // LEADER_NOT_AVAILABLE until its leaders are elected, so the client asks again.
        // Also when it could not be created yet (fewer brokers up than it needs replicas,
        // the controller unreachable) or exists but this broker has not learned of it (just
        // restarted): Kafka's INVALID_REPLICATION_FACTOR would fail a client's sends for
        // what passes here in seconds.
        let mut topics = topics;
        for topic in &mut topics {
            let unknown = topic.error_code == UNKNOWN_TOPIC_OR_PARTITION;
            if create && unknown && valid_topic_name(&topic.name) {
                self.create_topic(&topic.name).await;
                topic.error_code = LEADER_NOT_AVAILABLE;
            }
        }
        let brokers = (self.config.broker_nodes().into_iter())
            .filter_map(|node| {
                Some(BrokerAddress {
                    node_id: i32::from(node.0),
                    host: self.config.host(node).into(),
                    port: i32::from(self.config.client_port(node)?),
                })
            })
            .collect();
        Response::Metadata(MetadataResponse {
            brokers,
            cluster_id: Some("odradek".into()),
            controller_id: 1,
            topics,
        })
    }

    async fn fetch(&self, req: crate::wire::request::FetchRequest) -> Response {
        let deadline =
            Instant::now() + Duration::from_millis(u64::try_from(req.max_wait_ms).unwrap_or(0));
        loop {
            let mut topics = Vec::new();
            let mut ready = false;
            for topic in &req.topics {
                let mut partitions = Vec::new();
                for p in &topic.partitions {
                    let msg = Msg::FetchRequest(RoleFetch {
                        replica: None,
                        tp: TopicPartition::new(&topic.name, p.partition),
                        fetch_offset: p.fetch_offset,
                        current_leader_epoch: p.current_leader_epoch,
                        bytes_max: u32::try_from(p.partition_max_bytes).unwrap_or(0),
                        max_wait_ms: 0,
                    });
                    let answer = match self.call(msg).await {
                        Some(Msg::FetchResponse(a)) => FetchPartitionResponse {
                            partition: p.partition,
                            error_code: a.error.code(),
                            high_watermark: a.high_watermark,
                            last_stable_offset: a.high_watermark,
                            log_start_offset: a.log_start_offset,
                            records: Some(a.records),
                        },
                        _ => FetchPartitionResponse {
                            partition: p.partition,
                            error_code: REQUEST_TIMED_OUT,
                            high_watermark: -1,
                            last_stable_offset: -1,
                            log_start_offset: -1,
                            records: Some(Bytes::new()),
                        },
                    };
                    ready |= answer.error_code != ErrorCode::None.code()
                        || answer.records.as_ref().is_some_and(|r| !r.is_empty());
                    partitions.push(answer);
                }
                topics.push(Topic {
                    name: topic.name.clone(),
                    partitions,
                });
            }
            if ready || Instant::now() >= deadline {
                return Response::Fetch(FetchResponse {
                    error_code: 0,
                    session_id: 0,
                    topics,
                });
            }
            tokio::time::sleep(FETCH_POLL.min(deadline - Instant::now())).await;
        }
    }
}

/// The same topics and partitions, each partition answered by `answer(topic, partition)`.
fn each_partition<P, R>(
    topics: &[Topic<P>],
    mut answer: impl FnMut(&str, &P) -> R,
) -> Vec<Topic<R>> {
    (topics.iter())
        .map(|t| Topic {
            name: t.name.clone(),
            partitions: t.partitions.iter().map(|p| answer(&t.name, p)).collect(),
        })
        .collect()
}

fn produce_error(partition: i32, error_code: i16) -> ProducePartitionResponse {
    ProducePartitionResponse {
        partition,
        error_code,
        base_offset: -1,
        log_append_time_ms: -1,
        log_start_offset: -1,
    }
}
