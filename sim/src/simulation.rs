//! The simulation driver: a discrete-event loop over the world in virtual time.
//!
//! The world says what may happen; this driver decides when. It keeps an arrival time for
//! every message in flight and a deadline for every armed timer (mirroring the world's
//! streams and timers through the effects of each event), walks the fault schedule, and
//! always applies the earliest event next. Every latency and every choice comes from one
//! ChaCha8 stream of the run's seed, so a seed reproduces a run exactly. A run boots every
//! node, injects faults for `faults_ms`, heals everything, and settles for `settle_ms`.

use std::collections::{BTreeMap, VecDeque};

use serde::{Deserialize, Serialize};

use crate::address::{Direction, NodeId, StreamId};
use crate::chooser::Chooser;
use crate::effect::Effect;
use crate::event::{Event, EventError};
use crate::fault::Fault;
use crate::nemesis::{self, Timed};
use crate::node::Node;
use crate::observation::{Observation, Observed};
use crate::rng::{RngStream, SimRng};
use crate::scenario::{Scenario, ScenarioError};
use crate::sim_disk::SimDiskOptions;
use crate::trace::Trace;
use crate::world::{Status, World};

/// One-way latency, uniform in `min_us..=max_us`.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Latency {
    /// Fastest delivery.
    pub min_us: u64,
    /// Slowest delivery.
    pub max_us: u64,
}

/// A latency distribution for one directed link, replacing the default.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct LinkLatency {
    /// Sender.
    pub from: NodeId,
    /// Receiver.
    pub to: NodeId,
    /// The link's latency.
    pub latency: Latency,
}

/// The simulated machine room: latencies, disks, supervision and the event budget.
#[derive(Debug, Clone, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[serde(deny_unknown_fields, default)]
pub struct SimOptions {
    /// Latency of every link without its own.
    pub latency: Latency,
    /// Links with their own latency.
    pub links: Vec<LinkLatency>,
    /// How long a node that halted stays down before its supervisor restarts it.
    pub halt_restart_ms: u64,
    /// Events one run may apply before it is declared runaway.
    pub events_max: u64,
    /// Every node's disk.
    pub disk: SimDiskOptions,
}

impl Default for SimOptions {
    fn default() -> Self {
        Self {
            latency: Latency {
                min_us: 100,
                max_us: 1_000,
            },
            links: Vec::new(),
            halt_restart_ms: 500,
            events_max: 50_000_000,
            disk: SimDiskOptions::default(),
        }
    }
}

impl SimOptions {
    pub(crate) fn validate(&self, nodes: usize) -> Result<(), ScenarioError> {
        let check = |field: String, latency: &Latency| {
            if latency.min_us <= latency.max_us {
                Ok(())
            } else {
                Err(ScenarioError::Invalid {
                    field,
                    reason: format!("min_us={} above max_us={}", latency.min_us, latency.max_us),
                })
            }
        };
        check("sim.latency".into(), &self.latency)?;
        for (i, link) in self.links.iter().enumerate() {
            check(format!("sim.links[{i}].latency"), &link.latency)?;
            for node in [link.from, link.to] {
                if node.index() >= nodes {
                    let field = format!("sim.links[{i}]");
                    return Err(ScenarioError::UnknownNode { field, node, nodes });
                }
            }
        }
        if self.disk.block_size == 0 {
            return Err(ScenarioError::Invalid {
                field: "sim.disk.block_size".into(),
                reason: "must be positive".into(),
            });
        }
        Ok(())
    }
}

/// Counts of what a run did.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct RunStats {
    /// Events applied or skipped.
    pub events: u64,
    /// Messages delivered.
    pub deliveries: u64,
    /// Timers fired.
    pub timers: u64,
    /// Faults applied, by [`Fault::name`].
    pub faults: BTreeMap<&'static str, u64>,
    /// Scheduled faults skipped because they were not enabled.
    pub skipped: u64,
    /// Nodes that halted themselves.
    pub halts: u64,
}

impl RunStats {
    /// Faults injected: every fault applied but the restarts (the boot's among them),
    /// resumes, releases and heals that undo faults. What a floor on "faults fired" counts.
    pub fn faults_injected(&self) -> u64 {
        (self.faults.iter())
            .filter(|(name, _)| Fault::INJECTORS.contains(name))
            .map(|(_, n)| n)
            .sum()
    }
}

/// Why a run stopped early.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum RunError {
    /// A checker found a violation.
    #[error("{message} time_us={time_us}")]
    Violation {
        /// When, in virtual microseconds.
        time_us: u64,
        /// The checker's report.
        message: String,
    },
    /// The world refused an event the driver could not skip (a node sent to an unknown
    /// node, disconnect handlers ran away, a replayed event was not enabled).
    #[error("event failed. time_us={time_us} {source}")]
    Event {
        /// When, in virtual microseconds.
        time_us: u64,
        /// What the world said.
        source: EventError,
    },
    /// The run applied `events_max` events.
    #[error("event budget exhausted. events_max={events_max}")]
    EventBudget {
        /// The budget.
        events_max: u64,
    },
}

/// A checker that sees each log entry as it is written and may stop the run.
pub type Check<'a, O> = dyn FnMut(&Observation<O>) -> Result<(), String> + 'a;

/// Faults fired by what the nodes observe: called with every log entry of the fault phase,
/// it answers the faults to apply, each `delay_ms` after the next whole millisecond. The
/// framework knows nothing of the system; the predicates are the caller's, and a fault's
/// target comes from the observation (the leader just elected, the last ISR member).
/// Every fault fired joins [`Simulation::schedule`] as a plain timed fault, so a run saved
/// with its schedule replays without the trigger.
pub type Trigger<O> = Box<dyn FnMut(&Observation<O>) -> Vec<Triggered>>;

/// One fault a [`Trigger`] fires.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Triggered {
    /// Milliseconds after the next whole millisecond.
    pub delay_ms: u64,
    /// The fault.
    pub fault: Fault,
}

/// A fault a [`Trigger`] fired, with the log entry that fired it: what a saved case needs
/// to re-anchor the fault to its trigger when the code's timing moves.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Fired {
    /// The index in [`Simulation::log`] of the entry that fired it.
    pub observation: usize,
    /// When it applies.
    pub at_ms: u64,
    /// Its delay after the millisecond following the entry, as the trigger answered.
    pub delay_ms: u64,
    /// The fault.
    pub fault: Fault,
}

/// The earliest thing due, found by [`Simulation::next`].
enum Due<T> {
    Fault,
    Restart(NodeId),
    Deliver(StreamId),
    Fire(NodeId, T),
}

/// Records every answer of the wrapped chooser, for the trace.
struct Recorder<'a> {
    inner: &'a mut dyn Chooser,
    answers: &'a mut Vec<u32>,
}

impl Chooser for Recorder<'_> {
    fn choose(&mut self, n: usize) -> usize {
        let answer = self.inner.choose(n);
        assert!(answer < n, "chooser answered {answer} to choose({n})");
        self.answers.push(answer as u32);
        answer
    }
}

/// One seeded run of a system. See the module docs.
pub struct Simulation<N: Node> {
    seed: u64,
    scenario: Scenario,
    world: World<N>,
    schedule: Vec<Timed>,
    next_fault: usize,
    now_us: u64,
    rng: SimRng,
    /// Arrival time of every message in flight, per stream, in stream order.
    arrivals: BTreeMap<StreamId, VecDeque<u64>>,
    /// Deadline of every armed timer.
    deadlines: BTreeMap<(NodeId, N::Timer), u64>,
    /// When the supervisor restarts each halted node.
    restarts: BTreeMap<NodeId, u64>,
    /// The heal-and-settle phase began: nodes that stop are restarted.
    settling: bool,
    trace: Trace<N>,
    log: Vec<Observation<N::Obs>>,
    /// Log entries already shown to the checker.
    checked: usize,
    stats: RunStats,
    /// Scratch space for each event's effects.
    effects: Vec<Effect<N>>,
    /// Faults fired by observations, during the fault phase.
    trigger: Option<Trigger<N::Obs>>,
    /// Log entries already shown to the trigger.
    triggered: usize,
    /// What the trigger fired.
    fired: Vec<Fired>,
}

impl<N: Node> Simulation<N> {
    /// A run of one node per configuration under `scenario` and `seed`. The schedule is
    /// the scenario's, or drawn from its nemesis options and the seed.
    pub fn new(
        configs: Vec<N::Config>,
        scenario: &Scenario,
        seed: u64,
    ) -> Result<Self, ScenarioError> {
        scenario.validate(configs.len())?;
        let schedule = match &scenario.schedule {
            Some(schedule) => schedule.clone(),
            None => {
                let mut rng = SimRng::for_stream(seed, RngStream::Schedule);
                nemesis::generate(
                    &scenario.nemesis,
                    configs.len(),
                    scenario.faults_ms,
                    &mut rng,
                )
            }
        };
        let mut schedule = schedule;
        schedule.sort_by_key(|timed| timed.at_ms);
        Ok(Self {
            seed,
            world: World::new(configs, scenario.sim.disk),
            scenario: scenario.clone(),
            schedule,
            next_fault: 0,
            now_us: 0,
            rng: SimRng::new(seed),
            arrivals: BTreeMap::new(),
            deadlines: BTreeMap::new(),
            restarts: BTreeMap::new(),
            settling: false,
            trace: Trace::default(),
            log: Vec::new(),
            checked: 0,
            stats: RunStats::default(),
            effects: Vec::new(),
            trigger: None,
            fired: Vec::new(),
            triggered: 0,
        })
    }

    /// The run's seed.
    pub fn seed(&self) -> u64 {
        self.seed
    }

    /// The world as it stands.
    pub fn world(&self) -> &World<N> {
        &self.world
    }

    /// Virtual time, in microseconds.
    pub fn now_us(&self) -> u64 {
        self.now_us
    }

    /// The fault schedule, drawn or given, with every fault a trigger fired.
    pub fn schedule(&self) -> &[Timed] {
        &self.schedule
    }

    /// Keeps only the trace hash, not the trace's entries (each delivery's message among
    /// them): for runs whose trace nobody reads. Call before the run.
    pub fn keep_trace_hash_only(&mut self) {
        self.trace.keep_hash_only();
    }

    /// Fires faults on observations during the fault phase (see [`Trigger`]).
    pub fn set_trigger(&mut self, trigger: Trigger<N::Obs>) {
        self.trigger = Some(trigger);
    }

    /// Shows the trigger every log entry written since it last looked, and schedules what
    /// it fires after every fault already due at the same millisecond.
    fn fire_triggers(&mut self) {
        let Some(trigger) = self.trigger.as_mut() else {
            return;
        };
        if self.settling {
            self.triggered = self.log.len();
            return;
        }
        let mut fired = Vec::new();
        while let Some(entry) = self.log.get(self.triggered) {
            let observation = self.triggered;
            self.triggered += 1;
            fired.extend(trigger(entry).into_iter().map(|t| (observation, t)));
        }
        // Strictly after now: a replay, whose schedule holds the fault from the start,
        // applies it at the same point among the events of its millisecond.
        let next_ms = self.now_us / 1000 + 1;
        for (observation, Triggered { delay_ms, fault }) in fired {
            let at_ms = next_ms + delay_ms;
            let at = self.next_fault
                + self.schedule[self.next_fault..].partition_point(|t| t.at_ms <= at_ms);
            self.schedule.insert(
                at,
                Timed {
                    at_ms,
                    fault: fault.clone(),
                },
            );
            self.fired.push(Fired {
                observation,
                at_ms,
                delay_ms,
                fault,
            });
        }
    }

    /// Every fault the trigger fired so far, in firing order.
    pub fn fired(&self) -> &[Fired] {
        &self.fired
    }

    /// Every event so far.
    pub fn trace(&self) -> &Trace<N> {
        &self.trace
    }

    /// Every observation, disk fault, crash and restart so far.
    pub fn log(&self) -> &[Observation<N::Obs>] {
        &self.log
    }

    /// Counts of what happened so far.
    pub fn stats(&self) -> &RunStats {
        &self.stats
    }

    /// The whole run: boot, the fault phase, heal, the settle phase. `check` sees every log
    /// entry as it is written.
    pub fn run(&mut self, check: &mut Check<'_, N::Obs>) -> Result<(), RunError> {
        self.boot()?;
        self.check_log(check)?;
        let faults_us = self.scenario.faults_ms * 1000;
        self.run_until(faults_us, check)?;
        self.heal_all()?;
        self.check_log(check)?;
        let settle_us = self.scenario.settle_ms * 1000;
        self.run_until(faults_us + settle_us, check)
    }

    /// Starts every down node now.
    pub fn boot(&mut self) -> Result<(), RunError> {
        let ids: Vec<NodeId> = self.world.ids().collect();
        for node in ids {
            if self.world.status(node) == Status::Down {
                self.apply_event(Event::Fault(Fault::Restart { node }), true, None)?;
            }
        }
        Ok(())
    }

    /// Applies events in time order until the next one is due after `end_us`, then moves
    /// the clock to `end_us`.
    pub fn run_until(
        &mut self,
        end_us: u64,
        check: &mut Check<'_, N::Obs>,
    ) -> Result<(), RunError> {
        while let Some((time_us, due)) = self.next() {
            if time_us > end_us {
                break;
            }
            self.now_us = self.now_us.max(time_us);
            self.apply_due(due)?;
            self.check_log(check)?;
            self.fire_triggers();
        }
        self.now_us = self.now_us.max(end_us);
        Ok(())
    }

    /// Applies the next event due, whenever it is. Returns false when nothing is due.
    pub fn step(&mut self) -> Result<bool, RunError> {
        let Some((time_us, due)) = self.next() else {
            return Ok(false);
        };
        self.now_us = self.now_us.max(time_us);
        self.apply_due(due)?;
        Ok(true)
    }

    /// Ends every fault now: heals the network, every disk and clock, resumes paused
    /// nodes, restarts down ones, and drops what is left of the schedule.
    pub fn heal_all(&mut self) -> Result<(), RunError> {
        self.next_fault = self.schedule.len();
        self.settling = true;
        self.apply_event(Event::Fault(Fault::HealNetwork), true, None)?;
        let ids: Vec<NodeId> = self.world.ids().collect();
        for node in ids {
            self.apply_event(Event::Fault(Fault::HealDisk { node }), true, None)?;
            if self.world.clock(node).drift_ppm != 0 {
                self.apply_event(Event::Fault(Fault::HealClock { node }), true, None)?;
            }
            let undo = match self.world.status(node) {
                Status::Up => continue,
                Status::Paused => Fault::Resume { node },
                Status::Down => Fault::Restart { node },
            };
            self.apply_event(Event::Fault(undo), true, None)?;
        }
        Ok(())
    }

    /// Applies one given event now, with `chooser` answering its choices: how a
    /// counterexample found by the explorer replays step by step with the clock frozen.
    /// An event that is not enabled is an error.
    pub fn replay(
        &mut self,
        event: Event<N::Timer>,
        chooser: &mut dyn Chooser,
    ) -> Result<(), RunError> {
        self.apply_event(event, false, Some(chooser))
    }

    /// Shows the checker every log entry written since it last looked.
    pub fn check_log(&mut self, check: &mut Check<'_, N::Obs>) -> Result<(), RunError> {
        while let Some(entry) = self.log.get(self.checked) {
            self.checked += 1;
            check(entry).map_err(|message| RunError::Violation {
                time_us: entry.time_us,
                message,
            })?;
        }
        Ok(())
    }

    /// The earliest due event. Ties go to faults, then restarts, deliveries and timers,
    /// each in key order, so the choice is deterministic.
    fn next(&self) -> Option<(u64, Due<N::Timer>)> {
        let mut best: Option<(u64, Due<&N::Timer>)> = None;
        let earlier = |best: &Option<(u64, Due<&N::Timer>)>, time: u64| !matches!(best, Some((t, _)) if *t <= time);
        if let Some(timed) = self.schedule.get(self.next_fault) {
            best = Some((timed.at_ms * 1000, Due::Fault));
        }
        for (&node, &time) in &self.restarts {
            if earlier(&best, time) {
                best = Some((time, Due::Restart(node)));
            }
        }
        for (&stream, arrivals) in &self.arrivals {
            let time = *arrivals.front().expect("empty queues are removed");
            if earlier(&best, time) && self.world.can_deliver(stream) {
                best = Some((time, Due::Deliver(stream)));
            }
        }
        for ((node, timer), &time) in &self.deadlines {
            if earlier(&best, time) && self.world.status(*node) == Status::Up {
                best = Some((time, Due::Fire(*node, timer)));
            }
        }
        best.map(|(time, due)| {
            let due = match due {
                Due::Fault => Due::Fault,
                Due::Restart(node) => Due::Restart(node),
                Due::Deliver(stream) => Due::Deliver(stream),
                Due::Fire(node, timer) => Due::Fire(node, timer.clone()),
            };
            (time, due)
        })
    }

    fn apply_due(&mut self, due: Due<N::Timer>) -> Result<(), RunError> {
        match due {
            Due::Fault => {
                let fault = self.schedule[self.next_fault].fault.clone();
                self.next_fault += 1;
                self.apply_event(Event::Fault(fault), true, None)
            }
            Due::Restart(node) => {
                self.restarts.remove(&node);
                self.apply_event(Event::Fault(Fault::Restart { node }), true, None)
            }
            Due::Deliver(stream) => self.apply_event(Event::Deliver(stream), false, None),
            Due::Fire(node, timer) => self.apply_event(Event::Fire { node, timer }, false, None),
        }
    }

    /// Applies one event to the world and schedules its effects. A fault that is not
    /// enabled is skipped (and traced as such) when `skippable`.
    fn apply_event(
        &mut self,
        event: Event<N::Timer>,
        skippable: bool,
        chooser: Option<&mut dyn Chooser>,
    ) -> Result<(), RunError> {
        let events_max = self.scenario.sim.events_max;
        if self.stats.events >= events_max {
            return Err(RunError::EventBudget { events_max });
        }
        self.stats.events += 1;
        let message = match &event {
            Event::Deliver(stream) => self.world.head(*stream),
            _ => None,
        };
        tracing::trace!(time_us = self.now_us, ?event, ?message, "applying");
        let pending = self.trace.begin(self.now_us, &event, message);
        let mut answers = Vec::new();
        let mut effects = std::mem::take(&mut self.effects);
        let mut recorder = Recorder {
            inner: chooser.unwrap_or(&mut self.rng),
            answers: &mut answers,
        };
        let result = self
            .world
            .apply(&event, self.now_us, &mut recorder, &mut effects);
        match result {
            Ok(()) => {}
            Err(EventError::NotEnabled { reason, .. }) if skippable => {
                tracing::debug!(time_us = self.now_us, ?event, reason, "skipped");
                self.stats.skipped += 1;
                let log_len = self.log.len();
                (self.trace).push(pending, self.now_us, event, answers, Some(reason), log_len);
                self.effects = effects;
                return Ok(());
            }
            Err(source) => {
                return Err(RunError::Event {
                    time_us: self.now_us,
                    source,
                })
            }
        }
        self.account(&event);
        let logged = self.log.len();
        (self.trace).push(pending, self.now_us, event, answers, None, logged);
        for effect in effects.drain(..) {
            self.schedule_effect(effect);
        }
        self.effects = effects;
        self.trace.fold(&self.log[logged..], logged);
        #[cfg(debug_assertions)]
        self.assert_mirrors_world();
        Ok(())
    }

    /// Retires the bookkeeping of the event itself and counts it.
    fn account(&mut self, event: &Event<N::Timer>) {
        match event {
            Event::Deliver(stream) => {
                self.stats.deliveries += 1;
                let arrivals = self.arrivals.get_mut(stream).expect("a delivered stream");
                arrivals.pop_front();
                if arrivals.is_empty() {
                    self.arrivals.remove(stream);
                }
            }
            Event::Fire { node, timer } => {
                self.stats.timers += 1;
                self.deadlines.remove(&(*node, timer.clone()));
            }
            Event::Fault(fault) => {
                tracing::debug!(time_us = self.now_us, ?fault, "fault");
                *self.stats.faults.entry(fault.name()).or_default() += 1;
            }
        }
    }

    fn schedule_effect(&mut self, effect: Effect<N>) {
        let now_us = self.now_us;
        let log = |node, what| Observation {
            time_us: now_us,
            node,
            what,
        };
        match effect {
            Effect::Sent(stream) => {
                let arrival = now_us + self.latency_us(stream.from(), stream.to());
                let arrivals = self.arrivals.entry(stream).or_default();
                let arrival = arrival.max(arrivals.back().copied().unwrap_or(0));
                arrivals.push_back(arrival);
                self.trace.note_sent(stream, arrival);
            }
            Effect::Closed(conn) => {
                self.trace.note_closed(conn);
                for direction in [Direction::ToServer, Direction::ToClient] {
                    self.arrivals.remove(&StreamId { conn, direction });
                }
            }
            Effect::TimerSet {
                node,
                timer,
                delay_ms,
                jitter_ms,
            } => {
                let delay_ms = delay_ms + self.rng.between(0, jitter_ms);
                let deadline = now_us + self.world.clock(node).timer_delay_us(delay_ms);
                self.deadlines.insert((node, timer), deadline);
            }
            Effect::TimerCancelled { node, timer } => {
                self.deadlines.remove(&(node, timer));
            }
            Effect::Observed { node, obs } => self.log.push(log(node, Observed::Node(obs))),
            Effect::DiskFault { node, report } => {
                self.log.push(log(node, Observed::DiskFault(report)));
            }
            Effect::Crashed { node, mode, halted } => {
                self.deadlines.retain(|(owner, _), _| *owner != node);
                if halted {
                    self.stats.halts += 1;
                    let delay_us = self.scenario.sim.halt_restart_ms * 1000;
                    self.restarts.insert(node, now_us + delay_us);
                }
                self.log.push(log(node, Observed::Crashed { mode, halted }));
            }
            Effect::Restarted { node } => {
                self.restarts.remove(&node);
                self.log.push(log(node, Observed::Restarted));
            }
            Effect::Stopped { node } => {
                self.deadlines.retain(|(owner, _), _| *owner != node);
                if self.settling {
                    // The heal restarted everything down; one that finished its clean
                    // shutdown after it is restarted by the supervisor.
                    let delay_us = self.scenario.sim.halt_restart_ms * 1000;
                    self.restarts.insert(node, now_us + delay_us);
                }
                self.log.push(log(node, Observed::Stopped));
            }
        }
    }

    fn latency_us(&mut self, from: NodeId, to: NodeId) -> u64 {
        let sim = &self.scenario.sim;
        let latency = sim
            .links
            .iter()
            .find(|link| link.from == from && link.to == to)
            .map_or(sim.latency, |link| link.latency);
        let extra_us = self.world.slow_ms(from, to) * 1000;
        self.rng.between(latency.min_us, latency.max_us) + extra_us
    }

    /// The driver's bookkeeping must mirror the world exactly: one arrival per message in
    /// flight and one deadline per armed timer.
    #[cfg(debug_assertions)]
    fn assert_mirrors_world(&self) {
        for stream in self.world.busy_streams() {
            let arrivals = self.arrivals.get(&stream).map_or(0, VecDeque::len);
            assert_eq!(arrivals, self.world.in_flight(stream), "{stream:?}");
        }
        let queued: usize = self.arrivals.values().map(VecDeque::len).sum();
        let in_flight: usize = (self.world.busy_streams())
            .map(|stream| self.world.in_flight(stream))
            .sum();
        assert_eq!(queued, in_flight);
        let armed: usize = self
            .world
            .ids()
            .map(|id| self.world.timers(id).count())
            .sum();
        assert_eq!(armed, self.deadlines.len());
    }
}
