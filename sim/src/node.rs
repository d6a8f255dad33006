//! The contract a system under test signs: sans-IO nodes.
//!
//! A node is a plain value that reacts to inputs (`on_*`) and acts only through its
//! [`Ctx`]: it sends, sets timers, touches its disk, asks for choices and reports
//! observations there. It performs no IO, reads no clock, spawns nothing and draws no
//! randomness of its own. That is what lets one seed reproduce a run and lets the explorer
//! enumerate every interleaving of the same nodes.

use std::fmt::Debug;
use std::hash::Hash;

use serde::de::DeserializeOwned;
use serde::Serialize;

use crate::address::{NodeId, Peer};
use crate::ctx::Ctx;

/// What nodes send each other.
pub trait Message: Clone + Eq + Hash + Debug {
    /// A short static name of the message's kind (`"produce_response"`), which fault
    /// filters match to hold a stream from the first message of that kind on.
    fn kind(&self) -> &'static str;
}

/// One node of the system under test.
///
/// Determinism contract: given the same state and the same inputs (including the answers
/// of `ctx.choose` and what its disk returns), a handler makes the same state change and
/// the same calls on its context. State is `Clone + Eq + Hash` so the explorer can
/// fingerprint it: use `BTreeMap`/`Vec`, never a randomly seeded `HashMap`, and keep
/// counters without protocol meaning out of it.
pub trait Node: Clone + Eq + Hash + Debug + Sized {
    /// The messages this system's nodes exchange.
    type Msg: Message;
    /// The node's own timer names. Timers are keyed by value: setting an armed timer
    /// re-arms it.
    type Timer: Clone + Eq + Ord + Hash + Debug + Serialize + DeserializeOwned;
    /// What the node reports to the checkers; kept in a log beside the world and folded
    /// into the trace hash, so determinism covers what the checkers judge.
    type Obs: Clone + Hash + Debug;
    /// What a node is built from. The world keeps each node's configuration, so a
    /// restart builds a fresh value from it and nothing of the crashed value survives.
    type Config: Clone + Debug;

    /// A fresh node, as a process starts: nothing but its identity and configuration.
    fn new(id: NodeId, config: &Self::Config) -> Self;
    /// Called once on every fresh value, also after a restart: recover from the disk.
    fn on_start(&mut self, ctx: &mut Ctx<'_, Self>);
    /// A message arrived from `from` on the connection that `from` names.
    fn on_message(&mut self, ctx: &mut Ctx<'_, Self>, from: Peer, msg: Self::Msg);
    /// An armed timer fired; it is no longer armed.
    fn on_timer(&mut self, ctx: &mut Ctx<'_, Self>, timer: Self::Timer);
    /// The connection to `peer` was reset: everything in flight on it, both ways, is
    /// lost. Not called for a reset this node asked for with `ctx.disconnect`.
    fn on_disconnect(&mut self, ctx: &mut Ctx<'_, Self>, peer: Peer);
    /// Asked to shut down cleanly (`Fault::Stop`): the node finishes what it must (hand
    /// off work, make its state durable) and calls `ctx.exit()` when done, now or from a
    /// later handler. By default it exits at once.
    fn on_stop(&mut self, ctx: &mut Ctx<'_, Self>) {
        ctx.exit();
    }
}
