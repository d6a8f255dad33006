//! The engine's example system under the explorer: the correct primary-backup log keeps
//! every acked write within the bounds, the buggy one loses one in the fewest possible
//! steps, and that counterexample replays step by step in the simulation driver.

#[path = "../examples/primary_backup/mod.rs"]
#[allow(dead_code)] // The simulation half of the example is not used here.
mod primary_backup;

use odradek_sim::explorer::{replay_steps, Explorer, Report, WorldBounds, WorldModel};
use odradek_sim::{Scenario, SimDiskOptions, Simulation, World};

use primary_backup::{configs_writing, PbNode, CLIENT_NODE as CLIENT, REPLICAS};

const PROPERTY: &str = "acked writes are in the newest primary's log";

/// Every value the client saw acked sits at its index in the log of the primary with the
/// highest epoch (the promise the checker holds the simulation to at the end).
fn acked_writes_survive(world: &World<PbNode>) -> bool {
    let Some(PbNode::Client(client)) = world.node(CLIENT) else {
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

fn model(bug: bool) -> WorldModel<PbNode> {
    let bounds = WorldBounds {
        crashable: REPLICAS.to_vec(),
        in_flight_max: 2,
        ..WorldBounds::default()
    };
    WorldModel::new(configs_writing(bug, 1), SimDiskOptions::default(), bounds)
        .unwrap()
        .always(PROPERTY, acked_writes_survive)
        .sometimes("a write is acked", |world| match world.node(CLIENT) {
            Some(PbNode::Client(client)) => !client.acked().is_empty(),
            _ => false,
        })
}

fn explore(bug: bool, depth: usize, threads: usize) -> Report<WorldModel<PbNode>> {
    let report = Explorer::new(model(bug))
        .depth_max(depth)
        .threads(threads)
        .bfs()
        .unwrap();
    eprintln!("bug={bug} depth={depth} threads={threads}: {report}");
    report
}

#[test]
fn correct_version_exhausts_its_bounds_without_violation() {
    let report = explore(false, 12, 1);
    assert!(report.complete, "exhausted up to the depth bound");
    assert_eq!(report.violations().count(), 0);
    assert!(report.unreached().is_empty(), "the bounds reach an ack");
    // Pinned: a change here means the world's state representation changed.
    assert_eq!((report.distinct, report.generated), (32_752, 139_654));
}

#[test]
fn buggy_version_loses_an_acked_write_in_the_fewest_steps() {
    let one = explore(true, 16, 1);
    let two = explore(true, 16, 2);
    let path = one.counterexample(PROPERTY).expect("the bug is found");
    let length = two
        .counterexample(PROPERTY)
        .expect("the bug is found")
        .len();
    assert_eq!(
        path.len(),
        length,
        "BFS is shortest on any number of threads"
    );
    // n0 leads epoch 2, n1 takes epoch 3, the client writes to n0, which acks at once.
    assert_eq!(path.len(), 6);
    eprintln!("{}", path.describe(&model(true)));
}

#[test]
fn counterexample_replays_in_the_simulation_driver() {
    let model = model(true);
    let report = Explorer::new(model).depth_max(16).bfs().unwrap();
    let model = WorldModel::<PbNode>::new(
        configs_writing(true, 1),
        SimDiskOptions::default(),
        WorldBounds {
            crashable: REPLICAS.to_vec(),
            in_flight_max: 2,
            ..WorldBounds::default()
        },
    )
    .unwrap();
    let path = report.counterexample(PROPERTY).expect("the bug is found");
    let steps = model.steps(path);
    // Saved as a file of events and read back, as a user would.
    let saved = serde_json::to_string_pretty(&steps).unwrap();
    let steps: Vec<_> = serde_json::from_str(&saved).unwrap();
    let mut sim = Simulation::new(configs_writing(true, 1), &Scenario::default(), 0).unwrap();
    replay_steps(&mut sim, &steps).unwrap();
    assert_eq!(
        *sim.world(),
        path.last_state().world,
        "the replay reaches the same world"
    );
    assert!(!acked_writes_survive(sim.world()), "and the same violation");
}
