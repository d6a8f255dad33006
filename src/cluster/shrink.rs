//! Shrinking a failing case (`odradek shrink`): a search for a smaller run that the oracle
//! still fails with the same invariant. Each candidate is replayed from the case's seed
//! under an explicit schedule (no nemesis, no triggers), and kept only if it fails the
//! same way.
//!
//! The passes, repeated until a round keeps nothing: end the fault phase just after a
//! step violation (the run up to it is unchanged, so this never costs the finding), or
//! else as early as keeps failing, so that every later replay is shorter; drop faults by
//! delta debugging, a fault together with the fault that ends it ([`Fault::undoes`]),
//! then the fault that ends one alone; end each remaining fault sooner; move every fault
//! earlier; end the fault phase sooner again; then the scenario's numbers: a shorter
//! settle phase, fewer partitions, one broker fewer where the replicas fit on the rest, a
//! lower record rate. Every step is a pure function of
//! the case, so the same case shrinks to the same result.

use std::cmp::Ordering;
use std::collections::BTreeSet;
use std::fmt;

use odradek_sim::{Fault, NemesisOptions, NodeId, Scenario, ScenarioError, Timed};

use super::{outcome_name, Case, KafkaOutcome, KafkaRun};

/// How far a shrink may go.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct ShrinkOptions {
    /// Replays the search may run, the first (the case as given) included.
    pub replays_max: usize,
}

impl Default for ShrinkOptions {
    fn default() -> Self {
        Self { replays_max: 500 }
    }
}

/// How big a run is.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Size {
    /// Entries of the fault schedule, the ones that end a fault included.
    pub faults: usize,
    /// Events the run applied.
    pub events: u64,
    /// Virtual milliseconds it ran (it stops at a step violation).
    pub simulated_ms: u64,
    /// Records the producer sent.
    pub records: u64,
}

impl Size {
    fn of(scenario: &Scenario, outcome: &KafkaOutcome) -> Size {
        Size {
            faults: scenario.schedule.as_ref().map_or(0, Vec::len),
            events: outcome.events,
            simulated_ms: outcome.simulated_ms,
            records: outcome.counts.sends,
        }
    }
}

impl fmt::Display for Size {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(
            f,
            "{} faults, {} events, {:.1} simulated s, {} records",
            self.faults,
            self.events,
            self.simulated_ms as f64 / 1000.0,
            self.records
        )
    }
}

/// A smaller run the search kept.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Kept {
    /// Replays run so far.
    pub replays: usize,
    /// The step, as "dropped 12 faults" or "settle 2000 ms".
    pub step: String,
    /// The run's size after it.
    pub size: Size,
}

/// What a shrink reports as it goes.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Progress<'a> {
    /// The search starts its replay with this number.
    Replaying(usize),
    /// It kept a smaller run.
    Kept(&'a Kept),
}

/// A shrink's result.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Shrunk {
    /// The smaller case, expecting the same invariant; its trace hash is its own run's.
    pub case: Case,
    /// The case as given.
    pub before: Size,
    /// The shrunk case.
    pub after: Size,
    /// The shrunk case's run, with its violation.
    pub outcome: KafkaOutcome,
    /// Replays run.
    pub replays: usize,
    /// The replay budget ended the search before a round kept nothing.
    pub budget_spent: bool,
}

/// Why a case cannot be shrunk.
#[derive(Debug, thiserror::Error)]
pub enum ShrinkError {
    /// The case expects a clean run: there is nothing to keep failing.
    #[error("the case expects a clean run; shrink needs a failing one")]
    Clean,
    /// Replayed from its explicit schedule, the case does not fail as it expects.
    #[error(
        "replayed at its concrete times the case gives {actual}, not the {expected} it expects; \
         re-save it from its seed (odradek run --seed S --save FILE) and shrink that"
    )]
    NotFailing {
        /// What the case expects.
        expected: String,
        /// What its replay gave.
        actual: String,
    },
    /// The case's scenario does not validate.
    #[error("{0}")]
    Scenario(#[from] ScenarioError),
    /// The case's run does not validate.
    #[error("{0}")]
    Run(String),
}

/// A run under consideration: the case's seed under this shape and schedule.
#[derive(Debug, Clone, PartialEq, Eq)]
struct Candidate {
    run: KafkaRun,
    scenario: Scenario,
}

impl Candidate {
    fn schedule(&self) -> &[Timed] {
        self.scenario.schedule.as_deref().unwrap_or(&[])
    }

    fn with_schedule(&self, schedule: Vec<Timed>) -> Candidate {
        let mut next = self.clone();
        next.scenario.schedule = Some(schedule);
        next
    }

    /// The fault phase ended at `faults_ms`, and the faults at or after it dropped.
    fn with_faults_ms(&self, faults_ms: u64) -> Candidate {
        let mut next = self.clone();
        next.run.faults_ms = faults_ms;
        next.scenario.faults_ms = faults_ms;
        let schedule = next.scenario.schedule.get_or_insert_with(Vec::new);
        schedule.retain(|t| t.at_ms < faults_ms);
        next
    }
}

impl Candidate {
    /// The run with its last broker gone, where the topic's replicas fit on the rest and
    /// no per-link latency names a node: the nodes after it (the clients) move down one,
    /// and the faults that named it lose it ([`Fault::renamed`]).
    fn without_last_broker(&self) -> Option<Candidate> {
        let cluster = &self.run.cluster;
        let gone = *cluster.brokers.last()?;
        let replicas = cluster.topics.first()?.replication_factor;
        if cluster.brokers.len() <= replicas || !self.scenario.sim.links.is_empty() {
            return None;
        }
        let rename = |node: NodeId| match node.index().cmp(&gone.index()) {
            Ordering::Less => Some(node),
            Ordering::Equal => None,
            Ordering::Greater => Some(NodeId(node.0 - 1)),
        };
        let mut next = self.clone();
        next.run.cluster.brokers.pop();
        let schedule = (self.schedule().iter())
            .filter_map(|t| {
                Some(Timed {
                    at_ms: t.at_ms,
                    fault: t.fault.renamed(&rename)?,
                })
            })
            .collect();
        next.scenario.schedule = Some(schedule);
        Some(next)
    }
}

/// The search: the best candidate so far, its outcome, and the replays spent.
struct Search<'a> {
    seed: u64,
    expected: String,
    best: Candidate,
    outcome: KafkaOutcome,
    replays: usize,
    options: ShrinkOptions,
    on_progress: &'a mut dyn FnMut(Progress<'_>),
}

impl Search<'_> {
    fn spent(&self) -> bool {
        self.replays >= self.options.replays_max
    }

    /// Replays `candidate`; keeps it if it fails the same way. False without a replay when
    /// the budget is spent.
    fn try_keep(&mut self, candidate: Candidate, step: impl FnOnce() -> String) -> bool {
        if self.spent() || candidate == self.best {
            return false;
        }
        self.replays += 1;
        (self.on_progress)(Progress::Replaying(self.replays));
        let Ok(outcome) = candidate.run.outcome_under(self.seed, &candidate.scenario) else {
            return false;
        };
        if outcome_name(&outcome) != self.expected {
            return false;
        }
        self.best = candidate;
        self.outcome = outcome;
        let kept = Kept {
            replays: self.replays,
            step: step(),
            size: Size::of(&self.best.scenario, &self.outcome),
        };
        (self.on_progress)(Progress::Kept(&kept));
        true
    }

    /// Ends the fault phase just after the violation, when a step invariant caught it
    /// during the faults: the run up to it is the same, so it fails the same way.
    fn cut_at_violation(&mut self) -> bool {
        let Some(violation) = &self.outcome.violation else {
            return false;
        };
        let at_ms = violation.time_us / 1000;
        let faults_ms = (at_ms / 100 + 2) * 100;
        if faults_ms >= self.best.run.faults_ms {
            return false;
        }
        let candidate = self.best.with_faults_ms(faults_ms);
        self.try_keep(candidate, || {
            format!("fault phase ends at {faults_ms} ms, after the violation")
        })
    }

    /// Delta debugging over the schedule's faults, each with the faults that end it: drop a
    /// chunk of them; when no chunk can go, try chunks half the size.
    fn drop_faults(&mut self) -> bool {
        let mut kept_any = false;
        let mut chunks = 2;
        loop {
            let units = units(self.best.schedule());
            if units.is_empty() {
                break;
            }
            let chunks_now = usize::min(chunks, units.len());
            let mut dropped = false;
            for chunk in units.chunks(units.len().div_ceil(chunks_now)) {
                let gone: BTreeSet<usize> = chunk.iter().flatten().copied().collect();
                let schedule = (self.best.schedule().iter().enumerate())
                    .filter(|(i, _)| !gone.contains(i))
                    .map(|(_, t)| t.clone())
                    .collect();
                let candidate = self.best.with_schedule(schedule);
                let n = gone.len();
                if self.try_keep(candidate, || format!("dropped {n} faults")) {
                    dropped = true;
                    break;
                }
                if self.spent() {
                    return kept_any;
                }
            }
            if dropped {
                kept_any = true;
                chunks = usize::max(chunks_now - 1, 2);
            } else if chunks_now >= units.len() {
                break;
            } else {
                chunks = usize::min(chunks_now * 2, units.len());
            }
        }
        kept_any
    }

    /// Drops the fault that ends a fault, one at a time: the fault then lasts until the
    /// fault phase ends, and the schedule is one entry shorter.
    fn drop_ends(&mut self) -> bool {
        let mut kept_any = false;
        let mut unit = 0;
        while !self.spent() {
            let units = units(self.best.schedule());
            let Some(found) = units.get(unit) else {
                break;
            };
            let (Some(&start), Some(&end)) = (found.first(), found.get(1)) else {
                unit += 1;
                continue;
            };
            let name = self.best.schedule()[start].fault.name();
            let mut schedule = self.best.schedule().to_vec();
            schedule.remove(end);
            let at_ms = self.best.schedule()[start].at_ms;
            let step = || format!("the {name} at {at_ms} ms lasts to the end");
            if !self.try_keep(self.best.with_schedule(schedule), step) {
                unit += 1;
            } else {
                kept_any = true;
            }
        }
        kept_any
    }

    /// Ends each fault sooner: the fault that ends it moves halfway towards it, while that
    /// keeps failing.
    fn shorten(&mut self) -> bool {
        let mut kept_any = false;
        let mut unit = 0;
        while unit < units(self.best.schedule()).len() && !self.spent() {
            let Some(&[start, end]) = units(self.best.schedule())[unit].get(..2) else {
                unit += 1;
                continue;
            };
            let schedule = self.best.schedule();
            let (from, to) = (schedule[start].at_ms, schedule[end].at_ms);
            let at_ms = from + (to - from) / 2;
            if to - from < 20 {
                unit += 1;
                continue;
            }
            let mut moved = schedule.to_vec();
            moved[end].at_ms = at_ms;
            moved.sort_by_key(|t| t.at_ms);
            let name = schedule[start].fault.name();
            let step = || format!("{name} at {from} ms lasts {} ms", at_ms - from);
            if self.try_keep(self.best.with_schedule(moved), step) {
                kept_any = true;
            } else {
                unit += 1;
            }
        }
        kept_any
    }

    /// Moves every fault earlier by the same amount, halving the move until one keeps
    /// failing.
    fn move_earlier(&mut self) -> bool {
        let Some(first) = self.best.schedule().first().map(|t| t.at_ms) else {
            return false;
        };
        let mut shift = first / 2;
        while shift >= 50 && !self.spent() {
            let moved = (self.best.schedule().iter())
                .map(|t| Timed {
                    at_ms: t.at_ms - shift,
                    fault: t.fault.clone(),
                })
                .collect();
            if self.try_keep(self.best.with_schedule(moved), || {
                format!("every fault {shift} ms earlier")
            }) {
                return true;
            }
            shift /= 2;
        }
        false
    }

    /// Ends the fault phase sooner, dropping the faults after its new end: the shortest of a
    /// halving search that keeps failing.
    fn cut_fault_phase(&mut self) -> bool {
        let (mut low, mut high) = (0, self.best.run.faults_ms);
        let mut kept_any = false;
        while high - low > 200 && !self.spent() {
            let faults_ms = (low + (high - low) / 2).div_ceil(100) * 100;
            let candidate = self.best.with_faults_ms(faults_ms);
            if self.try_keep(candidate, || format!("fault phase ends at {faults_ms} ms")) {
                kept_any = true;
                high = faults_ms;
            } else {
                low = faults_ms;
            }
        }
        kept_any
    }

    /// The scenario's numbers: a shorter settle phase, fewer partitions, a broker fewer,
    /// fewer records per second, each the smallest that keeps failing.
    fn scenario_numbers(&mut self) -> bool {
        let mut kept_any = false;
        for settle_ms in [1_000, 2_000, 5_000] {
            if settle_ms >= self.best.run.settle_ms {
                break;
            }
            let mut candidate = self.best.clone();
            candidate.run.settle_ms = settle_ms;
            candidate.scenario.settle_ms = settle_ms;
            if self.try_keep(candidate, || format!("settle phase {settle_ms} ms")) {
                kept_any = true;
                break;
            }
        }
        let partitions = self.best.run.cluster.topics[0].partitions;
        for fewer in 1..partitions {
            let mut candidate = self.best.clone();
            candidate.run.cluster.topics[0].partitions = fewer;
            if self.try_keep(candidate, || format!("{fewer} partition(s)")) {
                kept_any = true;
                break;
            }
        }
        if let Some(candidate) = self.best.without_last_broker() {
            let brokers = candidate.run.cluster.brokers.len();
            if self.try_keep(candidate, || format!("{brokers} brokers")) {
                kept_any = true;
            }
        }
        let interval = self.best.run.record_interval_ms;
        for slower in [100, 50, 20] {
            if slower <= interval {
                break;
            }
            let mut candidate = self.best.clone();
            candidate.run.record_interval_ms = slower;
            let rate = 1000 / slower;
            if self.try_keep(candidate, || format!("{rate} records per simulated s")) {
                kept_any = true;
                break;
            }
        }
        kept_any
    }
}

/// The schedule's faults grouped with the faults that end them: each group is the index
/// of a fault and, after it, the index of the first later fault that [`Fault::undoes`] it
/// and is not already taken. A fault that ends nothing left open stands alone.
fn units(schedule: &[Timed]) -> Vec<Vec<usize>> {
    let mut units: Vec<Vec<usize>> = Vec::new();
    let mut taken = vec![false; schedule.len()];
    for (i, timed) in schedule.iter().enumerate() {
        if taken[i] {
            continue;
        }
        let mut unit = vec![i];
        let ender = (i + 1..schedule.len()).find(|&j| {
            !taken[j] && schedule[j].fault.undoes(&timed.fault) && !ends_another(schedule, j)
        });
        if let Some(j) = ender {
            taken[j] = true;
            unit.push(j);
        }
        units.push(unit);
    }
    units
}

/// A heal that ends every cut at once stays a unit of its own, so dropping one cut does
/// not drop the heal the others need.
fn ends_another(schedule: &[Timed], j: usize) -> bool {
    matches!(
        schedule[j].fault,
        Fault::HealPartitions | Fault::HealNetwork
    )
}

/// Shrinks `case`, telling `on_progress` of every replay and every smaller run it keeps.
pub fn shrink(
    case: &Case,
    options: ShrinkOptions,
    on_progress: &mut dyn FnMut(Progress<'_>),
) -> Result<Shrunk, ShrinkError> {
    if case.expect == "clean" {
        return Err(ShrinkError::Clean);
    }
    case.run.validate().map_err(ShrinkError::Run)?;
    // What the seed drew for the faults is already in the schedule: the nemesis options
    // and the targeted injectors play no part in a replay, and are left at their defaults
    // so the shrunk file shows only what does.
    let mut start = Candidate {
        run: case.run.clone(),
        scenario: case.scenario.clone(),
    };
    start.run.targeted = false;
    start.scenario.nemesis = NemesisOptions::default();
    start.scenario.schedule.get_or_insert_with(Vec::new);
    let outcome = start.run.outcome_under(case.seed, &start.scenario)?;
    if outcome_name(&outcome) != case.expect {
        return Err(ShrinkError::NotFailing {
            expected: case.expect.clone(),
            actual: outcome_name(&outcome),
        });
    }
    let before = Size::of(&start.scenario, &outcome);
    let mut search = Search {
        seed: case.seed,
        expected: case.expect.clone(),
        best: start,
        outcome,
        replays: 1,
        options,
        on_progress,
    };
    loop {
        // Shorter runs first, so that every later replay is cheaper.
        let mut kept = search.cut_at_violation() || search.cut_fault_phase();
        kept |= search.drop_faults();
        kept |= search.drop_ends();
        kept |= search.shorten();
        kept |= search.move_earlier();
        kept |= search.cut_at_violation() || search.cut_fault_phase();
        kept |= search.scenario_numbers();
        if !kept || search.spent() {
            break;
        }
    }
    let Search {
        best,
        outcome,
        replays,
        ..
    } = search;
    let after = Size::of(&best.scenario, &outcome);
    let about = format!(
        "odradek shrink of seed {} ({}): {} faults, was {}",
        case.seed, case.expect, after.faults, before.faults
    );
    let shrunk = Case::of_run(about, &best.run, &outcome, &best.scenario, Vec::new());
    Ok(Shrunk {
        case: shrunk,
        before,
        after,
        outcome,
        replays,
        budget_spent: replays >= options.replays_max,
    })
}
