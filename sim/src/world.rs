//! The world: every node's state, disk, clock and armed timers, and the network between
//! them, with the one function that applies an event to it.
//!
//! The world holds only what the protocol can see, so it is `Clone + Eq + Hash` and the
//! explorer can fingerprint it. When things happen (arrival times, timer deadlines,
//! virtual time) belongs to the driver, which learns what to schedule from the
//! [`Effect`]s each event returns. The node configurations are fixed for a run and are
//! left out of equality and hashing.

use std::collections::BTreeSet;
use std::fmt;
use std::hash::{Hash, Hasher};
use std::sync::Arc;

use crate::address::{ConnId, NodeId, Peer, Role, StreamId};
use crate::chooser::Chooser;
use crate::clock::{Clock, DRIFT_PPM_MAX};
use crate::ctx::{Command, Ctx, RoleCtx};
use crate::disk::{ByteRange, Disk};
use crate::effect::Effect;
use crate::event::{Event, EventError};
use crate::fault::{CrashMode, Fault};
use crate::network::Network;
use crate::node::Node;
use crate::sim_disk::{SimDisk, SimDiskOptions};

/// Handlers one event may run (the event's own plus the `on_disconnect` chains it sets
/// off) before the world calls it a runaway.
pub const HANDLERS_PER_EVENT_MAX: usize = 4096;

/// The most bytes one injected read error covers.
const READ_ERROR_BYTES_MAX: usize = 64;

/// Whether a node runs.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub enum Status {
    /// Handles messages and timers.
    Up,
    /// Stopped: its messages, timers and disconnect notices wait.
    Paused,
    /// Crashed (or never started): no node value exists; its disk does.
    Down,
}

#[derive(Debug, Clone, PartialEq, Eq, Hash)]
struct Slot<N: Node> {
    status: Status,
    /// `Some` exactly when the status is not `Down`.
    node: Option<N>,
    disk: SimDisk,
    timers: BTreeSet<N::Timer>,
    clock: Clock,
    /// Disconnects that happened while the node was paused, delivered at resume.
    owed: Vec<Peer>,
    /// Connections a power loss left half-open, reset when the node restarts. (Ones
    /// peers dial while it is down wait and survive the restart, as retried SYNs do.)
    stale: BTreeSet<ConnId>,
}

/// What applying one event borrows from the driver.
struct Step<'a, N: Node> {
    now_us: u64,
    chooser: &'a mut dyn Chooser,
    effects: &'a mut Vec<Effect<N>>,
    handlers: usize,
}

/// The whole state of a simulated system. See the module docs.
pub struct World<N: Node> {
    slots: Vec<Slot<N>>,
    network: Network<N::Msg>,
    configs: Arc<[N::Config]>,
}

impl<N: Node> World<N> {
    /// A world of one node per configuration, all down with empty disks. Start them with
    /// `Fault::Restart`.
    pub fn new(configs: Vec<N::Config>, disk: SimDiskOptions) -> Self {
        assert!(
            configs.len() <= usize::from(u16::MAX),
            "node ids are 16 bits"
        );
        let slots = configs
            .iter()
            .map(|_| Slot {
                status: Status::Down,
                node: None,
                disk: SimDisk::new(disk),
                timers: BTreeSet::new(),
                clock: Clock::default(),
                owed: Vec::new(),
                stale: BTreeSet::new(),
            })
            .collect();
        Self {
            slots,
            network: Network::default(),
            configs: configs.into(),
        }
    }

    /// How many nodes the world has.
    pub fn len(&self) -> usize {
        self.slots.len()
    }

    /// Whether the world has no nodes.
    pub fn is_empty(&self) -> bool {
        self.slots.is_empty()
    }

    /// Every node id, in order.
    pub fn ids(&self) -> impl Iterator<Item = NodeId> {
        (0..self.slots.len()).map(|i| NodeId(i as u16))
    }

    /// The node's state, unless it is down.
    pub fn node(&self, id: NodeId) -> Option<&N> {
        self.slots.get(id.index())?.node.as_ref()
    }

    /// The node's configuration.
    pub fn config(&self, id: NodeId) -> &N::Config {
        &self.configs[id.index()]
    }

    /// Whether the node is up, paused or down.
    pub fn status(&self, id: NodeId) -> Status {
        self.slots[id.index()].status
    }

    /// The node's disk.
    pub fn disk(&self, id: NodeId) -> &SimDisk {
        &self.slots[id.index()].disk
    }

    /// The node's clock.
    pub fn clock(&self, id: NodeId) -> Clock {
        self.slots[id.index()].clock
    }

    /// The node's armed timers.
    pub fn timers(&self, id: NodeId) -> impl Iterator<Item = &N::Timer> {
        self.slots[id.index()].timers.iter()
    }

    /// Every stream with a message in flight.
    pub fn busy_streams(&self) -> impl Iterator<Item = StreamId> + '_ {
        self.network.busy_streams()
    }

    /// How many messages the stream holds.
    pub fn in_flight(&self, stream: StreamId) -> usize {
        self.network.in_flight(stream)
    }

    /// The next message the stream would deliver.
    pub fn head(&self, stream: StreamId) -> Option<&N::Msg> {
        self.network.head(stream)
    }

    /// Extra latency a `SlowLink` fault put on the link, for the simulation driver.
    pub fn slow_ms(&self, from: NodeId, to: NodeId) -> u64 {
        self.network.slow_ms(from, to)
    }

    /// Whether the stream's head can be delivered now: there is one, its receiver is up,
    /// and no cut or hold stops it.
    pub fn can_deliver(&self, stream: StreamId) -> bool {
        self.delivery_blocker(stream).is_none()
    }

    /// Appends every delivery and timer event enabled now, in a fixed order: deliveries
    /// by stream, then timers by node and timer. Faults are the driver's choice.
    pub fn enabled(&self, out: &mut Vec<Event<N::Timer>>) {
        out.extend(
            self.busy_streams()
                .filter(|&stream| self.can_deliver(stream))
                .map(Event::Deliver),
        );
        for (i, slot) in self.slots.iter().enumerate() {
            if slot.status == Status::Up {
                let node = NodeId(i as u16);
                out.extend(slot.timers.iter().map(|timer| Event::Fire {
                    node,
                    timer: timer.clone(),
                }));
            }
        }
    }

    /// Applies one event at virtual time `now_us` (which only wall clocks read), asking
    /// `chooser` for every choice, and appends what it did to `effects`. A refused event
    /// changes nothing.
    pub fn apply(
        &mut self,
        event: &Event<N::Timer>,
        now_us: u64,
        chooser: &mut dyn Chooser,
        effects: &mut Vec<Effect<N>>,
    ) -> Result<(), EventError> {
        let mut step = Step {
            now_us,
            chooser,
            effects,
            handlers: 0,
        };
        match event {
            Event::Deliver(stream) => self.deliver(*stream, &mut step),
            Event::Fire { node, timer } => self.fire(*node, timer, &mut step),
            Event::Fault(fault) => self.fault(fault, &mut step),
        }
    }

    fn check_node(&self, node: NodeId) -> Result<(), EventError> {
        if node.index() < self.slots.len() {
            Ok(())
        } else {
            Err(EventError::UnknownNode {
                node,
                nodes: self.slots.len(),
            })
        }
    }

    fn delivery_blocker(&self, stream: StreamId) -> Option<&'static str> {
        let to = self.slots.get(stream.to().index())?;
        if self.network.head(stream).is_none() {
            return Some("stream empty");
        }
        if to.status != Status::Up {
            return Some("receiver not up");
        }
        self.network.stopped(stream)
    }

    fn deliver(&mut self, stream: StreamId, step: &mut Step<'_, N>) -> Result<(), EventError> {
        self.check_node(stream.from())?;
        self.check_node(stream.to())?;
        if let Some(reason) = self.delivery_blocker(stream) {
            return Err(not_enabled(&Event::<N::Timer>::Deliver(stream), reason));
        }
        let msg = self
            .network
            .pop(stream)
            .expect("a deliverable stream has a head");
        let from = stream.sender();
        self.run(stream.to(), step, |node, ctx| {
            node.on_message(ctx, from, msg)
        })
    }

    fn fire(
        &mut self,
        id: NodeId,
        timer: &N::Timer,
        step: &mut Step<'_, N>,
    ) -> Result<(), EventError> {
        self.check_node(id)?;
        let slot = &mut self.slots[id.index()];
        let reason = match slot.status {
            Status::Up if slot.timers.remove(timer) => None,
            Status::Up => Some("timer not armed"),
            _ => Some("node not up"),
        };
        if let Some(reason) = reason {
            let event = Event::Fire {
                node: id,
                timer: timer.clone(),
            };
            return Err(not_enabled(&event, reason));
        }
        let timer = timer.clone();
        self.run(id, step, |node, ctx| node.on_timer(ctx, timer))
    }

    /// Runs one handler of an up node, then carries out its commands.
    fn run(
        &mut self,
        id: NodeId,
        step: &mut Step<'_, N>,
        handler: impl FnOnce(&mut N, &mut Ctx<'_, N>),
    ) -> Result<(), EventError> {
        step.handlers += 1;
        if step.handlers > HANDLERS_PER_EVENT_MAX {
            return Err(EventError::RunawayDisconnects {
                handlers_max: HANDLERS_PER_EVENT_MAX,
            });
        }
        let mut commands = Vec::new();
        let slot = &mut self.slots[id.index()];
        debug_assert_eq!(slot.status, Status::Up);
        let wall_clock_ms = slot.clock.wall_clock_ms(step.now_us);
        let node = slot.node.as_mut().expect("an up node has a value");
        let mut ctx = RoleCtx::new(
            id,
            &mut slot.disk,
            &mut *step.chooser,
            wall_clock_ms,
            &mut commands,
        );
        handler(node, &mut ctx);
        self.collect_disk_reports(id, step);
        self.execute(id, commands, step)
    }

    fn execute(
        &mut self,
        id: NodeId,
        commands: Vec<Command<N::Msg, N::Timer, N::Obs>>,
        step: &mut Step<'_, N>,
    ) -> Result<(), EventError> {
        for command in commands {
            // A disconnect chain may have halted the node: the rest of its output dies
            // with it.
            if self.slots[id.index()].status != Status::Up {
                break;
            }
            match command {
                Command::Send(peer, msg) => self.send(id, peer, msg, step)?,
                Command::Disconnect(peer) => self.reset(peer.conn(id), Some(id), step)?,
                Command::SetTimer {
                    timer,
                    delay_ms,
                    jitter_ms,
                } => {
                    self.slots[id.index()].timers.insert(timer.clone());
                    step.effects.push(Effect::TimerSet {
                        node: id,
                        timer,
                        delay_ms,
                        jitter_ms,
                    });
                }
                Command::CancelTimer(timer) => {
                    if self.slots[id.index()].timers.remove(&timer) {
                        step.effects
                            .push(Effect::TimerCancelled { node: id, timer });
                    }
                }
                Command::Observe(obs) => step.effects.push(Effect::Observed { node: id, obs }),
                Command::Halt => {
                    self.crash(id, CrashMode::Process, true, step)?;
                    break;
                }
                Command::Exit => {
                    self.down(id, CrashMode::Process, Effect::Stopped { node: id }, step)?;
                    break;
                }
            }
        }
        Ok(())
    }

    fn send(
        &mut self,
        id: NodeId,
        peer: Peer,
        msg: N::Msg,
        step: &mut Step<'_, N>,
    ) -> Result<(), EventError> {
        if peer.node.index() >= self.slots.len() {
            return Err(EventError::UnknownReceiver {
                sender: id,
                receiver: peer.node,
            });
        }
        let stream = peer.outbound(id);
        let dial = peer.role == Role::Server;
        if self.network.push(stream, msg, dial) {
            step.effects.push(Effect::Sent(stream));
        }
        Ok(())
    }

    /// Closes the connection if open and tells every end but `by` (the node that asked).
    fn reset(
        &mut self,
        conn: ConnId,
        by: Option<NodeId>,
        step: &mut Step<'_, N>,
    ) -> Result<(), EventError> {
        if !self.network.close(conn) {
            return Ok(());
        }
        step.effects.push(Effect::Closed(conn));
        for end in [conn.client, conn.server] {
            self.slots[end.index()].stale.remove(&conn);
        }
        for end in [conn.client, conn.server] {
            if Some(end) != by {
                let peer = conn.peer_of(end).expect("an end of the connection");
                self.notify(end, peer, step)?;
            }
        }
        Ok(())
    }

    fn notify(&mut self, id: NodeId, peer: Peer, step: &mut Step<'_, N>) -> Result<(), EventError> {
        match self.slots[id.index()].status {
            Status::Up => self.run(id, step, |node, ctx| node.on_disconnect(ctx, peer)),
            Status::Paused => {
                self.slots[id.index()].owed.push(peer);
                Ok(())
            }
            Status::Down => Ok(()),
        }
    }

    fn collect_disk_reports(&mut self, id: NodeId, step: &mut Step<'_, N>) {
        for report in self.slots[id.index()].disk.take_reports() {
            step.effects.push(Effect::DiskFault { node: id, report });
        }
    }

    fn crash(
        &mut self,
        id: NodeId,
        mode: CrashMode,
        halted: bool,
        step: &mut Step<'_, N>,
    ) -> Result<(), EventError> {
        let crashed = Effect::Crashed {
            node: id,
            mode,
            halted,
        };
        self.down(id, mode, crashed, step)
    }

    /// Takes a node down, logging `how`: its value and timers go, its disk stays.
    fn down(
        &mut self,
        id: NodeId,
        mode: CrashMode,
        how: Effect<N>,
        step: &mut Step<'_, N>,
    ) -> Result<(), EventError> {
        let slot = &mut self.slots[id.index()];
        debug_assert_ne!(slot.status, Status::Down);
        slot.status = Status::Down;
        slot.node = None;
        slot.timers.clear();
        slot.owed.clear();
        step.effects.push(how);
        match mode {
            CrashMode::Process => {
                for conn in self.network.conns_of(id) {
                    self.reset(conn, Some(id), step)?;
                }
            }
            CrashMode::PowerLoss(loss) => {
                let stale = self.network.conns_of(id).into_iter().collect();
                let slot = &mut self.slots[id.index()];
                slot.stale = stale;
                slot.disk.power_loss(loss, &mut *step.chooser);
                self.collect_disk_reports(id, step);
            }
        }
        Ok(())
    }

    fn restart(&mut self, id: NodeId, step: &mut Step<'_, N>) -> Result<(), EventError> {
        // What a power loss left half-open meets a fresh machine that knows none of it.
        // (A process crash reset its connections already.)
        for conn in std::mem::take(&mut self.slots[id.index()].stale) {
            self.reset(conn, Some(id), step)?;
        }
        let slot = &mut self.slots[id.index()];
        slot.status = Status::Up;
        slot.node = Some(N::new(id, &self.configs[id.index()]));
        step.effects.push(Effect::Restarted { node: id });
        self.run(id, step, |node, ctx| node.on_start(ctx))
    }

    fn resume(&mut self, id: NodeId, step: &mut Step<'_, N>) -> Result<(), EventError> {
        let slot = &mut self.slots[id.index()];
        slot.status = Status::Up;
        let owed = std::mem::take(&mut slot.owed);
        for peer in owed {
            self.notify(id, peer, step)?;
        }
        Ok(())
    }

    fn fault(&mut self, fault: &Fault, step: &mut Step<'_, N>) -> Result<(), EventError> {
        for node in fault.nodes() {
            self.check_node(node)?;
        }
        if let Some(reason) = self.fault_blocker(fault) {
            return Err(not_enabled(
                &Event::<N::Timer>::Fault(fault.clone()),
                reason,
            ));
        }
        match fault {
            Fault::Crash { node, mode } => self.crash(*node, *mode, false, step)?,
            Fault::Restart { node } => self.restart(*node, step)?,
            Fault::Pause { node } => self.slots[node.index()].status = Status::Paused,
            Fault::Resume { node } => self.resume(*node, step)?,
            Fault::Stop { node } => self.run(*node, step, |node, ctx| node.on_stop(ctx))?,
            Fault::Reset { a, b } => {
                for conn in self.network.conns_between(*a, *b) {
                    self.reset(conn, None, step)?;
                }
            }
            Fault::FlipBit { node } => {
                let flipped = self.slots[node.index()].disk.flip_bit(&mut *step.chooser);
                debug_assert!(flipped, "fault_blocker checked for data");
                self.collect_disk_reports(*node, step);
            }
            Fault::ReadError { node } => {
                self.inject_read_error(*node, step);
                self.collect_disk_reports(*node, step);
            }
            _ => self.fault_without_handlers(fault),
        }
        Ok(())
    }

    /// Why a valid fault cannot be applied in this state, if anything stops it.
    fn fault_blocker(&self, fault: &Fault) -> Option<&'static str> {
        let status = |node: &NodeId| self.slots[node.index()].status;
        let has_data = |node: &NodeId| {
            let disk = &self.slots[node.index()].disk;
            disk.list().iter().any(|name| disk.len(name) != Ok(0))
        };
        match fault {
            Fault::Crash { node, .. } if status(node) == Status::Down => Some("node down"),
            Fault::Restart { node } if status(node) != Status::Down => Some("node not down"),
            Fault::Pause { node } | Fault::Stop { node } if status(node) != Status::Up => {
                Some("node not up")
            }
            Fault::Resume { node } if status(node) != Status::Paused => Some("node not paused"),
            Fault::Reset { a, b } if self.network.conns_between(*a, *b).is_empty() => {
                Some("no connection")
            }
            Fault::FlipBit { node } | Fault::ReadError { node } if !has_data(node) => {
                Some("no data on disk")
            }
            Fault::Drift { drift_ppm, .. } if drift_ppm.abs() > DRIFT_PPM_MAX => {
                Some("drift beyond DRIFT_PPM_MAX")
            }
            _ => None,
        }
    }

    /// Faults that change the network, disks or clocks without running any handler.
    fn fault_without_handlers(&mut self, fault: &Fault) {
        let all: Vec<NodeId> = self.ids().collect();
        let net = &mut self.network;
        match fault {
            Fault::Partition { side } => {
                let rest: Vec<NodeId> = all.iter().filter(|n| !side.contains(n)).copied().collect();
                net.cut(side, &rest);
                net.cut(&rest, side);
            }
            Fault::Isolate { node } => {
                net.cut(&[*node], &all);
                net.cut(&all, &[*node]);
            }
            Fault::PartitionOneWay { from, to } => net.cut(from, to),
            Fault::Bridge { left, right, .. } => {
                net.cut(left, right);
                net.cut(right, left);
            }
            Fault::HealPartitions => net.heal_partitions(),
            Fault::Hold { from, to, channel } => net.hold(*from, *to, *channel),
            Fault::Release { from, to, channel } => net.release(*from, *to, *channel),
            Fault::HoldKind { kind, from, to } => net.hold_kind(kind, *from, *to),
            Fault::ReleaseKind { kind, from, to } => net.release_kind(kind, *from, *to),
            Fault::SlowLink { from, to, extra_ms } => net.set_slow(*from, *to, *extra_ms),
            Fault::HealNetwork => net.heal(),
            Fault::FailSync { node } => self.slots[node.index()].disk.fail_next_sync(),
            Fault::FillDisk {
                node,
                headroom_bytes,
            } => {
                let disk = &mut self.slots[node.index()].disk;
                let capacity = disk.used_bytes().saturating_add(*headroom_bytes);
                disk.set_capacity(Some(capacity));
            }
            Fault::HealDisk { node } => self.slots[node.index()].disk.heal(),
            Fault::Drift { node, drift_ppm } => {
                self.slots[node.index()].clock.drift_ppm = *drift_ppm;
            }
            Fault::Jump { node, delta_ms } => {
                let clock = &mut self.slots[node.index()].clock;
                clock.offset_ms = clock.offset_ms.saturating_add(*delta_ms);
            }
            Fault::HealClock { node } => self.slots[node.index()].clock.drift_ppm = 0,
            Fault::Crash { .. }
            | Fault::Restart { .. }
            | Fault::Pause { .. }
            | Fault::Resume { .. }
            | Fault::Stop { .. }
            | Fault::Reset { .. }
            | Fault::FlipBit { .. }
            | Fault::ReadError { .. } => unreachable!("handled by World::fault"),
        }
    }

    /// Makes a chosen range of a chosen non-empty file unreadable.
    fn inject_read_error(&mut self, id: NodeId, step: &mut Step<'_, N>) {
        let disk = &mut self.slots[id.index()].disk;
        let files: Vec<(String, u64)> = disk
            .list()
            .into_iter()
            .filter_map(|name| disk.len(&name).ok().map(|len| (name, len)))
            .filter(|(_, len)| *len > 0)
            .collect();
        let (name, len) = &files[step.chooser.choose(files.len())];
        let len = usize::try_from(*len).expect("simulated files fit in memory");
        let start = step.chooser.choose(len);
        let bytes = 1 + step.chooser.choose((len - start).min(READ_ERROR_BYTES_MAX));
        let range = ByteRange::new(start as u64, (start + bytes) as u64);
        disk.inject_read_error(name, range)
            .expect("the file was just listed");
    }
}

fn not_enabled<T: fmt::Debug>(event: &Event<T>, reason: &'static str) -> EventError {
    EventError::NotEnabled {
        event: format!("{event:?}"),
        reason,
    }
}

impl<N: Node> Clone for World<N> {
    fn clone(&self) -> Self {
        Self {
            slots: self.slots.clone(),
            network: self.network.clone(),
            configs: Arc::clone(&self.configs),
        }
    }
}

impl<N: Node> PartialEq for World<N> {
    fn eq(&self, other: &Self) -> bool {
        self.slots == other.slots && self.network == other.network
    }
}

impl<N: Node> Eq for World<N> {}

impl<N: Node> Hash for World<N> {
    fn hash<H: Hasher>(&self, state: &mut H) {
        self.slots.hash(state);
        self.network.hash(state);
    }
}

impl<N: Node> fmt::Debug for World<N> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("World")
            .field("slots", &self.slots)
            .field("network", &self.network)
            .finish()
    }
}
