//! What a search found and how much it did.

use std::collections::BTreeMap;
use std::fmt;
use std::time::Duration;

use super::model::{Expectation, Model};
use super::path::Path;

/// A property's discovery: a counterexample for `Always`, an example for `Sometimes`.
pub struct Discovery<M: Model> {
    /// The property's name.
    pub property: &'static str,
    /// What the property claims.
    pub expectation: Expectation,
    /// The path to the discovering state.
    pub path: Path<M>,
}

impl<M: Model> Clone for Discovery<M> {
    fn clone(&self) -> Self {
        Self {
            property: self.property,
            expectation: self.expectation,
            path: self.path.clone(),
        }
    }
}

impl<M: Model> fmt::Debug for Discovery<M> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("Discovery")
            .field("property", &self.property)
            .field("expectation", &self.expectation)
            .field("path", &self.path)
            .finish()
    }
}

/// The outcome of a search.
pub struct Report<M: Model> {
    /// Initial states plus the successor of every enabled action, seen before or not
    /// (TLC's "states generated").
    pub generated: u64,
    /// Distinct states (by fingerprint; under symmetry, distinct classes).
    pub distinct: u64,
    /// Distinct states outside the model's boundary (its constraints, as TLC's
    /// CONSTRAINT), by constraint: checked against the properties, never expanded. A
    /// property of the model, not a limit of the search.
    pub outside_boundary: BTreeMap<&'static str, u64>,
    /// The largest number of actions from an initial state to a reached state.
    pub depth: usize,
    /// Wall time the search took.
    pub elapsed: Duration,
    /// Whether every reachable state within the bounds (depth bound and the model's
    /// boundary) was explored: a proof within those bounds. False when the state budget
    /// ran out or the search stopped at a discovery.
    pub complete: bool,
    /// Whether the depth bound left states unexpanded, so a complete search proves the
    /// properties only up to that depth.
    pub depth_cut: bool,
    /// First discovery per property, by name.
    pub discoveries: BTreeMap<&'static str, Discovery<M>>,
    /// Properties the model declared, to tell an unreached `Sometimes` from none.
    pub(crate) properties: Vec<(&'static str, Expectation)>,
}

impl<M: Model> Report<M> {
    /// Whether the search explored every state within the model's boundary: no search
    /// limit (the depth bound, the state budget, an early stop at a discovery) cut one.
    /// Only then does a clean report prove the properties of the model.
    pub fn exhausted(&self) -> bool {
        self.complete && !self.depth_cut
    }

    /// An upper bound on the probability that two distinct states shared a 64-bit
    /// fingerprint, so that one was never explored: `n(n-1)/2` pairs, each colliding with
    /// probability `2^-64`.
    pub fn collision_probability(&self) -> f64 {
        let n = self.distinct as f64;
        (n * (n - 1.0) / 2.0 / 2f64.powi(64)).min(1.0)
    }

    /// What the search proved, in one phrase: exhausted (with the collision bound),
    /// bounded (by what), or stopped.
    pub fn verdict(&self) -> String {
        match (self.complete, self.depth_cut) {
            (true, false) => format!(
                "exhausted (fingerprint collision probability <= {:.1e})",
                self.collision_probability()
            ),
            (true, true) => format!(
                "bounded: the depth bound ({}) left states unexpanded",
                self.depth
            ),
            (false, _) => {
                "bounded: the search stopped early (at a discovery, at the state budget, or \
                 random walks, which prove nothing)"
                    .to_string()
            }
        }
    }

    /// Counterexamples to `Always` properties.
    pub fn violations(&self) -> impl Iterator<Item = &Discovery<M>> {
        self.discoveries
            .values()
            .filter(|d| d.expectation == Expectation::Always)
    }

    /// States the model's constraints kept from expansion, all constraints together.
    pub fn outside(&self) -> u64 {
        self.outside_boundary.values().sum()
    }

    /// The counterexample to the named property, if one was found.
    pub fn counterexample(&self, property: &str) -> Option<&Path<M>> {
        self.discoveries
            .get(property)
            .filter(|d| d.expectation == Expectation::Always)
            .map(|d| &d.path)
    }

    /// `Sometimes` properties no reached state satisfied.
    pub fn unreached(&self) -> Vec<&'static str> {
        self.properties
            .iter()
            .filter(|(name, e)| {
                *e == Expectation::Sometimes && !self.discoveries.contains_key(name)
            })
            .map(|(name, _)| *name)
            .collect()
    }

    /// Generated states per wall second.
    pub fn generated_per_second(&self) -> f64 {
        self.generated as f64 / self.elapsed.as_secs_f64().max(1e-9)
    }

    /// Distinct states per wall second.
    pub fn distinct_per_second(&self) -> f64 {
        self.distinct as f64 / self.elapsed.as_secs_f64().max(1e-9)
    }
}

impl<M: Model> fmt::Display for Report<M> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(
            f,
            "generated={} distinct={} depth={} elapsed={:.3}s generated/s={:.0} distinct/s={:.0}\n{}",
            self.generated,
            self.distinct,
            self.depth,
            self.elapsed.as_secs_f64(),
            self.generated_per_second(),
            self.distinct_per_second(),
            self.verdict(),
        )?;
        if self.outside() > 0 {
            let each: Vec<String> = (self.outside_boundary.iter())
                .map(|(constraint, n)| format!("{constraint}: {n}"))
                .collect();
            write!(
                f,
                "\nthe model's constraints left {} states unexpanded ({})",
                self.outside(),
                each.join(", ")
            )?;
        }
        for discovery in self.discoveries.values() {
            let what = match discovery.expectation {
                Expectation::Always => "violated",
                Expectation::Sometimes => "reached",
            };
            write!(
                f,
                "\n{what}: {} in {} steps",
                discovery.property,
                discovery.path.len()
            )?;
        }
        for name in self.unreached() {
            write!(f, "\nunreached: {name}")?;
        }
        Ok(())
    }
}

impl<M: Model> fmt::Debug for Report<M> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        fmt::Display::fmt(self, f)
    }
}
