//! `Ctx`: everything a node may do, handed to each of its handlers.
//!
//! Outputs are recorded as commands and carried out by the world after the handler
//! returns, in the order the node issued them (stateright's and quinn's pattern), so a
//! handler never re-enters itself and the same node runs under either driver.

use crate::address::{NodeId, Peer};
use crate::chooser::Chooser;
use crate::disk::Disk;
use crate::node::Node;
use crate::sim_disk::SimDisk;

/// An output of a handler, carried out by the world in issue order.
#[derive(Debug)]
pub(crate) enum Command<N: Node> {
    Send(Peer, N::Msg),
    Disconnect(Peer),
    SetTimer(N::Timer, u64, u64),
    CancelTimer(N::Timer),
    Observe(N::Obs),
    Halt,
}

/// A node's window on the world during one handler call.
pub struct Ctx<'a, N: Node> {
    me: NodeId,
    disk: &'a mut SimDisk,
    chooser: &'a mut dyn Chooser,
    wall_clock_ms: i64,
    commands: &'a mut Vec<Command<N>>,
}

impl<'a, N: Node> Ctx<'a, N> {
    pub(crate) fn new(
        me: NodeId,
        disk: &'a mut SimDisk,
        chooser: &'a mut dyn Chooser,
        wall_clock_ms: i64,
        commands: &'a mut Vec<Command<N>>,
    ) -> Self {
        Self {
            me,
            disk,
            chooser,
            wall_clock_ms,
            commands,
        }
    }

    /// This node's id.
    pub fn me(&self) -> NodeId {
        self.me
    }

    /// Sends `msg` to `to`. Sending to a server dials it if no connection is open; a
    /// reply to a client whose connection was reset is lost, as on TCP.
    pub fn send(&mut self, to: Peer, msg: N::Msg) {
        self.commands.push(Command::Send(to, msg));
    }

    /// Resets the connection to `peer` (a request timeout, say): everything in flight on
    /// it is lost and the other end gets `on_disconnect`. A later `send` dials afresh.
    pub fn disconnect(&mut self, peer: Peer) {
        self.commands.push(Command::Disconnect(peer));
    }

    /// Arms `timer` to fire after `delay_ms` of this node's clock, replacing any earlier
    /// arming of the same timer.
    pub fn set_timer(&mut self, timer: N::Timer, delay_ms: u64) {
        self.commands.push(Command::SetTimer(timer, delay_ms, 0));
    }

    /// Arms `timer` to fire after `delay_ms` plus up to `jitter_ms` more, the extra drawn
    /// by the simulation driver from the seed. Randomised timeouts (election jitter) use
    /// this rather than `choose`: a delay is timing, which the explorer abstracts away,
    /// so it must not branch the search.
    pub fn set_timer_jittered(&mut self, timer: N::Timer, delay_ms: u64, jitter_ms: u64) {
        self.commands
            .push(Command::SetTimer(timer, delay_ms, jitter_ms));
    }

    /// Disarms `timer` if armed.
    pub fn cancel_timer(&mut self, timer: N::Timer) {
        self.commands.push(Command::CancelTimer(timer));
    }

    /// The node's disk, which survives its crashes.
    pub fn disk(&mut self) -> &mut dyn Disk {
        self.disk
    }

    /// Picks one of `n` outcomes (`n > 0`): the simulator answers from the seed, the
    /// explorer tries every answer.
    pub fn choose(&mut self, n: usize) -> usize {
        assert!(n > 0, "choose(0) has no answer");
        self.chooser.choose(n)
    }

    /// The node's wall clock in milliseconds since the Unix epoch: for record timestamps
    /// and observations only, never for decisions (those are timers). It can jump.
    pub fn wall_clock_ms(&self) -> i64 {
        self.wall_clock_ms
    }

    /// Reports `obs` to the checkers; it goes to a log beside the world.
    pub fn observe(&mut self, obs: N::Obs) {
        self.commands.push(Command::Observe(obs));
    }

    /// Stops the node, as a crash it asked for (after an fsync failure, say). Outputs
    /// issued before the call take effect; later ones are dropped.
    pub fn halt(&mut self) {
        self.commands.push(Command::Halt);
    }
}
