//! The explorer form of a seed file: a counterexample `odradek check` found, as the model's
//! shape and the steps from boot (each event with its choices), which `odradek replay`
//! runs in the simulation driver. The steps are applied with the clocks frozen, as the
//! explorer took them; then the run heals, settles, and the test client reads the
//! partition back, and the oracle judges the whole run: it must report the invariant the
//! explorer's property is named after.

use std::path::Path;

use odradek_invariants::{Invariant, Oracle};
use odradek_sim::explorer::{replay_steps, WorldStep};
use odradek_sim::{RunError, Scenario, Simulation};
use serde::{Deserialize, Serialize};

use super::case::{malformed, read_seed_file, write_seed_file};
use super::check::CheckOptions;
use super::{judge, oracle_config, Case, CaseError, KafkaNode, NodeConfig, Timer};
use crate::bugs::Bugs;

/// The format of a counterexample file; a case file of the simulator's form is format 2.
pub const COUNTEREXAMPLE_FORMAT: u32 = 3;

/// Virtual milliseconds of heal and settle after the steps, before the final read.
const SETTLE_MS: u64 = 5_000;
/// When, in that time, the test client reads the partition back.
const FINAL_READ_MS: u64 = 4_000;

/// What `odradek check` explored, as far as a replay needs it: the nodes' configuration.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct CheckedModel {
    /// Brokers, every one a replica of the one partition.
    pub replicas: u16,
    /// Records the test client writes.
    pub records: u64,
    /// `min.insync.replicas`.
    pub min_insync_replicas: usize,
    /// Bug-zoo switches of the controller and brokers.
    pub bugs: Bugs,
    /// Heartbeats, session expiry and checkpoints ran (absent in files written before
    /// the model had them: off).
    #[serde(default)]
    pub periodic_timers: bool,
}

/// A counterexample file.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Counterexample {
    /// [`COUNTEREXAMPLE_FORMAT`].
    pub format: u32,
    /// What the counterexample is, in one line.
    pub about: String,
    /// The property violated, named like the oracle's invariant the replay must report;
    /// or `clean`, for steps to a state the model admits (an allowed loss, say) that the
    /// oracle must not report either.
    pub expect: String,
    /// The model.
    pub model: CheckedModel,
    /// The steps from boot: the boot's restarts, the run to the search's start, the path.
    pub steps: Vec<WorldStep<Timer>>,
}

/// What a counterexample's replay found.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct CounterexampleReplay {
    /// What the file expects.
    pub expected: String,
    /// What the oracle reported first: an invariant's name, or `clean`.
    pub actual: String,
    /// The oracle's violation, in full.
    pub violation: Option<String>,
    /// The losses the oracle allowed, each with its chain.
    pub allowed_losses: Vec<String>,
}

impl CounterexampleReplay {
    /// Whether the oracle reported the expected invariant.
    pub fn met(&self) -> bool {
        self.expected == self.actual
    }
}

impl std::fmt::Display for CounterexampleReplay {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        let verdict = if self.met() { "ok" } else { "FAILED" };
        write!(
            f,
            "{verdict}: counterexample replayed in the simulator, expected {}, the oracle found {}",
            self.expected, self.actual
        )
    }
}

impl Counterexample {
    /// The counterexample of `options`' search for `property`, from boot.
    pub fn new(
        about: String,
        options: &CheckOptions,
        property: &str,
        steps: Vec<WorldStep<Timer>>,
    ) -> Counterexample {
        Counterexample {
            format: COUNTEREXAMPLE_FORMAT,
            about,
            expect: property.to_string(),
            model: CheckedModel {
                replicas: options.replicas,
                records: options.records,
                min_insync_replicas: options.min_insync_replicas,
                bugs: options.bugs.clone(),
                periodic_timers: options.periodic_timers,
            },
            steps,
        }
    }

    /// Reads a counterexample file.
    pub fn load(path: &Path) -> Result<Counterexample, CaseError> {
        let text = read_seed_file(path)?;
        let malformed = |message: String| malformed(path, message);
        let file: Counterexample =
            toml::from_str(&text).map_err(|e| malformed(e.to_string().replace('\n', " ")))?;
        if file.format != COUNTEREXAMPLE_FORMAT {
            let format = file.format;
            return Err(malformed(format!(
                "field=format: version {format} is not the counterexample format \
                 {COUNTEREXAMPLE_FORMAT}"
            )));
        }
        if file.expect != "clean" && Invariant::from_name(&file.expect).is_none() {
            let expect = &file.expect;
            return Err(malformed(format!(
                "field=expect: '{expect}' is neither clean nor an invariant"
            )));
        }
        Ok(file)
    }

    /// Writes the file.
    pub fn save(&self, path: &Path) -> Result<(), CaseError> {
        write_seed_file(
            path,
            &toml::to_string(self).expect("a counterexample serializes"),
        )
    }

    /// The nodes as the explorer ran them, but for the test client's final read, armed at
    /// boot for after the settle phase (its timer never fires while the clocks are frozen).
    fn configs(&self) -> Vec<NodeConfig> {
        let options = CheckOptions {
            replicas: self.model.replicas,
            records: self.model.records,
            min_insync_replicas: self.model.min_insync_replicas,
            bugs: self.model.bugs.clone(),
            periodic_timers: self.model.periodic_timers,
            ..CheckOptions::default()
        };
        let mut configs = options.configs();
        for config in &mut configs {
            if let NodeConfig::Client(client) = config {
                client.final_read_at_ms = Some(FINAL_READ_MS);
            }
        }
        configs
    }

    /// Replays the steps in the simulation driver with the clocks frozen, then heals,
    /// settles and reads back, and asks the oracle.
    pub fn replay(&self) -> Result<CounterexampleReplay, String> {
        let configs = self.configs();
        let mut oracle = Oracle::new(oracle_config(&configs, true));
        let scenario = Scenario {
            faults_ms: 0,
            settle_ms: SETTLE_MS,
            schedule: Some(Vec::new()),
            ..Scenario::default()
        };
        let mut sim: Simulation<KafkaNode> =
            Simulation::new(configs, &scenario, 0).map_err(|e| e.to_string())?;
        let mut step_violation = None;
        let mut check = |entry: &odradek_sim::Observation<odradek_invariants::Observation>| {
            oracle.observe(&super::entry(entry)).map_err(|violation| {
                let message = violation.to_string();
                step_violation = Some(violation);
                message
            })
        };
        let result = (|| {
            replay_steps(&mut sim, &self.steps)?;
            sim.check_log(&mut check)?;
            sim.heal_all()?;
            sim.check_log(&mut check)?;
            sim.run_until(SETTLE_MS * 1000, &mut check)
        })();
        let (violation, allowed_losses) = match result {
            Ok(()) => {
                let verdict = judge(oracle, sim.world());
                let allowed = verdict.allowed_losses.iter().map(ToString::to_string);
                (verdict.violations.first().cloned(), allowed.collect())
            }
            Err(RunError::Violation { .. }) => (step_violation, Vec::new()),
            Err(other) => return Err(format!("the steps do not replay: {other}")),
        };
        Ok(CounterexampleReplay {
            expected: self.expect.clone(),
            actual: (violation.as_ref())
                .map_or("clean".to_string(), |v| v.invariant.name().to_string()),
            violation: violation.as_ref().map(ToString::to_string),
            allowed_losses,
        })
    }
}

/// A seed file of either form, told apart by its format version.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum SeedFile {
    /// A simulated case (formats 1 and 2).
    Case(Box<Case>),
    /// An explorer counterexample ([`COUNTEREXAMPLE_FORMAT`]).
    Counterexample(Counterexample),
}

impl SeedFile {
    /// Reads a seed file of either form.
    pub fn load(path: &Path) -> Result<SeedFile, CaseError> {
        let text = read_seed_file(path)?;
        let format = (text.parse::<toml::Table>().ok())
            .and_then(|table| table.get("format").and_then(toml::Value::as_integer));
        match format {
            Some(f) if f == i64::from(COUNTEREXAMPLE_FORMAT) => {
                Counterexample::load(path).map(SeedFile::Counterexample)
            }
            _ => Case::load(path).map(|case| SeedFile::Case(Box::new(case))),
        }
    }
}
