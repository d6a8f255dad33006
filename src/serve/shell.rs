//! One node's process: the role driven by sockets, tokio timers and a real directory.
//!
//! The shell carries out a handler's commands as the simulation's world does: a send to a
//! server opens the connection if none is open (one per peer and channel, FIFO, as TCP
//! gives), a send on a connection that has gone is lost, a connection that breaks is an
//! `on_disconnect` on this side, and a timer set again replaces the one armed. A halt
//! (a disk error the role cannot go on from) ends the process with [`HALT_EXIT`], so the
//! supervisor restarts it, and the restart recovers from the files alone.

use std::collections::BTreeMap;
use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::Arc;
use std::time::{Duration, SystemTime, UNIX_EPOCH};

use odradek_sim::{Channel, Command, Ctx, FileDisk, Node, NodeId, Peer, Role, RoleCtx};
use tokio::io::{AsyncWriteExt, ReadHalf, WriteHalf};
use tokio::net::{TcpListener, TcpStream};
use tokio::sync::{mpsc, oneshot};
use tokio::time::Instant;

use super::front::Front;
use super::peer::{self, Hello};
use super::{ServeConfig, ServeError};
use crate::cluster::{KafkaNode, NodeConfig, Timer};
use crate::protocol::{Msg, CLIENT};

/// Exit status of a node process whose role halted.
pub const HALT_EXIT: u8 = 70;

/// How often a node checks that its supervisor is alive.
#[cfg(not(madsim))]
const PARENT_CHECK: Duration = Duration::from_millis(250);

/// A clean shutdown that has not finished in this long ends anyway.
const STOP_TIMEOUT: Duration = Duration::from_secs(15);

/// A connection that could not be opened is reported broken after this long, so a role
/// that resends at once does not spin.
const CONNECT_FAILED_DELAY: Duration = Duration::from_millis(100);

/// Synthetic client ids for requests the Kafka front hands this node: above every node
/// id, below those the fronts use to reach the controller ([`REMOTE_IDS`]).
const LOCAL_IDS: std::ops::Range<u16> = 10_000..40_000;

/// Synthetic client ids a broker's front uses towards the controller: a block per broker.
pub(crate) const REMOTE_IDS: u16 = 40_000;

/// What reaches the node's loop.
pub(crate) enum Input {
    /// A message on connection `conn` from `peer`.
    Message { peer: Peer, conn: u64, msg: Msg },
    /// Another node opened a connection.
    Opened {
        peer: Peer,
        conn: u64,
        tx: mpsc::UnboundedSender<Msg>,
    },
    /// Connection `conn` to `peer` broke or could not be opened.
    Closed { peer: Peer, conn: u64 },
    /// The Kafka front's request, answered on `reply` by whatever the role sends back.
    Call {
        msg: Msg,
        reply: oneshot::Sender<Msg>,
    },
}

/// How the process ended.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Ended {
    /// The role exited after a clean shutdown (or its timeout).
    Stopped,
    /// The role halted.
    Halted,
}

struct Conn {
    id: u64,
    tx: mpsc::UnboundedSender<Msg>,
    /// The reader of a connection this node opened; dropping `tx` ends the writer.
    reader: Option<tokio::task::AbortHandle>,
}

struct Shell {
    me: NodeId,
    config: Arc<ServeConfig>,
    node: KafkaNode,
    disk: FileDisk,
    rng: u64,
    timers: BTreeMap<Timer, Instant>,
    conns: BTreeMap<Peer, Conn>,
    conn_ids: Arc<AtomicU64>,
    calls: BTreeMap<u16, oneshot::Sender<Msg>>,
    next_call: u16,
    inbox: mpsc::UnboundedSender<Input>,
}

/// Runs node `me` of `config` until it stops (SIGTERM or Ctrl-C asks for a clean
/// shutdown) or halts. Prints one line when it is listening.
pub async fn run(config: ServeConfig, me: NodeId) -> Result<Ended, ServeError> {
    let config = Arc::new(config);
    let cluster = config.cluster();
    let node_config = cluster
        .server_configs()
        .into_iter()
        .nth(me.index())
        .ok_or_else(|| ServeError::Config {
            path: ServeConfig::path(&config.dir),
            error: format!("no node {}", me.0),
        })?;
    // Before the node is reachable, so a stop request always finds the handlers.
    let stop = stop_requests()?;
    tokio::pin!(stop);
    let dir = config.node_dir(me);
    std::fs::create_dir_all(&dir).map_err(ServeError::io(format!("{}", dir.display())))?;
    let disk = FileDisk::open(&dir)?;
    let (inbox, mut rx) = mpsc::unbounded_channel();
    let conn_ids = Arc::new(AtomicU64::new(1));
    let host = config.host(me).to_owned();
    let cluster_addr = (host.as_str(), config.cluster_port(me));
    let listener = TcpListener::bind(cluster_addr)
        .await
        .map_err(ServeError::io(format!("listen on {cluster_addr:?}")))?;
    tokio::spawn(accept(listener, inbox.clone(), conn_ids.clone()));
    let pid = std::process::id();
    match (&node_config, config.client_port(me)) {
        (NodeConfig::Broker(_), Some(port)) => {
            let front = Front::new(me, config.clone(), inbox.clone())?;
            let addr = (host.as_str(), port);
            let clients = TcpListener::bind(addr)
                .await
                .map_err(ServeError::io(format!("listen on {addr:?}")))?;
            tokio::spawn(front.serve(clients));
            println!(
                "broker {} (pid {pid}) listening on {host}:{port}, cluster {host}:{}",
                me.0, cluster_addr.1
            );
        }
        _ => println!(
            "controller (pid {pid}) listening on {host}:{}",
            cluster_addr.1
        ),
    }
    let seed = SystemTime::now()
        .duration_since(UNIX_EPOCH)
        .map_or(1, |d| d.as_nanos() as u64)
        | 1;
    let mut shell = Shell {
        me,
        node: KafkaNode::new(me, &node_config),
        config,
        disk,
        rng: seed,
        timers: BTreeMap::new(),
        conns: BTreeMap::new(),
        conn_ids,
        calls: BTreeMap::new(),
        next_call: LOCAL_IDS.start,
        inbox,
    };
    if let Some(ended) = shell.handle(|node, ctx| node.on_start(ctx)) {
        return Ok(ended);
    }
    let mut stop_by: Option<Instant> = None;
    loop {
        let next = (shell.timers.iter())
            .min_by_key(|(_, at)| **at)
            .map(|(timer, at)| (timer.clone(), *at));
        let far = Instant::now() + Duration::from_secs(3600);
        let ended = tokio::select! {
            input = rx.recv() => match input {
                Some(input) => shell.input(input),
                None => Some(Ended::Stopped),
            },
            () = tokio::time::sleep_until(next.as_ref().map_or(far, |(_, at)| *at)), if next.is_some() => {
                let (timer, _) = next.expect("a timer is armed");
                shell.timers.remove(&timer);
                shell.handle(|node, ctx| node.on_timer(ctx, timer))
            }
            () = &mut stop, if stop_by.is_none() => {
                stop_by = Some(Instant::now() + STOP_TIMEOUT);
                shell.handle(|node, ctx| node.on_stop(ctx))
            }
            () = tokio::time::sleep_until(stop_by.unwrap_or(far)), if stop_by.is_some() => {
                Some(Ended::Stopped)
            }
        };
        if let Some(ended) = ended {
            // Queued writes go out before the process ends: a controlled shutdown's
            // last messages are part of it.
            shell.conns.clear();
            tokio::time::sleep(Duration::from_millis(50)).await;
            return Ok(ended);
        }
    }
}

impl Shell {
    fn input(&mut self, input: Input) -> Option<Ended> {
        match input {
            Input::Message { peer, conn, msg } => {
                if self.conns.get(&peer).map(|c| c.id) != Some(conn) {
                    return None;
                }
                self.handle(|node, ctx| node.on_message(ctx, peer, msg))
            }
            Input::Opened { peer, conn, tx } => {
                let old = self.conns.insert(
                    peer,
                    Conn {
                        id: conn,
                        tx,
                        reader: None,
                    },
                );
                // A peer that connects again has lost its old connection.
                match old {
                    Some(_) => self.handle(|node, ctx| node.on_disconnect(ctx, peer)),
                    None => None,
                }
            }
            Input::Closed { peer, conn } => {
                if self.conns.get(&peer).map(|c| c.id) != Some(conn) {
                    return None;
                }
                self.conns.remove(&peer);
                self.handle(|node, ctx| node.on_disconnect(ctx, peer))
            }
            Input::Call { msg, reply } => {
                if let Some(ended) = self.forget_abandoned_calls() {
                    return Some(ended);
                }
                let id = self.call_id();
                self.calls.insert(id, reply);
                let peer = Peer::client(NodeId(id), CLIENT);
                self.handle(|node, ctx| node.on_message(ctx, peer, msg))
            }
        }
    }

    /// Calls whose front stopped waiting (a request timed out, a client went away, an
    /// acks=0 produce): like a client's reset connection, so held fetches are dropped.
    fn forget_abandoned_calls(&mut self) -> Option<Ended> {
        let gone: Vec<u16> = (self.calls.iter())
            .filter(|(_, reply)| reply.is_closed())
            .map(|(id, _)| *id)
            .collect();
        for id in gone {
            self.calls.remove(&id);
            let peer = Peer::client(NodeId(id), CLIENT);
            if let Some(ended) = self.handle(|node, ctx| node.on_disconnect(ctx, peer)) {
                return Some(ended);
            }
        }
        None
    }

    fn call_id(&mut self) -> u16 {
        loop {
            let id = self.next_call;
            self.next_call = if id + 1 >= LOCAL_IDS.end {
                LOCAL_IDS.start
            } else {
                id + 1
            };
            if !self.calls.contains_key(&id) {
                return id;
            }
        }
    }

    fn random(&mut self) -> u64 {
        // xorshift64: the shell's choices need no reproducibility, only spread.
        self.rng ^= self.rng << 13;
        self.rng ^= self.rng >> 7;
        self.rng ^= self.rng << 17;
        self.rng
    }

    /// Runs one handler and carries out its commands.
    fn handle(
        &mut self,
        handler: impl FnOnce(&mut KafkaNode, &mut Ctx<'_, KafkaNode>),
    ) -> Option<Ended> {
        let mut commands = Vec::new();
        let wall_clock_ms = SystemTime::now()
            .duration_since(UNIX_EPOCH)
            .map_or(0, |d| d.as_millis() as i64);
        let mut rng = self.random();
        let mut chooser = |n: usize| {
            rng = rng.rotate_left(17).wrapping_mul(0x9e37_79b9_7f4a_7c15);
            (rng % n as u64) as usize
        };
        let mut ctx = RoleCtx::new(
            self.me,
            &mut self.disk,
            &mut chooser,
            wall_clock_ms,
            &mut commands,
        );
        handler(&mut self.node, &mut ctx);
        for command in commands {
            match command {
                Command::Send(peer, msg) => self.send(peer, msg),
                Command::Disconnect(peer) => {
                    if let Some(conn) = self.conns.remove(&peer) {
                        if let Some(reader) = conn.reader {
                            reader.abort();
                        }
                    }
                }
                Command::SetTimer {
                    timer,
                    delay_ms,
                    jitter_ms,
                } => {
                    let jitter = match jitter_ms {
                        0 => 0,
                        j => self.random() % (j + 1),
                    };
                    let at = Instant::now() + Duration::from_millis(delay_ms + jitter);
                    self.timers.insert(timer, at);
                }
                Command::CancelTimer(timer) => {
                    self.timers.remove(&timer);
                }
                Command::Observe(obs) => tracing::debug!(node = %self.me, ?obs, "observed"),
                Command::Halt => {
                    tracing::error!(node = %self.me, "halted");
                    return Some(Ended::Halted);
                }
                Command::Exit => return Some(Ended::Stopped),
            }
        }
        None
    }

    fn send(&mut self, peer: Peer, msg: Msg) {
        if peer.role == Role::Client {
            if let Some(reply) = self.calls.remove(&peer.node.0) {
                let _ = reply.send(msg);
                return;
            }
        }
        if let Some(conn) = self.conns.get(&peer) {
            // A connection whose writer ended is about to be reported closed; the
            // message is lost with it.
            let _ = conn.tx.send(msg);
            return;
        }
        if peer.role == Role::Client {
            // The client's connection is gone: lost, as on a reset connection.
            return;
        }
        let conn = self.connect(peer);
        let _ = conn.tx.send(msg);
        self.conns.insert(peer, conn);
    }

    /// Opens a connection to a server node; messages queue until it is open.
    fn connect(&mut self, peer: Peer) -> Conn {
        let id = self.conn_ids.fetch_add(1, Ordering::Relaxed);
        let (tx, rx) = mpsc::unbounded_channel();
        let addr = (
            self.config.host(peer.node).to_owned(),
            self.config.cluster_port(peer.node),
        );
        let inbox = self.inbox.clone();
        let hello = Hello {
            from: self.me.0,
            channel: peer.channel.0,
        };
        let reader = tokio::spawn(async move {
            let stream = match TcpStream::connect((addr.0.as_str(), addr.1)).await {
                Ok(stream) => stream,
                Err(_) => {
                    tokio::time::sleep(CONNECT_FAILED_DELAY).await;
                    let _ = inbox.send(Input::Closed { peer, conn: id });
                    return;
                }
            };
            let _ = stream.set_nodelay(true);
            let (rd, mut wr) = tokio::io::split(stream);
            let hello = peer::encode(&hello);
            if wr.write_all(&hello).await.is_err() || wr.flush().await.is_err() {
                let _ = inbox.send(Input::Closed { peer, conn: id });
                return;
            }
            tokio::spawn(write_loop(wr, rx));
            read_loop(rd, peer, id, &inbox).await;
            let _ = inbox.send(Input::Closed { peer, conn: id });
        });
        Conn {
            id,
            tx,
            reader: Some(reader.abort_handle()),
        }
    }
}

/// Accepts the other nodes' connections, each introduced by its [`Hello`].
async fn accept(
    listener: TcpListener,
    inbox: mpsc::UnboundedSender<Input>,
    conn_ids: Arc<AtomicU64>,
) {
    loop {
        let Ok((stream, _)) = listener.accept().await else {
            continue;
        };
        let inbox = inbox.clone();
        let conn_ids = conn_ids.clone();
        tokio::spawn(async move {
            let _ = stream.set_nodelay(true);
            let (mut rd, wr) = tokio::io::split(stream);
            let hello = tokio::time::timeout(Duration::from_secs(5), peer::read::<Hello>(&mut rd));
            let Ok(Ok(hello)) = hello.await else {
                return;
            };
            let peer = Peer::client(NodeId(hello.from), Channel(hello.channel));
            let conn = conn_ids.fetch_add(1, Ordering::Relaxed);
            let (tx, rx) = mpsc::unbounded_channel();
            tokio::spawn(write_loop(wr, rx));
            if inbox.send(Input::Opened { peer, conn, tx }).is_err() {
                return;
            }
            read_loop(rd, peer, conn, &inbox).await;
            let _ = inbox.send(Input::Closed { peer, conn });
        });
    }
}

async fn read_loop(
    mut rd: ReadHalf<TcpStream>,
    peer: Peer,
    conn: u64,
    inbox: &mpsc::UnboundedSender<Input>,
) {
    loop {
        match peer::read::<Msg>(&mut rd).await {
            Ok(msg) => {
                if inbox.send(Input::Message { peer, conn, msg }).is_err() {
                    return;
                }
            }
            Err(error) => {
                tracing::debug!(?peer, %error, "connection closed");
                return;
            }
        }
    }
}

async fn write_loop(mut wr: WriteHalf<TcpStream>, mut rx: mpsc::UnboundedReceiver<Msg>) {
    while let Some(msg) = rx.recv().await {
        if peer::write(&mut wr, &msg).await.is_err() {
            return;
        }
    }
    let _ = wr.shutdown().await;
}

/// Resolves when the node is asked to stop: SIGTERM or Ctrl-C, or its supervisor gone (so
/// a node never lives on alone). The handlers are installed when this is called.
#[cfg(not(madsim))]
fn stop_requests() -> Result<impl std::future::Future<Output = ()>, ServeError> {
    use tokio::signal::unix::SignalKind;
    let mut terminate = signal(SignalKind::terminate())?;
    let mut interrupt = signal(SignalKind::interrupt())?;
    // SAFETY: getppid has no preconditions.
    let parent = unsafe { libc::getppid() };
    Ok(async move {
        let mut check = tokio::time::interval(PARENT_CHECK);
        loop {
            tokio::select! {
                _ = terminate.recv() => return,
                _ = interrupt.recv() => return,
                _ = check.tick() => {
                    // SAFETY: getppid has no preconditions.
                    if unsafe { libc::getppid() } != parent {
                        return;
                    }
                }
            }
        }
    })
}

/// Under madsim: the simulated Ctrl-C a test sends the node (`Handle::send_ctrl_c`).
#[cfg(madsim)]
fn stop_requests() -> Result<impl std::future::Future<Output = ()>, ServeError> {
    Ok(async {
        let _ = tokio::signal::ctrl_c().await;
    })
}

/// A handler for `kind`, installed now.
#[cfg(not(madsim))]
pub(crate) fn signal(
    kind: tokio::signal::unix::SignalKind,
) -> Result<tokio::signal::unix::Signal, ServeError> {
    tokio::signal::unix::signal(kind).map_err(ServeError::io("installing a signal handler"))
}
