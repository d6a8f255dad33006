//! `odradek serve` as real clients see it, spoken to with the project's own wire codec over
//! TCP: an idempotent producer's acked records survive a SIGKILL of their leader's
//! process (which `serve` restarts) and read back once each, in order; hostile frames
//! close only their own connection; SIGTERM stops the cluster cleanly and a restart on the
//! same directory serves the same records from the files alone.
#![cfg(unix)]

use std::io::{BufRead, BufReader, Read, Write};
use std::net::TcpStream;
use std::process::{Child, Command, Stdio};
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

use bytes::Bytes;
use odradek::wire::request::*;
use odradek::wire::response::{decode_response, Response};
use odradek::wire::{ApiKey, Frames, REQUEST_MAX_BYTES_DEFAULT, UNSUPPORTED_VERSION};

mod wire_client;
use wire_client::*;

struct Serve {
    child: Child,
    stopped: bool,
    lines: Arc<Mutex<Vec<String>>>,
    port: u16,
}

impl Serve {
    fn start(dir: &std::path::Path, port: u16) -> Serve {
        Self::start_with(dir, port, &["--topic", &format!("{TOPIC}:3:3")])
    }

    fn start_with(dir: &std::path::Path, port: u16, args: &[&str]) -> Serve {
        let mut child = Command::new(env!("CARGO_BIN_EXE_odradek"))
            .args(["serve", "--port", &port.to_string()])
            .args(args)
            .arg("--dir")
            .arg(dir)
            .stdout(Stdio::piped())
            .spawn()
            .expect("odradek serve starts");
        let lines = Arc::new(Mutex::new(Vec::new()));
        let stdout = child.stdout.take().expect("piped");
        let sink = lines.clone();
        std::thread::spawn(move || {
            for line in BufReader::new(stdout).lines().map_while(Result::ok) {
                sink.lock().unwrap().push(line);
            }
        });
        let serve = Serve {
            child,
            stopped: false,
            lines,
            port,
        };
        serve.wait_for_line(|l| l.starts_with("bootstrap: "));
        serve
    }

    fn wait_for_line(&self, matches: impl Fn(&str) -> bool) -> String {
        let deadline = Instant::now() + Duration::from_secs(60);
        loop {
            if let Some(line) = self.lines.lock().unwrap().iter().find(|l| matches(l)) {
                return line.clone();
            }
            assert!(Instant::now() < deadline, "no such line: {:?}", self.lines);
            std::thread::sleep(Duration::from_millis(20));
        }
    }

    /// The pid of broker `id` in its latest incarnation.
    fn pid(&self, id: i32) -> i32 {
        let prefix = format!("broker {id} (pid ");
        let lines = self.lines.lock().unwrap();
        let line = lines
            .iter()
            .rev()
            .find(|l| l.starts_with(&prefix))
            .expect("listening");
        line[prefix.len()..]
            .split(')')
            .next()
            .unwrap()
            .parse()
            .unwrap()
    }

    fn connect(&self, broker: i32) -> Client {
        Client::connect(self.port + broker as u16 - 1)
    }

    /// SIGTERM, and the exit status.
    fn stop(mut self) -> std::process::ExitStatus {
        // SAFETY: signals the child this test started.
        unsafe { libc::kill(self.child.id() as i32, libc::SIGTERM) };
        let deadline = Instant::now() + Duration::from_secs(60);
        loop {
            if let Some(status) = self.child.try_wait().unwrap() {
                self.stopped = true;
                return status;
            }
            assert!(Instant::now() < deadline, "serve did not stop");
            std::thread::sleep(Duration::from_millis(20));
        }
    }
}

impl Drop for Serve {
    fn drop(&mut self) {
        // A failed test still stops its cluster.
        if !self.stopped {
            // SAFETY: signals the child this test started, not yet reaped.
            unsafe { libc::kill(self.child.id() as i32, libc::SIGTERM) };
            let deadline = Instant::now() + Duration::from_secs(30);
            while self.child.try_wait().ok().flatten().is_none() && Instant::now() < deadline {
                std::thread::sleep(Duration::from_millis(20));
            }
            let _ = self.child.kill();
            let _ = self.child.wait();
        }
    }
}

struct Client {
    stream: TcpStream,
    frames: Frames,
    correlation: i32,
}

impl Client {
    fn connect(port: u16) -> Client {
        let deadline = Instant::now() + Duration::from_secs(30);
        loop {
            if let Ok(stream) = TcpStream::connect(("127.0.0.1", port)) {
                stream
                    .set_read_timeout(Some(Duration::from_secs(30)))
                    .unwrap();
                return Client {
                    stream,
                    frames: Frames::new(REQUEST_MAX_BYTES_DEFAULT),
                    correlation: 0,
                };
            }
            assert!(Instant::now() < deadline, "port {port} never listened");
            std::thread::sleep(Duration::from_millis(50));
        }
    }

    fn call(&mut self, api: ApiKey, version: i16, request: &Request) -> Option<Response> {
        self.correlation += 1;
        let header = RequestHeader {
            api,
            version,
            correlation_id: self.correlation,
            client_id: Some("serve-test".into()),
        };
        self.stream.write_all(&request.encode(&header)).ok()?;
        let frame = self.read_frame()?;
        let (correlation, response) = decode_response(api, version, frame).expect("decodes");
        assert_eq!(correlation, self.correlation);
        Some(response)
    }

    fn read_frame(&mut self) -> Option<Bytes> {
        let mut buf = [0u8; 65536];
        loop {
            if let Some(frame) = self.frames.next_frame().expect("a valid frame") {
                return Some(frame);
            }
            match self.stream.read(&mut buf) {
                Ok(0) | Err(_) => return None,
                Ok(n) => self.frames.extend(&buf[..n]),
            }
        }
    }
}

/// Each partition's leader (-1 for none), as the first broker that answers sees them.
fn leaders(serve: &Serve) -> Vec<i32> {
    leaders_and_epochs(serve)
        .into_iter()
        .map(|(leader, _)| leader)
        .collect()
}

/// Each partition's leader and leader epoch.
fn leaders_and_epochs(serve: &Serve) -> Vec<(i32, i32)> {
    let request = metadata_request();
    let deadline = Instant::now() + Duration::from_secs(60);
    for broker in (1..=3).cycle() {
        assert!(Instant::now() < deadline, "no broker answers Metadata");
        if let Some(Response::Metadata(m)) =
            serve.connect(broker).call(ApiKey::Metadata, 8, &request)
        {
            let mut partitions = m.topics[0].partitions.clone();
            if partitions.len() != 3 {
                // The controller creates the topic once every broker has registered.
                std::thread::sleep(Duration::from_millis(50));
                continue;
            }
            partitions.sort_by_key(|p| p.partition);
            return (partitions.iter())
                .map(|p| (p.leader_id, p.leader_epoch))
                .collect();
        }
    }
    unreachable!("the cycle is endless")
}

/// Produces one record to `partition`, retrying (same sequence: the broker deduplicates)
/// through leader changes until acked.
fn produce(serve: &Serve, partition: i32, value: &str, producer: (i64, i16), sequence: i32) -> i64 {
    let deadline = Instant::now() + Duration::from_secs(90);
    let records = one_record_batch(value, producer, sequence);
    loop {
        assert!(Instant::now() < deadline, "{value} was never acked");
        let leader = leaders(serve)[partition as usize];
        if leader < 0 {
            std::thread::sleep(Duration::from_millis(100));
            continue;
        }
        let request = produce_request(partition, records.clone(), -1);
        match serve.connect(leader).call(ApiKey::Produce, 8, &request) {
            Some(Response::Produce(topics)) => {
                let p = &topics[0].partitions[0];
                if p.error_code == 0 {
                    return p.base_offset;
                }
                std::thread::sleep(Duration::from_millis(100));
            }
            _ => std::thread::sleep(Duration::from_millis(100)),
        }
    }
}

/// Every value in `partition` from offset 0 to its high watermark, read from its leader.
fn read_all(serve: &Serve, partition: i32) -> Vec<(i64, String)> {
    let deadline = Instant::now() + Duration::from_secs(60);
    let mut out = Vec::new();
    let mut offset = 0;
    loop {
        assert!(
            Instant::now() < deadline,
            "partition {partition} never read to its end"
        );
        let leader = leaders(serve)[partition as usize];
        if leader < 0 {
            std::thread::sleep(Duration::from_millis(100));
            continue;
        }
        let request = fetch_request(partition, offset);
        let Some(Response::Fetch(f)) = serve.connect(leader).call(ApiKey::Fetch, 11, &request)
        else {
            continue;
        };
        let p = &f.topics[0].partitions[0];
        if p.error_code != 0 {
            std::thread::sleep(Duration::from_millis(100));
            continue;
        }
        offset = read_records(p.records.clone().unwrap_or_default(), offset, &mut out);
        if offset >= p.high_watermark {
            return out;
        }
    }
}

fn temp_dir(name: &str) -> std::path::PathBuf {
    let dir = std::env::temp_dir().join(format!("odradek-{name}-{}", std::process::id()));
    let _ = std::fs::remove_dir_all(&dir);
    dir
}

#[test]
fn acked_records_survive_a_sigkill_of_their_leader_and_read_back_once_in_order() {
    let dir = temp_dir("serve-kill");
    let serve = Serve::start(&dir, 21092);
    let init = Request::InitProducerId(InitProducerIdRequest {
        transactional_id: None,
        transaction_timeout_ms: 60_000,
    });
    let Some(Response::InitProducerId {
        error_code: 0,
        producer_id,
        producer_epoch,
    }) = serve.connect(2).call(ApiKey::InitProducerId, 1, &init)
    else {
        panic!("no producer id");
    };
    let records = 90;
    let mut acked: Vec<(i32, i64, String)> = Vec::new();
    let mut killed = None;
    let mut epoch_before = -1;
    for i in 0..records {
        let partition = i % 3;
        if i == records / 2 {
            let (leader, epoch) = leaders_and_epochs(&serve)[0];
            epoch_before = epoch;
            // SAFETY: signals a process of the cluster this test started.
            unsafe { libc::kill(serve.pid(leader), libc::SIGKILL) };
            killed = Some(leader);
        }
        let value = format!("r{i}");
        let offset = produce(
            &serve,
            partition,
            &value,
            (producer_id, producer_epoch),
            i / 3,
        );
        acked.push((partition, offset, value));
    }
    let killed = killed.unwrap();
    // The hazard happened: the process died, `serve` restarted it, the partition moved.
    serve.wait_for_line(|l| l.starts_with(&format!("node {killed} exited (signal: 9")));
    assert_eq!(
        serve
            .lines
            .lock()
            .unwrap()
            .iter()
            .filter(|l| l.starts_with(&format!("broker {killed} (pid ")))
            .count(),
        2,
        "broker {killed} was restarted"
    );
    assert!(
        leaders_and_epochs(&serve)[0].1 > epoch_before,
        "partition 0 failed over from broker {killed}"
    );
    for partition in 0..3 {
        let read = read_all(&serve, partition);
        let values: Vec<&str> = read.iter().map(|(_, v)| v.as_str()).collect();
        let sent: Vec<&str> = (acked.iter())
            .filter(|(p, _, _)| *p == partition)
            .map(|(_, _, v)| v.as_str())
            .collect();
        assert_eq!(
            values, sent,
            "partition {partition}: each acked record once, in order"
        );
        for (p, offset, value) in acked.iter().filter(|(p, _, _)| *p == partition) {
            assert!(
                read.contains(&(*offset, value.clone())),
                "{value} at {p}/{offset}"
            );
        }
    }
    assert!(serve.stop().success());
    // The files alone: a new cluster on the same directory serves the same records.
    let again = Serve::start(&dir, 21092);
    for partition in 0..3 {
        let read = read_all(&again, partition);
        assert_eq!(
            read.len(),
            acked.iter().filter(|(p, _, _)| *p == partition).count()
        );
    }
    assert!(again.stop().success());
    let _ = std::fs::remove_dir_all(&dir);
}

#[test]
fn a_hostile_frame_closes_only_its_own_connection() {
    let dir = temp_dir("serve-hostile");
    let serve = Serve::start(&dir, 22092);
    let mut healthy = serve.connect(1);
    let versions =
        |client: &mut Client, v| client.call(ApiKey::ApiVersions, v, &Request::ApiVersions);
    let hostile: [&[u8]; 4] = [
        // Metadata v1 claiming 2^31-1 topics.
        &[
            0, 0, 0, 14, 0, 3, 0, 1, 0, 0, 0, 9, 0xff, 0xff, 0x7f, 0xff, 0xff, 0xff,
        ],
        // An unknown API key.
        &[0, 0, 0, 10, 0, 99, 0, 0, 0, 0, 0, 1, 0xff, 0xff],
        // A frame over socket.request.max.bytes.
        &[0x7f, 0xff, 0xff, 0xff, 1, 2, 3],
        // Produce v9 (flexible, not advertised).
        &[0, 0, 0, 10, 0, 0, 0, 9, 0, 0, 0, 1, 0xff, 0xff],
    ];
    for frame in hostile {
        let mut bad = serve.connect(2);
        bad.stream.write_all(frame).unwrap();
        assert_eq!(bad.read_frame(), None, "{frame:?} closes the connection");
        let Some(Response::ApiVersions {
            error_code: 0,
            apis,
        }) = versions(&mut healthy, 2)
        else {
            panic!("the other connection still answers");
        };
        assert_eq!(apis.len(), ApiKey::ALL.len());
    }
    // An acks=0 produce gets no response: the next frame answers the next request.
    let mut fire_and_forget = serve.connect(1);
    let produce = produce_request(0, one_record_batch("unacked", (-1, -1), -1), 0);
    let header = RequestHeader {
        api: ApiKey::Produce,
        version: 8,
        correlation_id: 7,
        client_id: None,
    };
    fire_and_forget
        .stream
        .write_all(&produce.encode(&header))
        .unwrap();
    fire_and_forget.correlation = 7;
    assert!(matches!(
        versions(&mut fire_and_forget, 2),
        Some(Response::ApiVersions { error_code: 0, .. })
    ));
    // A client newer than the broker learns its versions (KIP-511).
    let Some(Response::ApiVersions { error_code, apis }) = versions(&mut serve.connect(3), 3)
    else {
        panic!("ApiVersions v3 is answered");
    };
    assert_eq!(error_code, UNSUPPORTED_VERSION);
    assert!(apis.contains(&(18, 0, 2)));
    assert!(serve.stop().success());
    let _ = std::fs::remove_dir_all(&dir);
}

#[test]
fn a_topic_a_client_asks_for_by_name_is_created() {
    let dir = temp_dir("serve-auto");
    let serve = Serve::start_with(
        &dir,
        23092,
        &["--partitions", "2", "--replication-factor", "2"],
    );
    let ask = |allow| {
        Request::Metadata(MetadataRequest {
            topics: Some(vec!["fresh".into()]),
            allow_auto_topic_creation: allow,
        })
    };
    let topic = |client: &mut Client, allow| match client.call(ApiKey::Metadata, 8, &ask(allow)) {
        Some(Response::Metadata(m)) => m.topics[0].clone(),
        other => panic!("{other:?}"),
    };
    let mut client = serve.connect(1);
    assert_eq!(
        topic(&mut client, false).error_code,
        3,
        "not created unless allowed"
    );
    // As clients do: ask again, allowing creation, until the topic has its leaders; in
    // between it is LEADER_NOT_AVAILABLE (5).
    let deadline = Instant::now() + Duration::from_secs(30);
    let mut answers = Vec::new();
    loop {
        let t = topic(&mut client, true);
        answers.push(t.error_code);
        if t.error_code == 0 && t.partitions.iter().all(|p| p.leader_id > 0) {
            assert_eq!(t.partitions.len(), 2);
            assert!(t.partitions.iter().all(|p| p.replicas.len() == 2));
            break;
        }
        assert!(Instant::now() < deadline, "fresh never got leaders: {t:?}");
        std::thread::sleep(Duration::from_millis(50));
    }
    assert!(
        answers.contains(&5),
        "the topic was created on request: {answers:?}"
    );
    assert!(serve.stop().success());
    let _ = std::fs::remove_dir_all(&dir);
}
