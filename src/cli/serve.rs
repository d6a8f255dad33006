//! `odradek serve`: the real mode. The controller and the brokers, each an OS process, on
//! 127.0.0.1 with their files under `--dir`, serving real Kafka clients; `serve-node` is
//! the one-node process `serve` starts for each.

use std::path::PathBuf;

use odradek::controller::TopicSpec;
use odradek::serve::{self, ServeConfig};
use odradek_sim::NodeId;

use super::Exit;

#[derive(Debug, clap::Args)]
pub(crate) struct Args {
    /// Brokers (nodes 1..=N; the controller is node 0).
    #[arg(long, default_value_t = 3)]
    brokers: u16,
    /// Where every node keeps its files (`DIR/node-<id>`); created if missing. A restart
    /// on the same directory recovers from the files alone.
    #[arg(long, default_value = "odradek-data")]
    dir: PathBuf,
    /// The first broker's client port; the others follow it. Nodes talk to each other on
    /// the ports 100 above (the controller's is PORT + 100).
    #[arg(long, default_value_t = 9092)]
    port: u16,
    /// Partitions of a topic created because a client asked for it, and of each `--topic`
    /// given without them.
    #[arg(long, default_value_t = 3)]
    partitions: i32,
    /// Replicas of a topic created because a client asked for it, and of each `--topic`
    /// given without them (at most --brokers).
    #[arg(long, default_value_t = 3)]
    replication_factor: usize,
    /// Kafka's `min.insync.replicas`.
    #[arg(long, default_value_t = 2)]
    min_insync_replicas: usize,
    /// A topic to create when the brokers first register: NAME or NAME:PARTITIONS:RF.
    #[arg(long = "topic", value_name = "NAME[:PARTITIONS:RF]")]
    topics: Vec<String>,
    /// How long a broker process that died stays down before it is started again.
    #[arg(long, default_value_t = 1000)]
    restart_delay_ms: u64,
}

#[derive(Debug, clap::Args)]
pub(crate) struct NodeArgs {
    /// The configuration `serve` wrote.
    #[arg(long)]
    config: PathBuf,
    /// The node to run.
    #[arg(long)]
    node: u16,
}

pub(crate) fn serve(args: &Args) -> Exit {
    let topics = match (args.topics.iter())
        .map(|t| topic(t, args.partitions, args.replication_factor, args.brokers))
        .collect::<Result<Vec<_>, _>>()
    {
        Ok(topics) => topics,
        Err(error) => {
            eprintln!("odradek: --topic {error}");
            return Exit::BadInput;
        }
    };
    let auto = topic(
        "auto",
        args.partitions,
        args.replication_factor,
        args.brokers,
    );
    if let Err(error) = auto {
        eprintln!("odradek: --partitions and --replication-factor: {error}");
        return Exit::BadInput;
    }
    if args.brokers == 0 || args.port.checked_add(100 + args.brokers).is_none() {
        eprintln!("odradek: --brokers must be 1 or more, with ports up to PORT + 100 + N free");
        return Exit::BadInput;
    }
    let config = ServeConfig {
        brokers: args.brokers,
        dir: args.dir.clone(),
        port: args.port,
        topics,
        partitions: args.partitions,
        replication_factor: args.replication_factor,
        min_insync_replicas: args.min_insync_replicas,
        restart_delay_ms: args.restart_delay_ms,
        hosts: Vec::new(),
    };
    let exe = match std::env::current_exe() {
        Ok(exe) => exe,
        Err(error) => {
            eprintln!("odradek: this binary's path: {error}");
            return Exit::BadInput;
        }
    };
    match runtime().block_on(serve::supervisor::supervise(&exe, &config)) {
        Ok(()) => Exit::Clean,
        Err(error) => {
            eprintln!("odradek: {error}");
            Exit::BadInput
        }
    }
}

pub(crate) fn serve_node(args: &NodeArgs) -> std::process::ExitCode {
    let config: ServeConfig = match std::fs::read(&args.config)
        .map_err(|e| e.to_string())
        .and_then(|bytes| serde_json::from_slice(&bytes).map_err(|e| e.to_string()))
    {
        Ok(config) => config,
        Err(error) => {
            eprintln!("odradek: {}: {error}", args.config.display());
            return std::process::ExitCode::from(2);
        }
    };
    match runtime().block_on(serve::shell::run(config, NodeId(args.node))) {
        Ok(serve::shell::Ended::Stopped) => std::process::ExitCode::SUCCESS,
        Ok(serve::shell::Ended::Halted) => std::process::ExitCode::from(serve::shell::HALT_EXIT),
        Err(error) => {
            eprintln!("odradek: node {}: {error}", args.node);
            std::process::ExitCode::from(2)
        }
    }
}

fn runtime() -> tokio::runtime::Runtime {
    tokio::runtime::Builder::new_current_thread()
        .enable_all()
        .build()
        .expect("a tokio runtime")
}

/// NAME or NAME:PARTITIONS:RF.
fn topic(spec: &str, partitions: i32, rf: usize, brokers: u16) -> Result<TopicSpec, String> {
    let parts: Vec<&str> = spec.split(':').collect();
    let (name, partitions, rf) = match parts.as_slice() {
        [name] => (*name, partitions, rf),
        [name, p, r] => (
            *name,
            p.parse()
                .map_err(|_| format!("{spec}: PARTITIONS is not a number"))?,
            r.parse()
                .map_err(|_| format!("{spec}: RF is not a number"))?,
        ),
        _ => return Err(format!("{spec}: expected NAME or NAME:PARTITIONS:RF")),
    };
    if !serve::valid_topic_name(name) {
        return Err(format!("{spec}: a topic name is 1-249 of [a-zA-Z0-9._-]"));
    }
    if partitions < 1 || rf < 1 || rf > usize::from(brokers) {
        return Err(format!(
            "{spec}: needs 1 or more partitions and 1..={brokers} replicas"
        ));
    }
    Ok(TopicSpec {
        name: name.into(),
        partitions,
        replication_factor: rf,
    })
}
