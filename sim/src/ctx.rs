//! The context a role's handlers write to: [`RoleCtx`], and [`Ctx`], the same context over
//! a whole node's types.
//!
//! Outputs are recorded as [`Command`]s in a buffer the driver owns and carried out after
//! the handler returns, in the order the role issued them (stateright's and quinn's
//! pattern), so a handler never re-enters itself and the same role runs under any driver:
//! the simulation, the explorer, or a real-mode shell that builds its own `RoleCtx` over a
//! real disk and carries the commands out on sockets.
//!
//! A role is written against its own timer and observation types. A node composed of
//! several roles runs each role's handler through [`RoleCtx::within`], which hands the role
//! a context of its own types and wraps what it issued into the node's; the node's
//! `on_timer` unwraps a timer back and passes it to the role that set it. So no role names
//! the composite or another role's timers.

use crate::address::{NodeId, Peer};
use crate::chooser::Chooser;
use crate::disk::Disk;
use crate::node::Node;

/// An output of a handler, carried out by the driver in issue order. `M` is the message
/// type, `T` the role's timers, `O` its observations.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Command<M, T, O> {
    /// Send a message to a peer, dialing it if no connection is open.
    Send(Peer, M),
    /// Reset the connection to a peer.
    Disconnect(Peer),
    /// Arm a timer (re-arming it if armed).
    SetTimer {
        /// The timer.
        timer: T,
        /// Its delay on the node's monotonic clock.
        delay_ms: u64,
        /// Up to this much more, drawn by the driver.
        jitter_ms: u64,
    },
    /// Disarm a timer if armed.
    CancelTimer(T),
    /// Report an observation to the checkers.
    Observe(O),
    /// Stop the node, as a crash it asked for.
    Halt,
    /// The node finished a clean shutdown and goes down until restarted.
    Exit,
}

impl<M, T, O> Command<M, T, O> {
    /// The same command with its timer and observation wrapped into another node's types.
    pub fn wrap<T2, O2>(
        self,
        timer: impl FnOnce(T) -> T2,
        obs: impl FnOnce(O) -> O2,
    ) -> Command<M, T2, O2> {
        match self {
            Command::Send(peer, msg) => Command::Send(peer, msg),
            Command::Disconnect(peer) => Command::Disconnect(peer),
            Command::SetTimer {
                timer: t,
                delay_ms,
                jitter_ms,
            } => Command::SetTimer {
                timer: timer(t),
                delay_ms,
                jitter_ms,
            },
            Command::CancelTimer(t) => Command::CancelTimer(timer(t)),
            Command::Observe(o) => Command::Observe(obs(o)),
            Command::Halt => Command::Halt,
            Command::Exit => Command::Exit,
        }
    }
}

/// A role's window on the world during one handler call: it records the role's commands,
/// lends its disk and answers its choices. Any driver can build one with
/// [`RoleCtx::new`].
pub struct RoleCtx<'a, M, T, O> {
    me: NodeId,
    disk: &'a mut dyn Disk,
    chooser: &'a mut dyn Chooser,
    wall_clock_ms: i64,
    commands: &'a mut Vec<Command<M, T, O>>,
}

/// The context of a whole node, over the node's own message, timer and observation types.
pub type Ctx<'a, N> = RoleCtx<'a, <N as Node>::Msg, <N as Node>::Timer, <N as Node>::Obs>;

impl<'a, M, T, O> RoleCtx<'a, M, T, O> {
    /// A context for one handler call of node `me`: the handler's commands are appended to
    /// `commands`, for the driver to carry out once the handler returns.
    pub fn new(
        me: NodeId,
        disk: &'a mut dyn Disk,
        chooser: &'a mut dyn Chooser,
        wall_clock_ms: i64,
        commands: &'a mut Vec<Command<M, T, O>>,
    ) -> Self {
        Self {
            me,
            disk,
            chooser,
            wall_clock_ms,
            commands,
        }
    }

    /// Runs `handler` of a role with timers `T2` and observations `O2` against this
    /// context: the role's commands land in this context's buffer in issue order, each
    /// timer wrapped by `timer` and each observation by `obs`.
    pub fn within<T2, O2, R>(
        &mut self,
        timer: impl Fn(T2) -> T,
        obs: impl Fn(O2) -> O,
        handler: impl FnOnce(&mut RoleCtx<'_, M, T2, O2>) -> R,
    ) -> R {
        let mut commands = Vec::new();
        let mut inner = RoleCtx {
            me: self.me,
            disk: &mut *self.disk,
            chooser: &mut *self.chooser,
            wall_clock_ms: self.wall_clock_ms,
            commands: &mut commands,
        };
        let result = handler(&mut inner);
        let wrapped = commands.into_iter().map(|c| c.wrap(&timer, &obs));
        self.commands.extend(wrapped);
        result
    }

    /// This node's id.
    pub fn me(&self) -> NodeId {
        self.me
    }

    /// Sends `msg` to `to`. Sending to a server dials it if no connection is open; a
    /// reply to a client whose connection was reset is lost, as on TCP.
    pub fn send(&mut self, to: Peer, msg: M) {
        self.commands.push(Command::Send(to, msg));
    }

    /// Resets the connection to `peer` (a request timeout, say): everything in flight on
    /// it is lost and the other end gets `on_disconnect`. A later `send` dials afresh.
    pub fn disconnect(&mut self, peer: Peer) {
        self.commands.push(Command::Disconnect(peer));
    }

    /// Arms `timer` to fire after `delay_ms` of this node's clock, replacing any earlier
    /// arming of the same timer.
    pub fn set_timer(&mut self, timer: T, delay_ms: u64) {
        self.set_timer_jittered(timer, delay_ms, 0);
    }

    /// Arms `timer` to fire after `delay_ms` plus up to `jitter_ms` more, the extra drawn
    /// by the driver from the seed. Randomised timeouts (election jitter) use this rather
    /// than `choose`: a delay is timing, which the explorer abstracts away, so it must not
    /// branch the search.
    pub fn set_timer_jittered(&mut self, timer: T, delay_ms: u64, jitter_ms: u64) {
        self.commands.push(Command::SetTimer {
            timer,
            delay_ms,
            jitter_ms,
        });
    }

    /// Disarms `timer` if armed.
    pub fn cancel_timer(&mut self, timer: T) {
        self.commands.push(Command::CancelTimer(timer));
    }

    /// The node's disk, which survives its crashes.
    pub fn disk(&mut self) -> &mut dyn Disk {
        &mut *self.disk
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
    pub fn observe(&mut self, obs: O) {
        self.commands.push(Command::Observe(obs));
    }

    /// Stops the node, as a crash it asked for (after an fsync failure, say). Outputs
    /// issued before the call take effect; later ones are dropped.
    pub fn halt(&mut self) {
        self.commands.push(Command::Halt);
    }

    /// Ends a clean shutdown the node was asked for (`on_stop`): it goes down, keeping its
    /// disk as a process exit does, and no supervisor restarts it. Outputs issued before
    /// the call take effect; later ones are dropped.
    pub fn exit(&mut self) {
        self.commands.push(Command::Exit);
    }
}
