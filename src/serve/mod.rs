//! The real mode (`odradek serve`): the same controller and broker roles the simulation
//! runs, each in an OS process of its own, over TCP on 127.0.0.1 and real files, serving
//! real Kafka clients.
//!
//! This is a driver, not node code: it reads the wall clock, runs tokio and spawns
//! processes. The roles do not know which driver runs them: socket reads become
//! `on_message`, tokio sleeps become `on_timer`, a dropped connection becomes
//! `on_disconnect`, and a [`FileDisk`](odradek_sim::FileDisk) serves the `Disk` trait.
//!
//! - `supervisor`: `odradek serve` itself, which starts one process per node and restarts
//!   a broker process that dies, as a process manager would.
//! - [`shell`]: one node's process: the role, its timers, its connections.
//! - [`peer`]: the roles' typed messages between processes.
//! - [`front`]: Kafka's wire protocol in front of a broker, for real clients.
//! - [`coordinator`]: committed consumer offsets, the one thing real clients need that
//!   the roles do not model.

pub mod coordinator;
pub mod front;
pub mod peer;
pub mod shell;
#[cfg(not(madsim))]
pub mod supervisor;

use std::path::PathBuf;

use odradek_sim::NodeId;
use serde::{Deserialize, Serialize};

use crate::cluster::{ClusterSpec, Timing};
use crate::controller::TopicSpec;

/// Where everything of a real cluster is: what `serve` hands each node process.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct ServeConfig {
    /// Brokers, nodes 1..=brokers; the controller is node 0.
    pub brokers: u16,
    /// Each node's files are under `dir/node-<id>`.
    pub dir: PathBuf,
    /// The first broker's client port; broker `b` listens on `port + b - 1`.
    pub port: u16,
    /// Topics the controller creates once every broker has registered.
    pub topics: Vec<TopicSpec>,
    /// Partitions of a topic created because a client asked for it.
    pub partitions: i32,
    /// Replicas of a topic created because a client asked for it.
    pub replication_factor: usize,
    /// Kafka's `min.insync.replicas`.
    pub min_insync_replicas: usize,
    /// How long a dead broker process stays down before `serve` starts it again.
    pub restart_delay_ms: u64,
    /// Each node's address, by node id; empty: every node on 127.0.0.1 (the real mode).
    /// Under madsim each simulated node has an address of its own.
    #[serde(default)]
    pub hosts: Vec<String>,
}

/// Offset of the ports the nodes listen on for each other, above the client ports.
const CLUSTER_PORT_OFFSET: u16 = 100;

impl ServeConfig {
    /// The cluster the roles see: Kafka's settings, with timings between Kafka's defaults
    /// and the simulation's, so a killed broker is fenced and replaced in seconds.
    pub fn cluster(&self) -> ClusterSpec {
        ClusterSpec {
            controller: NodeId(0),
            brokers: self.broker_nodes(),
            topics: self.topics.clone(),
            min_insync_replicas: self.min_insync_replicas,
            unclean_leader_election_enable: false,
            timing: Timing {
                heartbeat_ms: 500,
                session_timeout_ms: 3_000,
                replica_lag_time_max_ms: 10_000,
                replica_fetch_backoff_ms: 200,
                replica_fetch_wait_max_ms: 500,
                replica_request_timeout_ms: 5_000,
                hw_checkpoint_ms: 5_000,
                periodic_timers: true,
            },
            bugs: Default::default(),
        }
    }

    /// The address `node` listens on and is reached at.
    pub fn host(&self, node: NodeId) -> &str {
        self.hosts
            .get(node.index())
            .map_or("127.0.0.1", String::as_str)
    }

    /// The brokers' nodes.
    pub fn broker_nodes(&self) -> Vec<NodeId> {
        (1..=self.brokers).map(NodeId).collect()
    }

    /// Every node: the controller, then the brokers.
    pub fn nodes(&self) -> Vec<NodeId> {
        (0..=self.brokers).map(NodeId).collect()
    }

    /// The port a broker serves Kafka clients on; `None` for the controller.
    pub fn client_port(&self, node: NodeId) -> Option<u16> {
        (node.0 >= 1 && node.0 <= self.brokers).then(|| self.port + node.0 - 1)
    }

    /// The port a node listens on for the other nodes.
    pub fn cluster_port(&self, node: NodeId) -> u16 {
        self.port + CLUSTER_PORT_OFFSET + node.0
    }

    /// Where a node keeps its files.
    pub fn node_dir(&self, node: NodeId) -> PathBuf {
        self.dir.join(format!("node-{}", node.0))
    }

    /// Where `serve` writes this configuration for its children.
    pub fn path(dir: &std::path::Path) -> PathBuf {
        dir.join("serve.json")
    }

    /// The bootstrap servers a client is given.
    pub fn bootstrap(&self) -> String {
        (self.broker_nodes().into_iter())
            .filter_map(|node| Some(format!("{}:{}", self.host(node), self.client_port(node)?)))
            .collect::<Vec<_>>()
            .join(",")
    }
}

/// Kafka's rule for topic names: 1 to 249 of `[a-zA-Z0-9._-]`.
pub fn valid_topic_name(name: &str) -> bool {
    (1..=249).contains(&name.len())
        && (name.chars()).all(|c| c.is_ascii_alphanumeric() || "._-".contains(c))
}

/// What went wrong starting or running a node.
#[derive(Debug, thiserror::Error)]
pub enum ServeError {
    /// A file or socket failed.
    #[error("{what}: {error}")]
    Io {
        /// What was being done.
        what: String,
        /// The error.
        error: std::io::Error,
    },
    /// The node's disk failed to open.
    #[error("disk: {0}")]
    Disk(#[from] odradek_sim::DiskError),
    /// A node process ended before the cluster was listening.
    #[error("node {node} exited before it was listening ({status})")]
    NodeFailed {
        /// The node.
        node: u16,
        /// How it ended.
        status: std::process::ExitStatus,
    },
    /// The configuration file is malformed.
    #[error("{path}: {error}")]
    Config {
        /// The file.
        path: PathBuf,
        /// What is wrong.
        error: String,
    },
}

impl ServeError {
    fn io(what: impl Into<String>) -> impl FnOnce(std::io::Error) -> ServeError {
        let what = what.into();
        move |error| ServeError::Io { what, error }
    }
}
