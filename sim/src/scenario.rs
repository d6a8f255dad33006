//! The scenario: everything besides the seed and the system's own configuration that
//! decides a run, as a serde value that can be saved, loaded and validated.
//!
//! A run is `(seed, scenario)`. Without an explicit schedule the seed draws one from the
//! nemesis options; a saved case stores the schedule, so it keeps reproducing after the
//! code that draws schedules changes.

use serde::de::DeserializeOwned;
use serde::{Deserialize, Serialize};

use crate::address::NodeId;
use crate::clock::DRIFT_PPM_MAX;
use crate::fault::Fault;
use crate::nemesis::{NemesisOptions, Timed};
use crate::simulation::SimOptions;

/// Fault phase length when none is given.
const FAULTS_MS_DEFAULT: u64 = 10_000;
/// Heal-and-settle phase length when none is given.
const SETTLE_MS_DEFAULT: u64 = 5_000;

/// The framework's part of a run's description.
#[derive(Debug, Clone, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[serde(deny_unknown_fields, default)]
pub struct Scenario {
    /// How long faults are injected, in virtual ms from the start.
    pub faults_ms: u64,
    /// How long the system runs after everything is healed, for liveness checks.
    pub settle_ms: u64,
    /// Latencies and the simulated machine.
    pub sim: SimOptions,
    /// What the nemesis draws its schedule from when none is given.
    pub nemesis: NemesisOptions,
    /// An explicit fault schedule, which replaces the drawn one.
    pub schedule: Option<Vec<Timed>>,
}

impl Default for Scenario {
    fn default() -> Self {
        Self {
            faults_ms: FAULTS_MS_DEFAULT,
            settle_ms: SETTLE_MS_DEFAULT,
            sim: SimOptions::default(),
            nemesis: NemesisOptions::default(),
            schedule: None,
        }
    }
}

/// Why a scenario was rejected.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum ScenarioError {
    /// The text is not valid JSON for the expected shape.
    #[error("malformed scenario. field={path} {message}")]
    Malformed {
        /// Where in the document, as `schedule[2].at_ms` (`.` is the whole document).
        path: String,
        /// What serde found there.
        message: String,
    },
    /// A field names a node the system does not have.
    #[error("unknown node. field={field} node={node:?} nodes={nodes}")]
    UnknownNode {
        /// The field.
        field: String,
        /// The node named.
        node: NodeId,
        /// How many nodes the system has.
        nodes: usize,
    },
    /// A field's value is out of range or inconsistent with another.
    #[error("invalid value. field={field} {reason}")]
    Invalid {
        /// The field.
        field: String,
        /// Why.
        reason: String,
    },
}

/// Parses JSON into `T`, naming the field of any error.
pub fn parse_json<T: DeserializeOwned>(text: &str) -> Result<T, ScenarioError> {
    let mut deserializer = serde_json::Deserializer::from_str(text);
    let value: T = serde_path_to_error::deserialize(&mut deserializer).map_err(|error| {
        ScenarioError::Malformed {
            path: error.path().to_string(),
            message: error.inner().to_string(),
        }
    })?;
    deserializer
        .end()
        .map_err(|error| ScenarioError::Malformed {
            path: ".".into(),
            message: error.to_string(),
        })?;
    Ok(value)
}

impl Scenario {
    /// Parses and validates a scenario for a system of `nodes` nodes.
    pub fn from_json(text: &str, nodes: usize) -> Result<Self, ScenarioError> {
        let scenario: Scenario = parse_json(text)?;
        scenario.validate(nodes)?;
        Ok(scenario)
    }

    /// Checks every field against a system of `nodes` nodes.
    pub fn validate(&self, nodes: usize) -> Result<(), ScenarioError> {
        let known = |field: String, node: NodeId| {
            if node.index() < nodes {
                Ok(())
            } else {
                Err(ScenarioError::UnknownNode { field, node, nodes })
            }
        };
        let invalid = |field: &str, reason: String| ScenarioError::Invalid {
            field: field.into(),
            reason,
        };
        self.sim.validate(nodes)?;
        if self.nemesis.tick_ms == 0 {
            return Err(invalid("nemesis.tick_ms", "must be positive".into()));
        }
        for (i, &node) in self.nemesis.targets.iter().enumerate() {
            known(format!("nemesis.targets[{i}]"), node)?;
        }
        if self.nemesis.clock.drift_ppm_max > DRIFT_PPM_MAX as u32 {
            let reason = format!("must be at most {DRIFT_PPM_MAX}");
            return Err(invalid("nemesis.clock.drift_ppm_max", reason));
        }
        for (i, timed) in self.schedule.iter().flatten().enumerate() {
            let field = format!("schedule[{i}]");
            for node in timed.fault.nodes() {
                known(format!("{field}.fault"), node)?;
            }
            if timed.at_ms >= self.faults_ms {
                let reason = format!(
                    "at_ms={} is not before faults_ms={}",
                    timed.at_ms, self.faults_ms
                );
                return Err(invalid(&format!("{field}.at_ms"), reason));
            }
            if let Fault::Drift { drift_ppm, .. } = timed.fault {
                if drift_ppm.abs() > DRIFT_PPM_MAX {
                    let reason = format!("drift_ppm={drift_ppm} beyond {DRIFT_PPM_MAX}");
                    return Err(invalid(&format!("{field}.fault"), reason));
                }
            }
        }
        Ok(())
    }
}
