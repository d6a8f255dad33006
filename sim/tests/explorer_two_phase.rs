//! The explorer against TLC on Lamport's two-phase commit: equal state counts, counted
//! the same way, in every search mode.

#[path = "../examples/models/two_phase.rs"]
mod two_phase;

use odradek_sim::explorer::Explorer;
use two_phase::TwoPhase;

/// TLC on `TwoPhase.tla`: (RMs, distinct states, states generated).
const TLC: [(usize, u64, u64); 2] = [(7, 296_448, 2_744_706), (8, 1_745_408, 18_507_778)];

#[test]
fn bfs_counts_equal_tlcs_on_one_and_several_threads() {
    for (rms, distinct, generated) in TLC {
        for threads in [1, 2] {
            let report = Explorer::new(TwoPhase { rms })
                .threads(threads)
                .bfs()
                .unwrap();
            assert_eq!(
                (report.distinct, report.generated),
                (distinct, generated),
                "rms={rms} threads={threads}"
            );
            assert!(report.complete);
            assert_eq!(report.violations().count(), 0);
            assert!(report.unreached().is_empty());
        }
    }
}

#[test]
fn dfs_counts_equal_tlcs() {
    let (rms, distinct, generated) = TLC[0];
    let report = Explorer::new(TwoPhase { rms }).dfs().unwrap();
    assert_eq!((report.distinct, report.generated), (distinct, generated));
    assert!(report.complete);
}

#[test]
fn symmetry_reduction_shrinks_the_space_alike_in_bfs_and_dfs() {
    let (rms, distinct, _) = TLC[0];
    let bfs = Explorer::new(TwoPhase { rms })
        .symmetry(true)
        .bfs()
        .unwrap();
    let dfs = Explorer::new(TwoPhase { rms })
        .symmetry(true)
        .dfs()
        .unwrap();
    let parallel = Explorer::new(TwoPhase { rms })
        .symmetry(true)
        .threads(2)
        .bfs()
        .unwrap();
    assert_eq!(bfs.distinct, dfs.distinct);
    assert_eq!(bfs.distinct, parallel.distinct);
    assert!(
        bfs.distinct * 20 < distinct,
        "symmetry: {} of {distinct}",
        bfs.distinct
    );
    assert!(bfs.complete && dfs.complete);
    assert_eq!(bfs.violations().count(), 0);
    // The example path to "all committed" is as short with symmetry as without: prepare,
    // receive each prepared, commit, receive commit, for each RM.
    let plain = Explorer::new(TwoPhase { rms: 3 }).bfs().unwrap();
    let reduced = Explorer::new(TwoPhase { rms: 3 })
        .symmetry(true)
        .bfs()
        .unwrap();
    let length =
        |r: &odradek_sim::explorer::Report<TwoPhase>| r.discoveries["all committed"].path.len();
    assert_eq!(length(&plain), 3 * 3 + 1);
    assert_eq!(length(&reduced), length(&plain));
}
