//! The example under the explorer: its world as a model, and the property the explorer
//! holds it to.

use odradek_sim::explorer::{WorldBounds, WorldModel};
use odradek_sim::{SimDiskOptions, World};

use super::{configs_writing, PbNode, CLIENT_NODE, REPLICAS};

/// The property's name in reports.
pub const ACKED_WRITES_SURVIVE: &str = "acked writes are in the newest primary's log";

/// Every value the client saw acked sits at its index in the log of the primary with the
/// highest epoch: the promise the checker holds the simulation to at the end, checked in
/// every state.
pub fn acked_writes_survive(world: &World<PbNode>) -> bool {
    let Some(PbNode::Client(client)) = world.node(CLIENT_NODE) else {
        return true;
    };
    let newest = REPLICAS
        .iter()
        .filter_map(|&id| match world.node(id) {
            Some(PbNode::Replica(replica)) if replica.is_primary() => Some(replica),
            _ => None,
        })
        .max_by_key(|replica| replica.epoch());
    let Some(primary) = newest else {
        return true;
    };
    client
        .acked()
        .iter()
        .all(|(&value, &index)| primary.log().get(index as usize).map(|e| e.value) == Some(value))
}

/// The system with a client writing `writes` values; replicas may crash once (in a process
/// crash or any power loss the explorer enumerates) and restart once; at most two messages
/// wait in one stream.
pub fn model(bug: bool, writes: u64) -> WorldModel<PbNode> {
    let bounds = WorldBounds {
        crashable: REPLICAS.to_vec(),
        in_flight_max: 2,
        ..WorldBounds::default()
    };
    WorldModel::new(
        configs_writing(bug, writes),
        SimDiskOptions::default(),
        bounds,
    )
    .expect("valid bounds")
    .always(ACKED_WRITES_SURVIVE, acked_writes_survive)
    .sometimes("a write is acked", |world| match world.node(CLIENT_NODE) {
        Some(PbNode::Client(client)) => !client.acked().is_empty(),
        _ => false,
    })
}
