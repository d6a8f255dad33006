//! The client: writes unique values one at a time, and retries until each is acked.
//!
//! It sends to the replica it believes leads; on a refusal, a timeout or a reset it
//! switches to the other replica and retries the same value after a backoff. A retry may
//! append the value twice; only the (value, index) pairs the replicas ack are promises.
//! It records every ack it receives as an observation, which is the history the checker
//! holds the replicas to. It owns its next value and reads no clock but for timestamps.

use std::collections::BTreeMap;

use odradek_sim::{Ctx, NodeId, Peer};

use super::{Msg, Obs, PbNode, Timer, CLIENT};

/// Pause between an ack and the next write: the client's load.
pub const THINK_MS: u64 = 10;
/// How long the client waits for an answer before it gives up on the connection.
pub const REQUEST_TIMEOUT_MS: u64 = 500;
/// Pause before a retry.
pub const BACKOFF_MS: u64 = 50;

/// The client. See the module docs.
#[derive(Debug, Clone, PartialEq, Eq, Hash)]
pub struct Client {
    replicas: [NodeId; 2],
    /// Which replica it sends to.
    target: usize,
    /// The next value to write.
    next_value: u64,
    /// The value written and not yet acked.
    in_flight: Option<u64>,
    /// Values it writes at most.
    writes_max: u64,
    /// Every ack received: value -> index. The promises the replicas made, kept in state
    /// so the explorer's properties can hold the replicas to them.
    acked: BTreeMap<u64, u64>,
}

impl Client {
    /// A fresh client value.
    pub fn new(replicas: [NodeId; 2], writes_max: u64) -> Self {
        Self {
            replicas,
            target: 0,
            next_value: 1,
            in_flight: None,
            writes_max,
            acked: BTreeMap::new(),
        }
    }

    /// Every ack received: value -> index.
    pub fn acked(&self) -> &BTreeMap<u64, u64> {
        &self.acked
    }

    fn server(&self) -> Peer {
        Peer::server(self.replicas[self.target], CLIENT)
    }

    /// Starts writing after one think time.
    pub fn on_start(&mut self, ctx: &mut Ctx<'_, PbNode>) {
        ctx.set_timer(Timer::Send, THINK_MS);
    }

    /// Handles a replica's answer.
    pub fn on_message(&mut self, ctx: &mut Ctx<'_, PbNode>, from: Peer, msg: Msg) {
        match msg {
            Msg::Ack { value, index } => {
                ctx.observe(Obs::Acked {
                    value,
                    index,
                    wall_clock_ms: ctx.wall_clock_ms(),
                });
                self.acked.insert(value, index);
                if self.in_flight == Some(value) {
                    self.in_flight = None;
                    ctx.cancel_timer(Timer::RequestTimeout);
                    ctx.set_timer(Timer::Send, THINK_MS);
                }
            }
            Msg::NotPrimary | Msg::Rejected if from == self.server() => self.retry(ctx),
            Msg::NotPrimary | Msg::Rejected => {}
            Msg::Write { .. }
            | Msg::Append { .. }
            | Msg::Appended { .. }
            | Msg::Mismatch { .. }
            | Msg::Stale { .. } => unreachable!("the client gets only replies: {msg:?}"),
        }
    }

    /// Sends (or resends) a write, or gives up on a silent replica.
    pub fn on_timer(&mut self, ctx: &mut Ctx<'_, PbNode>, timer: Timer) {
        match timer {
            Timer::Send => {
                if self.in_flight.is_none() && self.next_value <= self.writes_max {
                    self.in_flight = Some(self.next_value);
                    self.next_value += 1;
                }
                if let Some(value) = self.in_flight {
                    ctx.send(self.server(), Msg::Write { value });
                    ctx.set_timer(Timer::RequestTimeout, REQUEST_TIMEOUT_MS);
                }
            }
            Timer::RequestTimeout => {
                ctx.disconnect(self.server());
                self.retry(ctx);
            }
            Timer::Election | Timer::Heartbeat | Timer::AppendTimeout => {
                unreachable!("replica timer on the client: {timer:?}")
            }
        }
    }

    /// The connection to a replica was reset: the write on it may or may not have landed.
    pub fn on_disconnect(&mut self, ctx: &mut Ctx<'_, PbNode>, peer: Peer) {
        if peer == self.server() && self.in_flight.is_some() {
            self.retry(ctx);
        }
    }

    /// Switches replica and resends the in-flight value after a backoff.
    fn retry(&mut self, ctx: &mut Ctx<'_, PbNode>) {
        self.target = 1 - self.target;
        ctx.cancel_timer(Timer::RequestTimeout);
        ctx.set_timer(Timer::Send, BACKOFF_MS);
    }
}
