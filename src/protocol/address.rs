//! Where messages travel: the channels that keep each kind of conversation on its own
//! connection, and the mapping between broker ids and the nodes that run them.
//!
//! Node ids double as broker ids, as Kafka's `broker.id` names a process. Every role uses
//! these, so they live here, below the roles.

use odradek_sim::{Channel, NodeId};

use super::BrokerId;

/// Broker to controller: registration, heartbeats, AlterPartition.
pub const CONTROL: Channel = Channel(0);
/// Controller to broker: pushed partition changes (`"controller_request"`).
pub const PUSH: Channel = Channel(1);
/// Follower to leader: Fetch and OffsetsForLeaderEpoch.
pub const REPLICATION: Channel = Channel(2);
/// Client to broker or controller.
pub const CLIENT: Channel = Channel(3);

/// The broker id of a node.
pub fn broker_id(node: NodeId) -> BrokerId {
    BrokerId::from(node.0)
}

/// The node of a broker id, if it is one.
pub fn broker_node(broker: BrokerId) -> Option<NodeId> {
    u16::try_from(broker).ok().map(NodeId)
}
