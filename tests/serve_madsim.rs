//! The real mode's shell under madsim, which simulates its network, time and tasks (not its
//! files): the controller and brokers as madsim nodes running the same `shell::run` the
//! `serve` processes run, a client node speaking the project's wire codec. A leader killed
//! and restarted, a leader cut off from everyone, and a broker interrupted (a clean
//! shutdown) lose no acked record; hostile frames close only their own connection; a topic
//! asked for is created. The last two also run against real processes (`tests/serve.rs`).
//! Each run is repeatable from `MADSIM_TEST_SEED`.
//!
//! `RUSTFLAGS="--cfg madsim" CARGO_TARGET_DIR=target/madsim cargo test --test serve_madsim`
#![cfg(madsim)]

use std::time::Duration;

use madsim::net::NetSim;
use madsim::runtime::{Handle, NodeHandle};
use odradek::controller::TopicSpec;
use odradek::serve::{shell, ServeConfig};
use odradek::wire::request::*;
use odradek::wire::response::{decode_response, Response};
use odradek::wire::{ApiKey, Frames, REQUEST_MAX_BYTES_DEFAULT};
use odradek_sim::NodeId;
use tokio::io::{AsyncReadExt, AsyncWriteExt};
use tokio::net::TcpStream;

mod wire_client;
use wire_client::*;

fn config(name: &str) -> ServeConfig {
    let dir = std::env::temp_dir().join(format!("odradek-madsim-{name}-{}", std::process::id()));
    let _ = std::fs::remove_dir_all(&dir);
    ServeConfig {
        brokers: 3,
        dir,
        port: 9092,
        topics: vec![TopicSpec {
            name: TOPIC.into(),
            partitions: 3,
            replication_factor: 3,
        }],
        partitions: 3,
        replication_factor: 3,
        min_insync_replicas: 2,
        restart_delay_ms: 1000,
        hosts: (0..4).map(|i| format!("10.0.0.{}", 10 + i)).collect(),
    }
}

/// The nodes of `config` as madsim nodes, each running the shell; restarting one runs
/// it again on its files.
fn start(config: &ServeConfig) -> Vec<NodeHandle> {
    let handle = Handle::current();
    (config.nodes().into_iter())
        .map(|node| {
            let config = config.clone();
            handle
                .create_node()
                .name(format!("node-{}", node.0))
                .ip(config.host(node).parse().expect("an address"))
                .init(move || {
                    let config = config.clone();
                    async move {
                        let _ = shell::run(config, node).await;
                    }
                })
                .build()
        })
        .collect()
}

struct Client {
    config: ServeConfig,
    correlation: i32,
}

impl Client {
    /// One request on a fresh connection to `broker`; `None` if it is unreachable.
    async fn call(
        &mut self,
        broker: i32,
        api: ApiKey,
        version: i16,
        req: &Request,
    ) -> Option<Response> {
        self.correlation += 1;
        let node = NodeId(broker as u16);
        let addr = (self.config.host(node), self.config.client_port(node)?);
        let exchange = async {
            let mut stream = TcpStream::connect(addr).await.ok()?;
            let header = RequestHeader {
                api,
                version,
                correlation_id: self.correlation,
                client_id: None,
            };
            stream.write_all(&req.encode(&header)).await.ok()?;
            stream.flush().await.ok()?;
            let mut frames = Frames::new(REQUEST_MAX_BYTES_DEFAULT);
            let mut buf = vec![0; 65536];
            loop {
                if let Some(frame) = frames.next_frame().ok()? {
                    return decode_response(api, version, frame).ok().map(|(_, r)| r);
                }
                let n = stream.read(&mut buf).await.ok()?;
                if n == 0 {
                    return None;
                }
                frames.extend(&buf[..n]);
            }
        };
        tokio::time::timeout(Duration::from_secs(10), exchange)
            .await
            .ok()?
    }

    /// Each partition's (leader, leader epoch) once all three have a leader.
    async fn leaders(&mut self) -> Vec<(i32, i32)> {
        let req = metadata_request();
        for broker in (1..=3).cycle() {
            if let Some(Response::Metadata(m)) = self.call(broker, ApiKey::Metadata, 8, &req).await
            {
                let mut parts = m.topics[0].partitions.clone();
                parts.sort_by_key(|p| p.partition);
                if parts.len() == 3 && parts.iter().all(|p| p.leader_id > 0) {
                    return parts
                        .iter()
                        .map(|p| (p.leader_id, p.leader_epoch))
                        .collect();
                }
            }
            tokio::time::sleep(Duration::from_millis(100)).await;
        }
        unreachable!("the cycle is endless")
    }

    async fn producer(&mut self) -> (i64, i16) {
        let req = Request::InitProducerId(InitProducerIdRequest {
            transactional_id: None,
            transaction_timeout_ms: 60_000,
        });
        loop {
            for broker in 1..=3 {
                if let Some(Response::InitProducerId {
                    error_code: 0,
                    producer_id,
                    producer_epoch,
                }) = self.call(broker, ApiKey::InitProducerId, 1, &req).await
                {
                    return (producer_id, producer_epoch);
                }
            }
            tokio::time::sleep(Duration::from_millis(100)).await;
        }
    }

    /// Produces `value` as sequence `sequence` of `partition`, retrying until acked.
    async fn produce(
        &mut self,
        partition: i32,
        value: &str,
        producer: (i64, i16),
        sequence: i32,
    ) -> i64 {
        let req = produce_request(partition, one_record_batch(value, producer, sequence), -1);
        for _ in 0..600 {
            let leader = self.leaders().await[partition as usize].0;
            if let Some(Response::Produce(t)) = self.call(leader, ApiKey::Produce, 8, &req).await {
                if t[0].partitions[0].error_code == 0 {
                    return t[0].partitions[0].base_offset;
                }
            }
            tokio::time::sleep(Duration::from_millis(100)).await;
        }
        panic!("{value} was never acked");
    }

    /// Every (offset, value) of `partition` up to its high watermark.
    async fn read_all(&mut self, partition: i32) -> Vec<(i64, String)> {
        let mut out = Vec::new();
        let mut offset = 0;
        for _ in 0..600 {
            let leader = self.leaders().await[partition as usize].0;
            let req = fetch_request(partition, offset);
            let Some(Response::Fetch(f)) = self.call(leader, ApiKey::Fetch, 11, &req).await else {
                continue;
            };
            let p = &f.topics[0].partitions[0];
            if p.error_code != 0 {
                tokio::time::sleep(Duration::from_millis(100)).await;
                continue;
            }
            offset = read_records(p.records.clone().unwrap_or_default(), offset, &mut out);
            if offset >= p.high_watermark {
                return out;
            }
        }
        panic!("partition {partition} never read to its end");
    }
}

/// Produces 60 records, doing `fault` to partition 0's leader after 30, and checks every
/// acked record reads back once, in order; returns partition 0's (leader, epoch) before
/// the fault and after the run.
async fn run_with_fault(name: &str, fault: impl FnOnce(&NodeHandle)) -> ((i32, i32), (i32, i32)) {
    let config = config(name);
    let nodes = start(&config);
    let client_node = Handle::current()
        .create_node()
        .name("client")
        .ip("10.0.0.100".parse().unwrap())
        .build();
    let mut client = Client {
        config: config.clone(),
        correlation: 0,
    };
    let (producer, first) = client_node
        .spawn(async move {
            let producer = client.producer().await;
            let mut acked = Vec::new();
            for i in 0..30 {
                let value = format!("r{i}");
                acked.push((
                    i % 3,
                    client.produce(i % 3, &value, producer, i / 3).await,
                    value,
                ));
            }
            let before = client.leaders().await[0];
            (producer, (client, acked, before))
        })
        .await
        .unwrap();
    let (mut client, mut acked, before) = first;
    fault(&nodes[before.0 as usize]);
    let (acked, before, after) = client_node
        .spawn(async move {
            for i in 30..60 {
                let value = format!("r{i}");
                acked.push((
                    i % 3,
                    client.produce(i % 3, &value, producer, i / 3).await,
                    value,
                ));
            }
            for partition in 0..3 {
                let read = client.read_all(partition).await;
                let sent: Vec<(i64, String)> = (acked.iter())
                    .filter(|(p, _, _)| *p == partition)
                    .map(|(_, o, v)| (*o, v.clone()))
                    .collect();
                assert_eq!(
                    read, sent,
                    "partition {partition}: every acked record once, in order"
                );
            }
            let after = client.leaders().await[0];
            (acked, before, after)
        })
        .await
        .unwrap();
    assert_eq!(acked.len(), 60);
    let _ = std::fs::remove_dir_all(&config.dir);
    (before, after)
}

#[madsim::test]
async fn a_leader_killed_and_restarted_loses_no_acked_record() {
    let (before, after) = run_with_fault("kill", |leader| {
        let handle = Handle::current();
        handle.kill(leader.id());
        let id = leader.id();
        madsim::task::spawn(async move {
            tokio::time::sleep(Duration::from_secs(1)).await;
            Handle::current().restart(id);
        });
    })
    .await;
    assert!(
        after.1 > before.1,
        "partition 0 failed over: {before:?} -> {after:?}"
    );
}

#[madsim::test]
async fn a_leader_cut_off_from_everyone_loses_no_acked_record() {
    let (before, after) = run_with_fault("clog", |leader| {
        let id = leader.id();
        NetSim::current().clog_node(id);
        madsim::task::spawn(async move {
            tokio::time::sleep(Duration::from_secs(8)).await;
            NetSim::current().unclog_node(id);
        });
    })
    .await;
    assert!(
        after.1 > before.1,
        "partition 0 failed over: {before:?} -> {after:?}"
    );
}

#[madsim::test]
async fn an_interrupted_broker_shuts_down_cleanly_and_moves_its_leaderships() {
    let (before, after) = run_with_fault("interrupt", |leader| {
        Handle::current().send_ctrl_c(leader.id());
    })
    .await;
    assert_ne!(
        after.0, before.0,
        "the interrupted broker leads no more: {before:?} -> {after:?}"
    );
}

/// Starts `config`'s cluster and runs `body` on a client node of its own.
async fn on_client<T: Send + 'static>(
    config: &ServeConfig,
    body: impl FnOnce(Client) -> std::pin::Pin<Box<dyn std::future::Future<Output = T> + Send>>,
) -> T {
    let _nodes = start(config);
    let client_node = Handle::current()
        .create_node()
        .name("client")
        .ip("10.0.0.100".parse().unwrap())
        .build();
    let client = Client {
        config: config.clone(),
        correlation: 0,
    };
    let out = client_node.spawn(body(client)).await.unwrap();
    let _ = std::fs::remove_dir_all(&config.dir);
    out
}

#[madsim::test]
async fn a_hostile_frame_closes_only_its_own_connection() {
    let config = config("hostile");
    on_client(&config, |mut client| {
        Box::pin(async move {
            client.leaders().await;
            let hostile: [&[u8]; 3] = [
                // Metadata v1 claiming 2^31-1 topics.
                &[
                    0, 0, 0, 14, 0, 3, 0, 1, 0, 0, 0, 9, 0xff, 0xff, 0x7f, 0xff, 0xff, 0xff,
                ],
                // An unknown API key.
                &[0, 0, 0, 10, 0, 99, 0, 0, 0, 0, 0, 1, 0xff, 0xff],
                // A frame over socket.request.max.bytes.
                &[0x7f, 0xff, 0xff, 0xff, 1, 2, 3],
            ];
            let node = NodeId(1);
            let addr = (
                client.config.host(node).to_owned(),
                client.config.client_port(node).unwrap(),
            );
            let mut healthy = TcpStream::connect((addr.0.as_str(), addr.1)).await.unwrap();
            for frame in hostile {
                let mut bad = TcpStream::connect((addr.0.as_str(), addr.1)).await.unwrap();
                bad.write_all(frame).await.unwrap();
                bad.flush().await.unwrap();
                let mut buf = [0u8; 64];
                let read = tokio::time::timeout(Duration::from_secs(5), bad.read(&mut buf)).await;
                assert!(
                    matches!(read, Ok(Ok(0)) | Ok(Err(_))),
                    "{frame:?} closes its connection"
                );
                // The connection opened before still answers.
                let header = RequestHeader {
                    api: ApiKey::ApiVersions,
                    version: 2,
                    correlation_id: 1,
                    client_id: None,
                };
                healthy
                    .write_all(&Request::ApiVersions.encode(&header))
                    .await
                    .unwrap();
                healthy.flush().await.unwrap();
                let mut frames = Frames::new(REQUEST_MAX_BYTES_DEFAULT);
                let frame = loop {
                    if let Some(frame) = frames.next_frame().unwrap() {
                        break frame;
                    }
                    let n = healthy.read(&mut buf).await.unwrap();
                    assert!(n > 0, "the healthy connection stays open");
                    frames.extend(&buf[..n]);
                };
                let (_, response) = decode_response(ApiKey::ApiVersions, 2, frame).unwrap();
                assert!(matches!(
                    response,
                    Response::ApiVersions { error_code: 0, .. }
                ));
            }
        })
    })
    .await;
}

#[madsim::test]
async fn a_topic_a_client_asks_for_by_name_is_created() {
    let mut config = config("auto");
    config.topics.clear();
    let answers = on_client(&config, |mut client| {
        Box::pin(async move {
            let ask = Request::Metadata(MetadataRequest {
                topics: Some(vec!["fresh".into()]),
                allow_auto_topic_creation: true,
            });
            let mut answers = Vec::new();
            for _ in 0..600 {
                if let Some(Response::Metadata(m)) = client.call(1, ApiKey::Metadata, 8, &ask).await
                {
                    let t = &m.topics[0];
                    answers.push(t.error_code);
                    if t.error_code == 0
                        && t.partitions.len() == 3
                        && t.partitions.iter().all(|p| p.leader_id > 0)
                    {
                        return answers;
                    }
                }
                tokio::time::sleep(Duration::from_millis(100)).await;
            }
            panic!("fresh never got its leaders: {answers:?}");
        })
    })
    .await;
    assert!(answers.contains(&5), "created on request: {answers:?}");
}
