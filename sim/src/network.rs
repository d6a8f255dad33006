//! The network: open connections with their two FIFO streams, and the faults on links.
//!
//! Fault model (DESIGN, "Network semantics"). A stream delivers in order; it may be
//! delayed, or held from some message on with later ones waiting behind it, but it never
//! loses one message while later ones arrive: loss happens only by resetting a whole
//! connection. Cuts (partitions of every shape) and holds keep messages queued, as TCP
//! retransmission would, so healing lets them flow again. Recovery stays possible because
//! every hold and cut is lifted by the heal phase, and a node that gives up on a
//! connection resets it and dials afresh.

use std::collections::{BTreeMap, BTreeSet, VecDeque};

use crate::address::{Channel, ConnId, Direction, NodeId, StreamId};
use crate::node::Message;

/// A `Hold` fault: streams from `from` to `to` on one channel or all.
#[derive(Debug, Clone, PartialEq, Eq, Hash, PartialOrd, Ord)]
struct HoldRule {
    from: NodeId,
    to: NodeId,
    channel: Option<Channel>,
}

/// A `HoldKind` fault: a matching stream stops at its first message of `kind`.
#[derive(Debug, Clone, PartialEq, Eq, Hash, PartialOrd, Ord)]
struct KindRule {
    kind: String,
    from: Option<NodeId>,
    to: Option<NodeId>,
}

/// One open connection's two streams.
#[derive(Debug, Clone, PartialEq, Eq, Hash)]
struct Conn<M> {
    to_server: VecDeque<M>,
    to_client: VecDeque<M>,
}

impl<M> Conn<M> {
    fn stream(&self, direction: Direction) -> &VecDeque<M> {
        match direction {
            Direction::ToServer => &self.to_server,
            Direction::ToClient => &self.to_client,
        }
    }

    fn stream_mut(&mut self, direction: Direction) -> &mut VecDeque<M> {
        match direction {
            Direction::ToServer => &mut self.to_server,
            Direction::ToClient => &mut self.to_client,
        }
    }
}

/// Connections and link faults. Part of the world's hashed state.
#[derive(Debug, Clone, PartialEq, Eq, Hash)]
pub(crate) struct Network<M> {
    conns: BTreeMap<ConnId, Conn<M>>,
    /// Directed links that deliver nothing: (from, to).
    cut: BTreeSet<(NodeId, NodeId)>,
    holds: BTreeSet<HoldRule>,
    kind_holds: BTreeSet<KindRule>,
    /// Extra latency per directed link, for the simulation driver.
    slow_ms: BTreeMap<(NodeId, NodeId), u64>,
}

impl<M> Default for Network<M> {
    fn default() -> Self {
        Self {
            conns: BTreeMap::new(),
            cut: BTreeSet::new(),
            holds: BTreeSet::new(),
            kind_holds: BTreeSet::new(),
            slow_ms: BTreeMap::new(),
        }
    }
}

impl<M: Message> Network<M> {
    /// Whether the connection is open.
    pub(crate) fn is_open(&self, conn: ConnId) -> bool {
        self.conns.contains_key(&conn)
    }

    /// Appends `msg` to the stream, opening the connection if `open` allows. Returns
    /// whether the message was queued (a reply on a closed connection is lost).
    pub(crate) fn push(&mut self, stream: StreamId, msg: M, open: bool) -> bool {
        if !open && !self.is_open(stream.conn) {
            return false;
        }
        let conn = self.conns.entry(stream.conn).or_insert_with(|| Conn {
            to_server: VecDeque::new(),
            to_client: VecDeque::new(),
        });
        conn.stream_mut(stream.direction).push_back(msg);
        true
    }

    /// Removes and returns the head of the stream.
    pub(crate) fn pop(&mut self, stream: StreamId) -> Option<M> {
        self.conns
            .get_mut(&stream.conn)?
            .stream_mut(stream.direction)
            .pop_front()
    }

    /// Closes the connection, dropping everything in flight. Returns whether it was open.
    pub(crate) fn close(&mut self, conn: ConnId) -> bool {
        self.conns.remove(&conn).is_some()
    }

    /// Every open connection `node` is an end of.
    pub(crate) fn conns_of(&self, node: NodeId) -> Vec<ConnId> {
        self.conns
            .keys()
            .filter(|conn| conn.touches(node))
            .copied()
            .collect()
    }

    /// Every open connection between `a` and `b`.
    pub(crate) fn conns_between(&self, a: NodeId, b: NodeId) -> Vec<ConnId> {
        self.conns
            .keys()
            .filter(|conn| conn.touches(a) && conn.touches(b))
            .copied()
            .collect()
    }

    /// Every non-empty stream, in order.
    pub(crate) fn busy_streams(&self) -> impl Iterator<Item = StreamId> + '_ {
        self.conns.iter().flat_map(|(&conn, c)| {
            [Direction::ToServer, Direction::ToClient]
                .into_iter()
                .filter(|&direction| !c.stream(direction).is_empty())
                .map(move |direction| StreamId { conn, direction })
        })
    }

    /// How many messages the stream holds.
    pub(crate) fn in_flight(&self, stream: StreamId) -> usize {
        self.conns
            .get(&stream.conn)
            .map_or(0, |conn| conn.stream(stream.direction).len())
    }

    /// The head message of the stream.
    pub(crate) fn head(&self, stream: StreamId) -> Option<&M> {
        self.conns
            .get(&stream.conn)?
            .stream(stream.direction)
            .front()
    }

    /// Why the head of a non-empty stream cannot move now, if anything stops it. The
    /// receiver's own state is the world's concern.
    pub(crate) fn stopped(&self, stream: StreamId) -> Option<&'static str> {
        let head = self.head(stream)?;
        let (from, to) = (stream.from(), stream.to());
        if self.cut.contains(&(from, to)) {
            return Some("link cut");
        }
        let channel = stream.conn.channel;
        let held = self
            .holds
            .iter()
            .any(|h| h.from == from && h.to == to && h.channel.unwrap_or(channel) == channel);
        if held {
            return Some("stream held");
        }
        let kind = head.kind();
        let kind_held = self.kind_holds.iter().any(|rule| {
            rule.kind == kind && rule.from.unwrap_or(from) == from && rule.to.unwrap_or(to) == to
        });
        kind_held.then_some("message kind held")
    }

    /// Extra latency on the link from `from` to `to`.
    pub(crate) fn slow_ms(&self, from: NodeId, to: NodeId) -> u64 {
        self.slow_ms.get(&(from, to)).copied().unwrap_or(0)
    }

    /// Cuts every link from a node of `from` to a different node of `to`.
    pub(crate) fn cut(&mut self, from: &[NodeId], to: &[NodeId]) {
        for &f in from {
            for &t in to {
                if f != t {
                    self.cut.insert((f, t));
                }
            }
        }
    }

    pub(crate) fn heal_partitions(&mut self) {
        self.cut.clear();
    }

    pub(crate) fn hold(&mut self, from: NodeId, to: NodeId, channel: Option<Channel>) {
        self.holds.insert(HoldRule { from, to, channel });
    }

    pub(crate) fn release(&mut self, from: NodeId, to: NodeId, channel: Option<Channel>) {
        self.holds.remove(&HoldRule { from, to, channel });
    }

    pub(crate) fn hold_kind(&mut self, kind: &str, from: Option<NodeId>, to: Option<NodeId>) {
        let kind = kind.to_owned();
        self.kind_holds.insert(KindRule { kind, from, to });
    }

    pub(crate) fn release_kind(&mut self, kind: &str, from: Option<NodeId>, to: Option<NodeId>) {
        let kind = kind.to_owned();
        self.kind_holds.remove(&KindRule { kind, from, to });
    }

    pub(crate) fn set_slow(&mut self, from: NodeId, to: NodeId, extra_ms: u64) {
        if extra_ms == 0 {
            self.slow_ms.remove(&(from, to));
        } else {
            self.slow_ms.insert((from, to), extra_ms);
        }
    }

    /// Lifts every link fault; connections and their messages stay.
    pub(crate) fn heal(&mut self) {
        self.cut.clear();
        self.holds.clear();
        self.kind_holds.clear();
        self.slow_ms.clear();
    }
}
