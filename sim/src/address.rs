//! Who talks to whom: node ids, channels, and the connections and streams between nodes.
//!
//! The network is connections, as in TCP. A connection is keyed (client, server, channel)
//! and holds two FIFO streams, one each way. Channels let one pair of nodes keep separate
//! connections (a producer's requests and a follower's fetches, say) whose messages may
//! overtake each other, while each stream stays in order.

use std::fmt;

use serde::{Deserialize, Serialize};

/// A node of the simulated system: an index into the world's nodes.
#[derive(Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord, Serialize, Deserialize)]
#[serde(transparent)]
pub struct NodeId(pub u16);

impl NodeId {
    /// The node's position in the world.
    pub fn index(self) -> usize {
        usize::from(self.0)
    }
}

impl fmt::Debug for NodeId {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "n{}", self.0)
    }
}

impl fmt::Display for NodeId {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        fmt::Debug::fmt(self, f)
    }
}

/// Names one kind of connection between a client and a server (requests of one protocol).
/// The system under test defines its channels as constants.
#[derive(Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord, Serialize, Deserialize)]
#[serde(transparent)]
pub struct Channel(pub u16);

impl fmt::Debug for Channel {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "ch{}", self.0)
    }
}

/// Which end of a connection a node is.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord, Serialize, Deserialize)]
pub enum Role {
    /// The end that dialed.
    Client,
    /// The end that was dialed.
    Server,
}

/// The other end of a connection, as one node sees it: which node, on which channel, and
/// whether that node is the connection's client or its server.
///
/// A node dials a server with `Peer::server(node, channel)`; a message arriving on a
/// connection the other node dialed comes `from` a `Peer` whose role is `Client`, and a
/// reply sent to that same `Peer` travels back on that connection.
#[derive(Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord, Serialize, Deserialize)]
pub struct Peer {
    /// The node at the other end.
    pub node: NodeId,
    /// The connection's channel.
    pub channel: Channel,
    /// The other node's role on the connection.
    pub role: Role,
}

impl Peer {
    /// The server `node` on `channel`, which this node dials (or has dialed).
    pub fn server(node: NodeId, channel: Channel) -> Self {
        Self {
            node,
            channel,
            role: Role::Server,
        }
    }

    /// The client `node` that dialed this node on `channel`.
    pub fn client(node: NodeId, channel: Channel) -> Self {
        Self {
            node,
            channel,
            role: Role::Client,
        }
    }

    /// The connection between `me` and this peer.
    pub fn conn(self, me: NodeId) -> ConnId {
        match self.role {
            Role::Server => ConnId {
                client: me,
                server: self.node,
                channel: self.channel,
            },
            Role::Client => ConnId {
                client: self.node,
                server: me,
                channel: self.channel,
            },
        }
    }

    /// The stream that carries what `me` sends to this peer.
    pub fn outbound(self, me: NodeId) -> StreamId {
        let direction = match self.role {
            Role::Server => Direction::ToServer,
            Role::Client => Direction::ToClient,
        };
        StreamId {
            conn: self.conn(me),
            direction,
        }
    }
}

impl fmt::Debug for Peer {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        let role = match self.role {
            Role::Client => "client",
            Role::Server => "server",
        };
        write!(f, "{:?}/{:?}/{role}", self.node, self.channel)
    }
}

/// A connection: (client, server, channel).
#[derive(Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord, Serialize, Deserialize)]
pub struct ConnId {
    /// The node that dialed.
    pub client: NodeId,
    /// The node that was dialed.
    pub server: NodeId,
    /// What the connection is for.
    pub channel: Channel,
}

impl ConnId {
    /// Whether `node` is either end.
    pub fn touches(&self, node: NodeId) -> bool {
        self.client == node || self.server == node
    }

    /// The other end of the connection as `me` sees it, or `None` if `me` is neither end.
    pub fn peer_of(&self, me: NodeId) -> Option<Peer> {
        if me == self.client {
            Some(Peer::server(self.server, self.channel))
        } else if me == self.server {
            Some(Peer::client(self.client, self.channel))
        } else {
            None
        }
    }
}

impl fmt::Debug for ConnId {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "{:?}=>{:?}/{:?}", self.client, self.server, self.channel)
    }
}

/// Which way a stream of a connection runs.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord, Serialize, Deserialize)]
pub enum Direction {
    /// Client to server: requests.
    ToServer,
    /// Server to client: responses.
    ToClient,
}

/// One FIFO stream: a connection and a direction.
#[derive(Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord, Serialize, Deserialize)]
pub struct StreamId {
    /// The connection.
    pub conn: ConnId,
    /// Which way.
    pub direction: Direction,
}

impl StreamId {
    /// The sending node.
    pub fn from(&self) -> NodeId {
        match self.direction {
            Direction::ToServer => self.conn.client,
            Direction::ToClient => self.conn.server,
        }
    }

    /// The receiving node.
    pub fn to(&self) -> NodeId {
        match self.direction {
            Direction::ToServer => self.conn.server,
            Direction::ToClient => self.conn.client,
        }
    }

    /// The sender, as the receiver sees it.
    pub fn sender(&self) -> Peer {
        match self.direction {
            Direction::ToServer => Peer::client(self.conn.client, self.conn.channel),
            Direction::ToClient => Peer::server(self.conn.server, self.conn.channel),
        }
    }
}

impl fmt::Debug for StreamId {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(
            f,
            "{:?}->{:?}/{:?}",
            self.from(),
            self.to(),
            self.conn.channel
        )
    }
}
