//! The contract between a transition system and the explorer.

use std::fmt::Debug;
use std::hash::Hash;
use std::sync::Arc;

/// A nondeterministic transition system the explorer can search.
///
/// Determinism contract: `init_states`, `actions` and `next_state` are pure functions of
/// their arguments (no clock, no RNG, no interior mutability), `actions` lists the enabled
/// actions in the same order every time, and equal states (by `Eq`, hence by `Hash`) have
/// equal futures. The explorer fingerprints states by their `Hash`, so anything that must
/// not split states (bookkeeping, logs) must stay out of it.
pub trait Model: Sync {
    /// A global state of the system.
    type State: Clone + Debug + Hash + Eq + Send + Sync;
    /// One step a state can take.
    type Action: Clone + Debug + Send + Sync;

    /// The states the system may start in.
    fn init_states(&self) -> Vec<Self::State>;

    /// Appends the actions enabled in `state`, in a deterministic order.
    fn actions(&self, state: &Self::State, actions: &mut Vec<Self::Action>);

    /// The state `action` leads to, or `None` when the action turns out to change nothing
    /// worth exploring (it is then neither counted nor followed).
    fn next_state(&self, state: &Self::State, action: &Self::Action) -> Option<Self::State>;

    /// The properties to check in every reached state.
    fn properties(&self) -> Vec<Property<Self>>
    where
        Self: Sized;

    /// The model's constraint `state` lies outside, by name, or `None` to expand it. States
    /// outside the boundary are counted (per constraint) and checked, but their successors
    /// are not generated, as TLC's CONSTRAINT; bounds on epochs or messages live here.
    fn outside(&self, _state: &Self::State) -> Option<&'static str> {
        None
    }

    /// A canonical member of the state's symmetry class (e.g. interchangeable nodes
    /// sorted), or `None` when the model declares no symmetry. With symmetry reduction on,
    /// the explorer fingerprints the representative, so symmetric states count once. Sound
    /// only if every property gives the same answer on all members of a class.
    fn representative(&self, _state: &Self::State) -> Option<Self::State> {
        None
    }

    /// One line describing a step of a counterexample: the action and what it changed.
    fn format_step(
        &self,
        _last: &Self::State,
        action: &Self::Action,
        _next: &Self::State,
    ) -> String {
        format!("{action:?}")
    }
}

/// What a property claims.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub enum Expectation {
    /// Holds in every reachable state; a state where it fails is a counterexample.
    Always,
    /// Holds in some reachable state; the first such state is an example.
    Sometimes,
}

/// A predicate over a model's states, shared between search threads.
pub type Condition<M> = Arc<dyn Fn(&M, &<M as Model>::State) -> bool + Send + Sync>;

/// A named predicate over states.
pub struct Property<M: Model> {
    /// What the predicate claims.
    pub expectation: Expectation,
    /// A static name, used in reports.
    pub name: &'static str,
    /// The predicate.
    pub condition: Condition<M>,
}

impl<M: Model> Property<M> {
    /// A property that must hold in every reachable state.
    pub fn always(
        name: &'static str,
        condition: impl Fn(&M, &M::State) -> bool + Send + Sync + 'static,
    ) -> Self {
        let condition = Arc::new(condition);
        Self {
            expectation: Expectation::Always,
            name,
            condition,
        }
    }

    /// A property that must hold in at least one reachable state.
    pub fn sometimes(
        name: &'static str,
        condition: impl Fn(&M, &M::State) -> bool + Send + Sync + 'static,
    ) -> Self {
        let condition = Arc::new(condition);
        Self {
            expectation: Expectation::Sometimes,
            name,
            condition,
        }
    }

    /// Whether `state` is a discovery for this property: a violation of an `Always`
    /// property or an example of a `Sometimes` one.
    pub(crate) fn discovered_by(&self, model: &M, state: &M::State) -> bool {
        let holds = (self.condition)(model, state);
        match self.expectation {
            Expectation::Always => !holds,
            Expectation::Sometimes => holds,
        }
    }
}

impl<M: Model> Clone for Property<M> {
    fn clone(&self) -> Self {
        Self {
            expectation: self.expectation,
            name: self.name,
            condition: Arc::clone(&self.condition),
        }
    }
}

impl<M: Model> Debug for Property<M> {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(f, "{:?}({})", self.expectation, self.name)
    }
}
