//! `odradek serve`: one process per node, supervised. A broker process that dies (`kill
//! -9` is a crash) is started again after the restart delay on the same directory, and
//! recovers from its files. SIGTERM or Ctrl-C stops every child with a controlled
//! shutdown (SIGTERM to each, brokers first, the controller last), then ends.

use std::path::Path;
use std::process::{Child, Command};
use std::time::Duration;

use odradek_sim::NodeId;
use tokio::signal::unix::SignalKind;
use tokio::time::Instant;

use super::shell::signal;
use super::{ServeConfig, ServeError};

/// A child still running this long after its SIGTERM is killed.
const STOP_GRACE: Duration = Duration::from_secs(20);

/// Starts every node of `config` with `exe` (this binary) and supervises them until a
/// signal asks to stop. Prints the bootstrap address once every node listens.
pub async fn supervise(exe: &Path, config: &ServeConfig) -> Result<(), ServeError> {
    // Before any child exists, so a signal never finds this process without its handlers.
    let mut terminate = signal(SignalKind::terminate())?;
    let mut interrupt = signal(SignalKind::interrupt())?;
    std::fs::create_dir_all(&config.dir)
        .map_err(ServeError::io(format!("{}", config.dir.display())))?;
    let path = ServeConfig::path(&config.dir);
    let json = serde_json::to_vec_pretty(config).expect("the configuration serializes");
    std::fs::write(&path, json).map_err(ServeError::io(format!("{}", path.display())))?;
    let spawn = |node: NodeId| -> Result<Child, ServeError> {
        Command::new(exe)
            .arg("serve-node")
            .arg("--config")
            .arg(&path)
            .arg("--node")
            .arg(node.0.to_string())
            .spawn()
            .map_err(ServeError::io(format!("start node {}", node.0)))
    };
    let mut children: Vec<(NodeId, Option<Child>, Option<Instant>)> = Vec::new();
    for node in config.nodes() {
        children.push((node, Some(spawn(node)?), None));
    }
    let restart_delay = Duration::from_millis(config.restart_delay_ms);
    let mut starting: Vec<u16> = (config.nodes().into_iter())
        .flat_map(|node| [Some(config.cluster_port(node)), config.client_port(node)])
        .flatten()
        .collect();
    let mut failed = None;
    loop {
        tokio::select! {
            _ = terminate.recv() => break,
            _ = interrupt.recv() => break,
            () = tokio::time::sleep(Duration::from_millis(50)) => {}
        }
        if !starting.is_empty() {
            let mut still = Vec::new();
            for port in starting {
                if tokio::net::TcpStream::connect(("127.0.0.1", port))
                    .await
                    .is_err()
                {
                    still.push(port);
                }
            }
            starting = still;
            if starting.is_empty() {
                println!("bootstrap: {}", config.bootstrap());
            }
        }
        for (node, child, restart_at) in &mut children {
            if let Some(running) = child {
                if let Ok(Some(status)) = running.try_wait() {
                    *child = None;
                    if !starting.is_empty() {
                        // A node that cannot start (its port taken, its files unreadable)
                        // would fail again: stop the others and say so.
                        failed = Some(ServeError::NodeFailed {
                            node: node.0,
                            status,
                        });
                        break;
                    }
                    println!(
                        "node {} exited ({status}); restarting in {restart_delay:?}",
                        node.0
                    );
                    *restart_at = Some(Instant::now() + restart_delay);
                }
            } else if restart_at.is_some_and(|at| Instant::now() >= at) {
                *restart_at = None;
                *child = Some(spawn(*node)?);
            }
        }
        if failed.is_some() {
            break;
        }
    }
    // Brokers first, all at once, so their controlled shutdowns reach a live controller.
    let (brokers, controller): (Vec<_>, Vec<_>) = (children.iter_mut())
        .filter_map(|(node, child, _)| Some((*node, child.as_mut()?)))
        .partition(|(node, _)| node.0 != 0);
    for group in [brokers, controller] {
        for (_, child) in &group {
            // SAFETY: signals a child this process started and has not reaped.
            unsafe {
                libc::kill(child.id() as libc::pid_t, libc::SIGTERM);
            }
        }
        for (node, child) in group {
            stop(node, child).await;
        }
    }
    failed.map_or(Ok(()), Err)
}

/// Waits for a signalled child to end, and kills it after [`STOP_GRACE`].
async fn stop(node: NodeId, child: &mut Child) {
    let deadline = Instant::now() + STOP_GRACE;
    while Instant::now() < deadline {
        if let Ok(Some(_)) = child.try_wait() {
            return;
        }
        tokio::time::sleep(Duration::from_millis(20)).await;
    }
    println!("node {} did not stop in {STOP_GRACE:?}; killing it", node.0);
    let _ = child.kill();
    let _ = child.wait();
}
