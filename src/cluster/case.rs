//! Saved cases: one failing (or fixed) Kafka run as a TOML file, replayable after the code
//! changes. A case inlines everything the run needs: the seed, the run's shape (cluster,
//! producer and consumer settings with their bug switches: a [`KafkaRun`]), the scenario
//! with its explicit fault schedule (what the seed drew, written out, so the replay does
//! not depend on the nemesis), the outcome expected, the hazards the replay must reach (its
//! floors: a replay that no longer reaches the failover its bug needs says so, instead of
//! passing as clean for the wrong reason), and the trace hash of the run that wrote it.
//! The faults the targeted injectors fired are in the schedule at their concrete times and
//! again, anchored to the observations that fired them: a replay that no longer meets its
//! expectation (the code's timing moved) replays once more with those faults re-anchored,
//! each fired after the same observation as in the finding run. The file starts with its
//! format version.

use std::fmt;
use std::path::Path;

use odradek_invariants::Invariant;
use odradek_sim::{Scenario, Simulation};
use serde::{Deserialize, Serialize};

use super::targeted::{anchored, reanchor, Anchored};
use super::{hazards, KafkaNode, KafkaOutcome, KafkaRun};

/// The case file format this code writes. Format 1 (no anchored faults) is still read.
pub const CASE_FORMAT: u32 = 2;

/// The case file formats this code reads.
const CASE_FORMATS_READ: [u32; 2] = [1, 2];

/// One saved case.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Case {
    /// The file format's version: [`CASE_FORMAT`].
    pub format: u32,
    /// What the case is for, in one line.
    pub about: String,
    /// The seed.
    pub seed: u64,
    /// `"clean"`, or the name of the invariant the run must violate.
    pub expect: String,
    /// Hazards (`odradek::cluster::hazards`) the replay must reach, or it fails.
    pub hazards: Vec<String>,
    /// The trace hash of the run that saved the case, in hex: equal while the code is
    /// unchanged, informative after.
    pub trace_hash: String,
    /// The run's shape, bug switches included.
    pub run: KafkaRun,
    /// The scenario, with its explicit schedule.
    pub scenario: Scenario,
    /// The schedule's faults the targeted injectors fired, anchored to the observations
    /// that fired them.
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub anchored: Vec<Anchored>,
}

/// Why a case file could not be used.
#[derive(Debug, thiserror::Error)]
pub enum CaseError {
    /// The file could not be read or written.
    #[error("{path}: {error}")]
    Io {
        /// The file.
        path: String,
        /// What went wrong.
        error: std::io::Error,
    },
    /// The file is not a valid case; the message names the line and field.
    #[error("{path}: {message}")]
    Malformed {
        /// The file.
        path: String,
        /// TOML's message (line, column, field).
        message: String,
    },
}

/// A seed file's text.
pub(super) fn read_seed_file(path: &Path) -> Result<String, CaseError> {
    std::fs::read_to_string(path).map_err(|error| CaseError::Io {
        path: path.display().to_string(),
        error,
    })
}

/// Writes a seed file.
pub(super) fn write_seed_file(path: &Path, text: &str) -> Result<(), CaseError> {
    std::fs::write(path, text).map_err(|error| CaseError::Io {
        path: path.display().to_string(),
        error,
    })
}

/// A seed file that is not valid, with the message naming the line and field.
pub(super) fn malformed(path: &Path, message: String) -> CaseError {
    CaseError::Malformed {
        path: path.display().to_string(),
        message,
    }
}

/// A case's outcome against its expectation.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Replayed {
    /// What the case expects.
    pub expected: String,
    /// What the replay found: `"clean"` or an invariant name.
    pub actual: String,
    /// The replay's trace hash, in hex.
    pub trace_hash: String,
    /// The violation, if any.
    pub violation: Option<String>,
    /// Hazards the case requires that the replay did not reach.
    pub unreached: Vec<String>,
    /// The replay at concrete times did not meet the expectation; this is the replay with
    /// the triggered faults re-anchored to their observations.
    pub reanchored: bool,
}

impl Replayed {
    /// Whether the outcome meets the expectation and every hazard floor.
    pub fn met(&self) -> bool {
        self.expected == self.actual && self.unreached.is_empty()
    }
}

impl fmt::Display for Replayed {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        let verdict = if self.met() { "ok" } else { "FAILED" };
        let how = if self.reanchored {
            " (re-anchored)"
        } else {
            ""
        };
        write!(
            f,
            "{verdict}{how}: expected {}, got {} (trace-hash {})",
            self.expected, self.actual, self.trace_hash
        )?;
        if !self.unreached.is_empty() {
            write!(f, "; hazards not reached: {}", self.unreached.join(", "))?;
        }
        Ok(())
    }
}

/// The name an outcome is judged by: `"clean"` or its invariant.
pub fn outcome_name(outcome: &KafkaOutcome) -> String {
    match (&outcome.violation, &outcome.stopped) {
        (Some(violation), _) => violation.invariant.name().to_string(),
        (None, Some(_)) => "stopped".to_string(),
        (None, None) => "clean".to_string(),
    }
}

impl Case {
    /// The case of a finished run, expecting what it found.
    pub fn of_run(
        about: String,
        run: &KafkaRun,
        outcome: &KafkaOutcome,
        scenario: &Scenario,
        anchored: Vec<Anchored>,
    ) -> Case {
        Case {
            format: CASE_FORMAT,
            about,
            seed: outcome.seed,
            run: run.clone(),
            expect: outcome_name(outcome),
            // A replay runs the schedule without triggers: what the targeted injectors
            // fired is in it as plain faults, and counted under their kinds.
            hazards: (outcome.hazards().into_iter())
                .filter(|h| !h.starts_with("targeted:"))
                .collect(),
            trace_hash: format!("{:016x}", outcome.trace_hash),
            scenario: scenario.clone(),
            anchored,
        }
    }

    /// The case of `run`'s finished simulation of `outcome.seed`: its schedule written
    /// out (what the seed drew and what the targeted injectors fired), those fired faults
    /// anchored too.
    pub fn of_simulation(
        about: String,
        run: &KafkaRun,
        outcome: &KafkaOutcome,
        sim: &Simulation<KafkaNode>,
    ) -> Case {
        let scenario = Scenario {
            schedule: Some(sim.schedule().to_vec()),
            ..run.scenario(outcome.seed)
        };
        Case::of_run(about, run, outcome, &scenario, anchored(sim))
    }

    /// Reads a case file.
    pub fn load(path: &Path) -> Result<Case, CaseError> {
        let text = read_seed_file(path)?;
        let malformed = |message: String| malformed(path, message);
        // The version first, so a file of another format says so rather than failing on
        // the first field this format lacks.
        let value: toml::Table =
            toml::from_str(&text).map_err(|e| malformed(e.to_string().replace('\n', " ")))?;
        match value.get("format").map(|v| v.as_integer()) {
            Some(Some(version)) if CASE_FORMATS_READ.iter().any(|&v| i64::from(v) == version) => {}
            Some(Some(version)) => {
                return Err(malformed(format!(
                    "field=format: version {version} is not one this odradek reads \
                     {CASE_FORMATS_READ:?}"
                )))
            }
            Some(None) => return Err(malformed("field=format: not an integer".into())),
            None => {
                return Err(malformed(format!(
                    "field=format missing (this odradek reads format = {CASE_FORMAT})"
                )))
            }
        }
        let case: Case =
            toml::from_str(&text).map_err(|e| malformed(e.to_string().replace('\n', " ")))?;
        let known = case.expect == "clean" || Invariant::from_name(&case.expect).is_some();
        if !known {
            let expect = &case.expect;
            let message = format!("field=expect: '{expect}' is neither clean nor an invariant");
            return Err(malformed(message));
        }
        let known = hazards();
        if let Some(unknown) = case.hazards.iter().find(|h| !known.contains(h)) {
            return Err(malformed(format!("field=hazards: no hazard '{unknown}'")));
        }
        Ok(case)
    }

    /// Writes the case to `path`.
    pub fn save(&self, path: &Path) -> Result<(), CaseError> {
        write_seed_file(path, &toml::to_string(self).expect("a case serializes"))
    }

    /// Replays the case: its seed under its scenario, judged by the oracle; if that does
    /// not meet the expectation and the case has anchored faults, replays it once more
    /// with them re-anchored, and reports that replay.
    pub fn replay(&self) -> Result<Replayed, CaseError> {
        let invalid = |e: odradek_sim::ScenarioError| CaseError::Malformed {
            path: format!("seed {}", self.seed),
            message: e.to_string(),
        };
        let (outcome, _) = (self.run.run_scenario(self.seed, &self.scenario)).map_err(invalid)?;
        let concrete = self.judge(&outcome, false);
        if concrete.met() || self.anchored.is_empty() {
            return Ok(concrete);
        }
        Ok(self.judge(&self.replay_reanchored().map_err(invalid)?, true))
    }

    /// Replays the case with its anchored faults out of the schedule, fired by their
    /// anchors instead.
    pub fn replay_reanchored(&self) -> Result<KafkaOutcome, odradek_sim::ScenarioError> {
        let mut scenario = self.scenario.clone();
        if let Some(schedule) = scenario.schedule.as_mut() {
            for fault in &self.anchored {
                let at = (schedule.iter())
                    .position(|t| t.at_ms == fault.at_ms && t.fault == fault.fault);
                if let Some(at) = at {
                    schedule.remove(at);
                }
            }
        }
        let trigger = reanchor(&self.anchored);
        Ok(self.run.run_triggered(self.seed, &scenario, trigger)?.0)
    }

    fn judge(&self, outcome: &KafkaOutcome, reanchored: bool) -> Replayed {
        let reached = outcome.hazards();
        let unreached = (self.hazards.iter())
            .filter(|h| !reached.contains(h))
            .cloned()
            .collect();
        Replayed {
            unreached,
            expected: self.expect.clone(),
            actual: outcome_name(outcome),
            trace_hash: format!("{:016x}", outcome.trace_hash),
            violation: outcome.violation.as_ref().map(ToString::to_string),
            reanchored,
        }
    }
}
