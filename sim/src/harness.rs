//! The `cargo test` harness: which seeds to run, running them, and saying how to replay a
//! failure.
//!
//! `ODRADEK_SEED=S` runs exactly seed `S`; `ODRADEK_SEEDS=N` runs `N` seeds (a small
//! default otherwise) from `ODRADEK_SEED_START`, or from a random start so that every CI
//! run covers new seeds. A failing seed prints the line that reproduces it before the test
//! fails with the violation; a panic inside the run (a node's, say) is caught and reported
//! the same way, with its seed.

use std::env;
use std::fmt;
use std::hash::{BuildHasher, Hasher};
use std::panic::{self, AssertUnwindSafe};

use crate::node::Node;
use crate::simulation::RunError;
use crate::trace::{Divergence, Trace};

/// Runs exactly this seed.
pub const SEED_VAR: &str = "ODRADEK_SEED";
/// Runs this many seeds.
pub const SEEDS_VAR: &str = "ODRADEK_SEEDS";
/// Starts the seeds here.
pub const SEED_START_VAR: &str = "ODRADEK_SEED_START";

/// A range of seeds to run.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Seeds {
    /// The first seed.
    pub start: u64,
    /// How many.
    pub count: u64,
}

/// An environment variable that does not hold a number.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error("environment variable is not an unsigned integer. name={name} value={value:?}")]
pub struct SeedsError {
    /// The variable.
    pub name: &'static str,
    /// What it holds.
    pub value: String,
}

impl Seeds {
    /// The seeds the environment asks for, `default_count` of them from a random start if
    /// it asks for none.
    pub fn from_env(default_count: u64) -> Result<Self, SeedsError> {
        if let Some(seed) = read_var(SEED_VAR)? {
            return Ok(Self {
                start: seed,
                count: 1,
            });
        }
        let count = read_var(SEEDS_VAR)?.unwrap_or(default_count);
        let start = match read_var(SEED_START_VAR)? {
            Some(start) => start,
            None => std::collections::hash_map::RandomState::new()
                .build_hasher()
                .finish(),
        };
        Ok(Self { start, count })
    }

    /// Every seed, in order.
    pub fn iter(&self) -> impl Iterator<Item = u64> {
        let start = self.start;
        (0..self.count).map(move |i| start.wrapping_add(i))
    }
}

fn read_var(name: &'static str) -> Result<Option<u64>, SeedsError> {
    match env::var(name) {
        Ok(value) => value
            .trim()
            .parse()
            .map(Some)
            .map_err(|_| SeedsError { name, value }),
        Err(_) => Ok(None),
    }
}

/// How a seed failed.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum FailureKind {
    /// A checker found a violation.
    Violation,
    /// Something panicked (a node, a checker, the engine).
    Panic,
    /// The run broke off: a refused event or the event budget.
    Error,
}

/// A failing seed.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Failure {
    /// The seed.
    pub seed: u64,
    /// How it failed.
    pub kind: FailureKind,
    /// What the checker, panic or error said.
    pub message: String,
}

impl fmt::Display for Failure {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        let kind = match self.kind {
            FailureKind::Violation => "violation",
            FailureKind::Panic => "panic",
            FailureKind::Error => "error",
        };
        write!(f, "{kind}: {} seed={}", self.message, self.seed)
    }
}

/// Runs one seed, catching a panic as a failure of that seed.
pub fn run_seed<T>(seed: u64, run: impl FnOnce(u64) -> Result<T, RunError>) -> Result<T, Failure> {
    let outcome = panic::catch_unwind(AssertUnwindSafe(|| run(seed)));
    let (kind, message) = match outcome {
        Ok(Ok(value)) => return Ok(value),
        Ok(Err(error @ RunError::Violation { .. })) => (FailureKind::Violation, error.to_string()),
        Ok(Err(error)) => (FailureKind::Error, error.to_string()),
        Err(payload) => (FailureKind::Panic, panic_message(payload.as_ref())),
    };
    Err(Failure {
        seed,
        kind,
        message,
    })
}

fn panic_message(payload: &(dyn std::any::Any + Send)) -> String {
    if let Some(text) = payload.downcast_ref::<&str>() {
        (*text).to_owned()
    } else if let Some(text) = payload.downcast_ref::<String>() {
        text.clone()
    } else {
        "panic with a non-text payload".to_owned()
    }
}

/// The shell line that reruns one seed: `ODRADEK_SEED=<seed> <command>`.
pub fn reproduce_line(seed: u64, command: &str) -> String {
    format!("{SEED_VAR}={seed} {command}")
}

/// Runs every seed and returns each run's value. On the first failure prints the seed and
/// the line that reproduces it (`command` is the cargo invocation of the calling test),
/// then panics with the failure.
pub fn check_seeds<T>(
    seeds: Seeds,
    command: &str,
    run: impl Fn(u64) -> Result<T, RunError>,
) -> Vec<T> {
    let mut values = Vec::new();
    for seed in seeds.iter() {
        match run_seed(seed, &run) {
            Ok(value) => values.push(value),
            Err(failure) => {
                eprintln!("seed: {seed}");
                eprintln!("reproduce: {}", reproduce_line(seed, command));
                panic!("{failure}");
            }
        }
    }
    values
}

/// Runs `seed` twice and compares the traces event by event: the trace hash if they
/// agree, the first divergent event if not.
pub fn check_determinism<N: Node>(
    seed: u64,
    run: impl Fn(u64) -> Trace<N>,
) -> Result<u64, Divergence> {
    let first = run(seed);
    let second = run(seed);
    match first.first_divergence(&second) {
        None => Ok(first.hash()),
        Some(divergence) => Err(divergence),
    }
}
