//! The explorer's searches on small models whose answers are known.

use odradek_sim::explorer::{Explorer, ExplorerError, Model, Property};

/// A walk on an `n` x `n` grid from the origin, one step right, up or diagonally at a time.
/// The claim "never at (3, 5) or (5, 3)" fails; its shortest counterexample has 5 steps
/// (3 diagonal ones and 2 straight), though many longer ones exist. The claim is symmetric
/// under mirroring, as properties must be for symmetry reduction to be sound.
struct Grid {
    n: u8,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
enum Step {
    Right,
    Up,
    Diagonal,
}

impl Model for Grid {
    type State = (u8, u8);
    type Action = Step;

    fn init_states(&self) -> Vec<(u8, u8)> {
        vec![(0, 0)]
    }

    fn actions(&self, _: &(u8, u8), actions: &mut Vec<Step>) {
        actions.extend([Step::Right, Step::Up, Step::Diagonal]);
    }

    fn next_state(&self, &(x, y): &(u8, u8), step: &Step) -> Option<(u8, u8)> {
        let (x, y) = match step {
            Step::Right => (x + 1, y),
            Step::Up => (x, y + 1),
            Step::Diagonal => (x + 1, y + 1),
        };
        (x < self.n && y < self.n).then_some((x, y))
    }

    fn properties(&self) -> Vec<Property<Self>> {
        vec![
            Property::always("never at (3, 5)", |_, &(x, y): &(u8, u8)| {
                (x.min(y), x.max(y)) != (3, 5)
            }),
            Property::sometimes("reaches the far corner", |m: &Grid, s: &(u8, u8)| {
                *s == (m.n - 1, m.n - 1)
            }),
        ]
    }

    /// Mirror images are equivalent.
    fn representative(&self, &(x, y): &(u8, u8)) -> Option<(u8, u8)> {
        Some((x.min(y), x.max(y)))
    }
}

#[test]
fn bfs_finds_the_shortest_counterexample_with_one_and_several_threads() {
    for threads in [1, 2, 4] {
        let report = Explorer::new(Grid { n: 40 })
            .threads(threads)
            .bfs()
            .unwrap();
        let path = report.counterexample("never at (3, 5)").expect("violated");
        assert_eq!(path.len(), 5, "threads={threads}");
        assert!(matches!(*path.last_state(), (3, 5) | (5, 3)));
        assert!(!report.complete, "the search stops at the violation");
    }
}

#[test]
fn shortest_counterexample_survives_symmetry_reduction() {
    let report = Explorer::new(Grid { n: 40 }).symmetry(true).bfs().unwrap();
    let path = report.counterexample("never at (3, 5)").expect("violated");
    assert_eq!(path.len(), 5);
    // The rebuilt path is a real path of the model, ending in the state or its mirror.
    assert!(matches!(*path.last_state(), (3, 5) | (5, 3)));
}

#[test]
fn dfs_finds_a_counterexample_and_exhausts_a_clean_space() {
    let report = Explorer::new(Grid { n: 40 }).dfs().unwrap();
    let path = report.counterexample("never at (3, 5)").expect("violated");
    assert!(path.len() >= 5);
    assert!(matches!(*path.last_state(), (3, 5) | (5, 3)));

    let clean = Explorer::new(Grid { n: 4 }).dfs().unwrap();
    assert!(clean.complete && !clean.depth_cut);
    assert!(clean.exhausted() && clean.verdict().starts_with("exhausted"));
    assert!(
        clean.collision_probability() < 1e-9,
        "{}",
        clean.collision_probability()
    );
    assert_eq!(clean.distinct, 16);
    assert_eq!(clean.violations().count(), 0);
    assert!(clean.unreached().is_empty());
}

#[test]
fn counts_follow_tlc_convention() {
    // 16 states; generated = 1 initial + every enabled successor: 3 per inner state, 1 per
    // state on the top or right edge but the corner.
    let report = Explorer::new(Grid { n: 4 }).bfs().unwrap();
    assert_eq!(report.distinct, 16);
    assert_eq!(report.generated, 1 + 9 * 3 + 6);
    assert_eq!(
        report.depth, 3,
        "BFS depth is the distance: diagonals reach (3, 3) in 3"
    );
}

#[test]
fn depth_bound_cuts_the_search_and_says_so() {
    let report = Explorer::new(Grid { n: 40 }).depth_max(4).bfs().unwrap();
    assert!(
        report.counterexample("never at (3, 5)").is_none(),
        "(3, 5) lies 5 steps away"
    );
    assert!(
        report.complete && report.depth_cut && !report.exhausted(),
        "every state within the bound expanded, and cut by it: bounded"
    );
    assert!(
        report.to_string().contains("bounded: the depth bound (4)"),
        "{report}"
    );
    assert_eq!(report.depth, 4);
    let dfs = Explorer::new(Grid { n: 40 }).depth_max(4).dfs().unwrap();
    assert_eq!(dfs.distinct, report.distinct);
    assert!(dfs.complete && dfs.depth_cut);
    let roomy = Explorer::new(Grid { n: 4 }).depth_max(10).bfs().unwrap();
    assert!(roomy.complete && !roomy.depth_cut);
}

#[test]
fn state_budget_stops_the_search() {
    let report = Explorer::new(Grid { n: 40 }).states_max(10).bfs().unwrap();
    assert!(!report.complete);
    assert!(report.distinct >= 10 && report.distinct < 20);
}

#[test]
fn nonsense_bounds_are_rejected() {
    let grid = || Explorer::new(Grid { n: 4 });
    assert_eq!(
        grid().depth_max(0).bfs().unwrap_err(),
        ExplorerError::ZeroDepth
    );
    assert_eq!(
        grid().threads(0).bfs().unwrap_err(),
        ExplorerError::ZeroThreads
    );
    assert_eq!(
        grid().states_max(0).dfs().unwrap_err(),
        ExplorerError::ZeroStates
    );
    assert_eq!(
        ExplorerError::ZeroDepth.to_string(),
        "depth bound must be at least 1"
    );
}

#[test]
fn random_walks_are_seeded_and_find_reachable_violations() {
    let walks = |seed| {
        Explorer::new(Grid { n: 8 })
            .random_walks(200, seed)
            .unwrap()
    };
    let a = walks(7);
    let b = walks(7);
    assert_eq!((a.generated, a.distinct), (b.generated, b.distinct));
    let path = a
        .counterexample("never at (3, 5)")
        .expect("200 walks on an 8x8 grid pass (3, 5)");
    assert_eq!(*path.last_state(), (3, 5));
    assert!(!a.complete);
}

#[test]
fn counterexample_describes_each_step() {
    let report = Explorer::new(Grid { n: 40 }).bfs().unwrap();
    let path = report.counterexample("never at (3, 5)").unwrap();
    let text = path.describe(&Grid { n: 40 });
    assert_eq!(text.lines().count(), 6);
    assert!(text.starts_with("0: initial state\n1: "));
    assert_eq!(path.actions().len(), 5);
}
