//! The engine's example system under the explorer: the correct primary-backup log keeps
//! every acked write within the bounds, the buggy one loses one in the fewest possible
//! steps, and that counterexample replays step by step in the simulation driver.

#[path = "../examples/primary_backup/mod.rs"]
#[allow(dead_code)] // The simulation half of the example is not used here.
mod primary_backup;

use odradek_sim::explorer::{replay_steps, Explorer, Report, WorldModel};
use odradek_sim::{Scenario, Simulation};

use primary_backup::{configs_writing, explore, PbNode};

const PROPERTY: &str = explore::ACKED_WRITES_SURVIVE;

fn search(bug: bool, depth: usize, threads: usize) -> Report<WorldModel<PbNode>> {
    let report = Explorer::new(explore::model(bug, 1))
        .depth_max(depth)
        .threads(threads)
        .bfs()
        .unwrap();
    eprintln!("bug={bug} depth={depth} threads={threads}: {report}");
    report
}

#[test]
fn correct_version_is_clean_to_its_depth_bound() {
    let report = search(false, 12, 1);
    // Bounded, not exhausted: the depth bound cut states, and the report says so.
    assert!(report.complete && report.depth_cut && !report.exhausted());
    // The model's constraint (messages in flight per stream) is counted apart from it.
    assert!(report.outside() > 0, "{report}");
    assert_eq!(report.violations().count(), 0);
    assert!(report.unreached().is_empty(), "the bounds reach an ack");
    // Pinned: a change here means the world's state representation changed.
    assert_eq!((report.distinct, report.generated), (32_752, 139_654));
}

#[test]
fn buggy_version_loses_an_acked_write_in_the_fewest_steps() {
    let one = search(true, 16, 1);
    let two = search(true, 16, 2);
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
    eprintln!("{}", path.describe(&explore::model(true, 1)));
}

#[test]
fn counterexample_replays_in_the_simulation_driver() {
    let explorer = Explorer::new(explore::model(true, 1)).depth_max(16);
    let report = explorer.bfs().unwrap();
    let path = report.counterexample(PROPERTY).expect("the bug is found");
    let steps = explorer.model().steps(path);
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
    assert!(
        !explore::acked_writes_survive(sim.world()),
        "and the same violation"
    );
}
