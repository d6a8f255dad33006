//! The explorer: an explicit-state model checker over any [`Model`].
//!
//! It enumerates every behaviour of a model within bounds and either proves its `Always`
//! properties hold there or returns a path that breaks one; breadth-first search makes that
//! path a shortest one. States are deduplicated by 64-bit fingerprints; symmetry reduction
//! fingerprints a canonical representative instead, in every search. [`WorldModel`] makes
//! the engine's world of nodes one such model, and [`replay_steps`] replays its
//! counterexamples in the simulation driver.

mod fingerprint;
mod model;
mod path;
mod report;
mod search;
mod world_model;

use std::time::Duration;

pub use fingerprint::fingerprint;
pub use model::{Condition, Expectation, Model, Property};
pub use path::Path;
pub use report::{Discovery, Report};
pub use world_model::{
    replay_steps, ExplorableNode, WorldBounds, WorldModel, WorldState, WorldStep, IN_FLIGHT,
};

use search::Bounds;

/// Depth bound of random walks when none is given.
const WALK_DEPTH_DEFAULT: usize = 1000;

/// Bounds that make no sense.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum ExplorerError {
    /// A search needs at least one thread.
    #[error("threads must be at least 1")]
    ZeroThreads,
    /// A depth bound of 0 would explore nothing past the initial states.
    #[error("depth bound must be at least 1")]
    ZeroDepth,
    /// A state budget of 0 would explore nothing.
    #[error("state budget must be at least 1")]
    ZeroStates,
    /// The model has no initial state.
    #[error("model has no initial state")]
    NoInitialStates,
    /// A world model needs at least one node.
    #[error("a world needs at least one node")]
    NoNodes,
    /// A bound names a node the world does not have.
    #[error("bound names an unknown node. node={node} nodes={nodes}")]
    UnknownNode {
        /// The node named.
        node: u16,
        /// How many nodes the world has.
        nodes: usize,
    },
    /// A stream bound of 0 would let no message be sent.
    #[error("in-flight bound must be at least 1")]
    ZeroInFlight,
    /// Symmetry reduction was asked of a model that declares no symmetry.
    #[error("symmetry reduction asked of a model without a representative function")]
    NoSymmetry,
}

/// A configured search over a model.
///
/// ```
/// use odradek_sim::explorer::{Explorer, Model, Property};
///
/// /// Counts up from 0 by 1 or 2; the claim "never 5" fails in three steps at the least.
/// struct Counter;
/// impl Model for Counter {
///     type State = u8;
///     type Action = u8;
///     fn init_states(&self) -> Vec<u8> { vec![0] }
///     fn actions(&self, _: &u8, actions: &mut Vec<u8>) { actions.extend([1, 2]) }
///     fn next_state(&self, s: &u8, a: &u8) -> Option<u8> { (s + a <= 9).then(|| s + a) }
///     fn properties(&self) -> Vec<Property<Self>> {
///         vec![Property::always("never 5", |_, s| *s != 5)]
///     }
/// }
/// let report = Explorer::new(Counter).bfs().unwrap();
/// assert_eq!(report.counterexample("never 5").unwrap().len(), 3);
/// ```
pub struct Explorer<M: Model> {
    model: M,
    bounds: Bounds,
}

impl<M: Model> Explorer<M> {
    /// A search over `model` on one thread, unbounded, without symmetry reduction.
    pub fn new(model: M) -> Self {
        let bounds = Bounds {
            threads: 1,
            states_max: None,
            depth_max: None,
            symmetry: false,
            progress: None,
        };
        Self { model, bounds }
    }

    /// Worker threads for breadth-first search (depth-first search and walks use one).
    pub fn threads(mut self, threads: usize) -> Self {
        self.bounds.threads = threads;
        self
    }

    /// Stops after this many distinct states.
    pub fn states_max(mut self, states: u64) -> Self {
        self.bounds.states_max = Some(states);
        self
    }

    /// Expands no state this many actions away from an initial state.
    pub fn depth_max(mut self, depth: usize) -> Self {
        self.bounds.depth_max = Some(depth);
        self
    }

    /// Deduplicates states by their model-given representative.
    pub fn symmetry(mut self, on: bool) -> Self {
        self.bounds.symmetry = on;
        self
    }

    /// Prints a progress line to stderr at most this often.
    pub fn progress(mut self, every: Duration) -> Self {
        self.bounds.progress = Some(every);
        self
    }

    /// The model searched.
    pub fn model(&self) -> &M {
        &self.model
    }

    /// Breadth-first search: the first violation found is a shortest counterexample.
    pub fn bfs(&self) -> Result<Report<M>, ExplorerError> {
        self.validate()?;
        Ok(search::bfs(&self.model, &self.bounds))
    }

    /// Depth-first search on one thread.
    pub fn dfs(&self) -> Result<Report<M>, ExplorerError> {
        self.validate()?;
        Ok(search::dfs(&self.model, &self.bounds))
    }

    /// `walks` seeded random walks, each at most the depth bound (1000 if unset) long.
    pub fn random_walks(&self, walks: u64, seed: u64) -> Result<Report<M>, ExplorerError> {
        self.validate()?;
        let mut bounds = self.bounds.clone();
        bounds.depth_max.get_or_insert(WALK_DEPTH_DEFAULT);
        Ok(search::random_walks(&self.model, &bounds, walks, seed))
    }

    fn validate(&self) -> Result<(), ExplorerError> {
        if self.bounds.threads == 0 {
            return Err(ExplorerError::ZeroThreads);
        }
        if self.bounds.depth_max == Some(0) {
            return Err(ExplorerError::ZeroDepth);
        }
        if self.bounds.states_max == Some(0) {
            return Err(ExplorerError::ZeroStates);
        }
        let inits = self.model.init_states();
        let Some(first) = inits.first() else {
            return Err(ExplorerError::NoInitialStates);
        };
        if self.bounds.symmetry && self.model.representative(first).is_none() {
            return Err(ExplorerError::NoSymmetry);
        }
        Ok(())
    }
}
