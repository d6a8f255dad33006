//! Paths through a model: counterexamples and examples, rebuilt from fingerprints.

use std::fmt;

use super::fingerprint::{fingerprint, ParentMap};
use super::model::Model;

/// A behaviour: an initial state and the actions taken from it, with each state reached.
pub struct Path<M: Model> {
    /// Where the path starts.
    pub init: M::State,
    /// Each action and the state it led to, in order.
    pub steps: Vec<(M::Action, M::State)>,
}

impl<M: Model> Path<M> {
    /// The number of actions.
    pub fn len(&self) -> usize {
        self.steps.len()
    }

    /// Whether the path is a lone initial state.
    pub fn is_empty(&self) -> bool {
        self.steps.is_empty()
    }

    /// The state the path ends in.
    pub fn last_state(&self) -> &M::State {
        self.steps.last().map_or(&self.init, |(_, state)| state)
    }

    /// The actions alone, e.g. to save and replay them.
    pub fn actions(&self) -> Vec<M::Action> {
        self.steps
            .iter()
            .map(|(action, _)| action.clone())
            .collect()
    }

    /// One line per step, as the model describes them.
    pub fn describe(&self, model: &M) -> String {
        let mut out = String::from("0: initial state\n");
        let mut last = &self.init;
        for (i, (action, state)) in self.steps.iter().enumerate() {
            out.push_str(&format!(
                "{}: {}\n",
                i + 1,
                model.format_step(last, action, state)
            ));
            last = state;
        }
        out
    }

    /// Rebuilds the path to `target` by walking parent fingerprints back to an initial
    /// state, then replaying the model forward and, at each step, taking the first action
    /// whose successor has the next fingerprint. `key` maps a state to the fingerprint the
    /// search stored (the representative's under symmetry reduction), so a symmetric
    /// variant of the stored path is found when the stored one is not.
    pub(crate) fn rebuild(
        model: &M,
        parents: &ParentMap,
        target: u64,
        key: &dyn Fn(&M::State) -> u64,
    ) -> Self {
        let mut chain = vec![target];
        let mut fp = target;
        while let Some(&parent) = parents.get(&fp) {
            if parent == fp {
                break;
            }
            chain.push(parent);
            fp = parent;
        }
        chain.reverse();
        let init = model
            .init_states()
            .into_iter()
            .find(|state| key(state) == chain[0])
            .expect("the chain starts at an initial state");
        let mut path: Path<M> = Path {
            init,
            steps: Vec::with_capacity(chain.len() - 1),
        };
        let mut actions = Vec::new();
        for &next_fp in &chain[1..] {
            actions.clear();
            let state = path.last_state().clone();
            model.actions(&state, &mut actions);
            let step = actions
                .iter()
                .find_map(|action| {
                    let next = model.next_state(&state, action)?;
                    (key(&next) == next_fp).then(|| (action.clone(), next))
                })
                .expect("a recorded step is reproducible: the model must be deterministic");
            path.steps.push(step);
        }
        debug_assert_eq!(key(path.last_state()), target);
        path
    }

    /// The plain fingerprint of the last state (no symmetry), for tests pinning paths.
    pub fn last_fingerprint(&self) -> u64 {
        fingerprint(self.last_state())
    }
}

impl<M: Model> Clone for Path<M> {
    fn clone(&self) -> Self {
        Self {
            init: self.init.clone(),
            steps: self.steps.clone(),
        }
    }
}

impl<M: Model> fmt::Debug for Path<M> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("Path")
            .field("init", &self.init)
            .field("steps", &self.steps)
            .finish()
    }
}
