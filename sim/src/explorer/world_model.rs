//! The engine's world as an explorer [`Model`]: the same nodes, world and events the
//! simulation driver samples, enumerated.
//!
//! Time is abstracted: clocks stay frozen, and any armed timer may fire next, so every
//! timing the driver could produce (and more) is covered. Each `choose(n)` a handler or
//! the engine makes branches `n` ways: an action is an event together with the answers
//! to every choice it asks. Faults are bounded: crashes (in the modes given), restarts and
//! connection resets each have a budget, counted in the state.

use std::fmt;
use std::hash::Hash;
use std::sync::Arc;

use serde::{Deserialize, Serialize};

use crate::address::NodeId;
use crate::event::{Event, EventError};
use crate::fault::{CrashMode, Fault};
use crate::node::Node;
use crate::sim_disk::{PowerLoss, SimDiskOptions};
use crate::simulation::{RunError, Simulation};
use crate::world::{Status, World};

use super::fingerprint::fingerprint;
use super::model::{Expectation, Model, Property};
use super::path::Path;
use super::ExplorerError;

/// Virtual time the explorer's world stands at: clocks are frozen.
const FROZEN_US: u64 = 0;

/// Choice answers one event may ask before the explorer calls it a runaway.
const CHOICES_PER_EVENT_MAX: usize = 64;

/// What the explorer may do to the world besides delivering messages and firing timers.
#[derive(Debug, Clone, PartialEq, Eq, Hash)]
pub struct WorldBounds {
    /// Crashes allowed along a path.
    pub crashes_max: u8,
    /// Restarts of crashed nodes allowed along a path (booting is free).
    pub restarts_max: u8,
    /// Connection resets allowed along a path.
    pub resets_max: u8,
    /// How a crash may happen; each mode is a separate action.
    pub crash_modes: Vec<CrashMode>,
    /// Nodes that may crash (all when empty).
    pub crashable: Vec<NodeId>,
    /// States with more messages than this in one stream are not expanded, so a node that
    /// sends on every timer cannot grow a queue without end.
    pub in_flight_max: usize,
}

impl Default for WorldBounds {
    /// One crash in a process crash or any power loss the explorer enumerates, one
    /// restart, no resets, four messages per stream.
    fn default() -> Self {
        let mut crash_modes = vec![CrashMode::Process];
        crash_modes.extend(PowerLoss::EXPLORER.map(CrashMode::PowerLoss));
        Self {
            crashes_max: 1,
            restarts_max: 1,
            resets_max: 0,
            crash_modes,
            crashable: Vec::new(),
            in_flight_max: 4,
        }
    }
}

/// A state of the explored world: the world itself and the fault budgets spent.
#[derive(Debug, Clone, PartialEq, Eq, Hash)]
pub struct WorldState<N: Node> {
    /// Nodes, network and disks.
    pub world: World<N>,
    /// Crashes so far.
    pub crashes: u8,
    /// Restarts of crashed nodes so far.
    pub restarts: u8,
    /// Connection resets so far.
    pub resets: u8,
}

/// One step of the world: an event and the answers to the choices it asked, in order.
/// A list of these is a counterexample file the simulation driver replays.
#[derive(Debug, Clone, PartialEq, Eq, Hash, Serialize, Deserialize)]
pub struct WorldStep<T> {
    /// The event.
    pub event: Event<T>,
    /// Each `choose(n)` answer the event's handlers and the engine asked for.
    pub choices: Vec<usize>,
}

/// One way of booting: the restart steps taken and the world they leave.
type Booted<N> = (Vec<WorldStep<<N as Node>::Timer>>, World<N>);

/// Nodes whose worlds can be searched by several threads.
pub trait ExplorableNode:
    Node<Config: Send + Sync, Msg: Send + Sync, Timer: Send + Sync> + Send + Sync + 'static
{
}

impl<N> ExplorableNode for N where
    N: Node<Config: Send + Sync, Msg: Send + Sync, Timer: Send + Sync> + Send + Sync + 'static
{
}

/// A predicate over worlds.
type WorldCondition<N> = Arc<dyn Fn(&World<N>) -> bool + Send + Sync>;

/// The engine's world of `N` nodes as a model. See the module docs.
pub struct WorldModel<N: Node> {
    configs: Vec<N::Config>,
    disk: SimDiskOptions,
    bounds: WorldBounds,
    properties: Vec<(&'static str, Expectation, WorldCondition<N>)>,
    /// The model's own constraints beyond the bounds: a world that fails one is not
    /// expanded, and counted under its name.
    constraints: Vec<(&'static str, WorldCondition<N>)>,
    /// Where the search starts: after boot, or once a deterministic run from boot (the
    /// first deliverable message, else the first timer) reaches this condition.
    start: Option<(&'static str, WorldCondition<N>)>,
}

/// The name the report counts worlds over [`WorldBounds::in_flight_max`] under.
pub const IN_FLIGHT: &str = "messages in flight per stream";

/// The most steps the deterministic run to a start condition may take.
const START_STEPS_MAX: usize = 1_000;

impl<N: ExplorableNode> WorldModel<N> {
    /// A model of one node per configuration, booted in id order, within `bounds`.
    pub fn new(
        configs: Vec<N::Config>,
        disk: SimDiskOptions,
        bounds: WorldBounds,
    ) -> Result<Self, ExplorerError> {
        if configs.is_empty() {
            return Err(ExplorerError::NoNodes);
        }
        if let Some(&node) = bounds.crashable.iter().find(|n| n.index() >= configs.len()) {
            return Err(ExplorerError::UnknownNode {
                node: node.0,
                nodes: configs.len(),
            });
        }
        if bounds.in_flight_max == 0 {
            return Err(ExplorerError::ZeroInFlight);
        }
        Ok(Self {
            configs,
            disk,
            bounds,
            properties: Vec::new(),
            constraints: Vec::new(),
            start: None,
        })
    }

    /// Adds a property every reachable world must satisfy.
    pub fn always(
        mut self,
        name: &'static str,
        condition: impl Fn(&World<N>) -> bool + Send + Sync + 'static,
    ) -> Self {
        self.properties
            .push((name, Expectation::Always, Arc::new(condition)));
        self
    }

    /// Adds a constraint (as TLC's CONSTRAINT): a world that fails `condition` is checked
    /// but not expanded, and the report counts it under `name`.
    pub fn constraint(
        mut self,
        name: &'static str,
        condition: impl Fn(&World<N>) -> bool + Send + Sync + 'static,
    ) -> Self {
        self.constraints.push((name, Arc::new(condition)));
        self
    }

    /// Adds a property some reachable world must satisfy.
    pub fn sometimes(
        mut self,
        name: &'static str,
        condition: impl Fn(&World<N>) -> bool + Send + Sync + 'static,
    ) -> Self {
        self.properties
            .push((name, Expectation::Sometimes, Arc::new(condition)));
        self
    }

    /// Starts the search not at boot but where a deterministic run from boot first
    /// satisfies `condition` (as a TLA+ spec's `Init` starts from a running cluster): the
    /// run delivers the first deliverable message, else fires the first armed timer, and
    /// injects no fault. A shorter path to every state, so a depth bound goes further;
    /// `steps` still replays from boot.
    pub fn start_when(
        mut self,
        name: &'static str,
        condition: impl Fn(&World<N>) -> bool + Send + Sync + 'static,
    ) -> Self {
        self.start = Some((name, Arc::new(condition)));
        self
    }

    /// The start condition's name, if the search starts past boot.
    pub fn start(&self) -> Option<&'static str> {
        self.start.as_ref().map(|(name, _)| *name)
    }

    /// The steps that lead to `path`'s last state from a world of down nodes: the boot
    /// restarts (and the run to the start condition), then the path's own. Replayed by [`replay_steps`] in the simulation driver.
    pub fn steps(&self, path: &Path<Self>) -> Vec<WorldStep<N::Timer>> {
        let boot = self
            .boots()
            .into_iter()
            .find(|(_, world)| *world == path.init.world)
            .map(|(steps, _)| steps)
            .expect("a path starts at a booted world");
        boot.into_iter().chain(path.actions()).collect()
    }

    /// Every way of booting the nodes in id order: the steps and the world they leave.
    fn boots(&self) -> Vec<Booted<N>> {
        let mut booted = vec![(Vec::new(), World::new(self.configs.clone(), self.disk))];
        for node in 0..self.configs.len() {
            let event = Event::Fault(Fault::Restart {
                node: NodeId(node as u16),
            });
            let mut next_booted = Vec::new();
            for (steps, world) in booted {
                for (choices, next) in outcomes(&world, &event) {
                    let mut steps = steps.clone();
                    steps.push(WorldStep {
                        event: event.clone(),
                        choices,
                    });
                    next_booted.push((steps, next));
                }
            }
            booted = next_booted;
        }
        let Some((name, condition)) = &self.start else {
            return booted;
        };
        (booted.into_iter())
            .map(|(mut steps, mut world)| {
                for _ in 0..START_STEPS_MAX {
                    if condition(&world) {
                        return (steps, world);
                    }
                    let mut events = Vec::new();
                    world.enabled(&mut events);
                    let next = (events.iter())
                        .find(|e| matches!(e, Event::Deliver(_)))
                        .or_else(|| events.first())
                        .cloned();
                    let Some(event) = next else { break };
                    let (choices, next) = (outcomes(&world, &event).into_iter().next())
                        .expect("an enabled event has an outcome");
                    steps.push(WorldStep { event, choices });
                    world = next;
                }
                panic!("the run from boot never reached the start condition '{name}'")
            })
            .collect()
    }

    fn crashable(&self, node: NodeId) -> bool {
        self.bounds.crashable.is_empty() || self.bounds.crashable.contains(&node)
    }

    /// Fault events within the remaining budgets, in a fixed order.
    fn fault_events(&self, state: &WorldState<N>, out: &mut Vec<Event<N::Timer>>) {
        let world = &state.world;
        for node in world.ids() {
            let status = world.status(node);
            if status != Status::Down
                && state.crashes < self.bounds.crashes_max
                && self.crashable(node)
            {
                for &mode in &self.bounds.crash_modes {
                    out.push(Event::Fault(Fault::Crash { node, mode }));
                }
            }
            if status == Status::Down && state.restarts < self.bounds.restarts_max {
                out.push(Event::Fault(Fault::Restart { node }));
            }
        }
        if state.resets < self.bounds.resets_max {
            for a in world.ids() {
                for b in world.ids().filter(|b| b.0 > a.0) {
                    out.push(Event::Fault(Fault::Reset { a, b }));
                }
            }
        }
    }
}

/// Every outcome of applying `event` to `world`: each complete list of choice answers and
/// the world it leaves. Empty when the event is not enabled. Answer lists are enumerated
/// like an odometer: the first outcome answers 0 throughout, and every position a run
/// reaches beyond its fixed prefix branches into its other answers.
fn outcomes<N: Node>(world: &World<N>, event: &Event<N::Timer>) -> Vec<(Vec<usize>, World<N>)> {
    let mut results = Vec::new();
    let mut prefixes = vec![Vec::new()];
    let mut effects = Vec::new();
    while let Some(prefix) = prefixes.pop() {
        let mut next = world.clone();
        let mut asked: Vec<usize> = Vec::new();
        let mut chooser = |n: usize| {
            let answer = prefix.get(asked.len()).copied().unwrap_or(0);
            asked.push(n);
            assert!(
                asked.len() <= CHOICES_PER_EVENT_MAX,
                "an event asked too many choices"
            );
            answer
        };
        effects.clear();
        match next.apply(event, FROZEN_US, &mut chooser, &mut effects) {
            Ok(()) => {}
            Err(EventError::NotEnabled { .. }) => return Vec::new(),
            Err(error) => panic!("the world refused an enumerated event: {error}"),
        }
        let answers: Vec<usize> = asked
            .iter()
            .enumerate()
            .map(|(i, _)| prefix.get(i).copied().unwrap_or(0))
            .collect();
        for position in prefix.len()..asked.len() {
            for answer in 1..asked[position] {
                let mut branch = answers[..position].to_vec();
                branch.push(answer);
                prefixes.push(branch);
            }
        }
        results.push((answers, next));
    }
    results
}

/// Applies `step` to a copy of `world` with its recorded answers, if it is enabled.
fn apply_step<N: Node>(world: &World<N>, step: &WorldStep<N::Timer>) -> Option<World<N>> {
    let mut next = world.clone();
    let mut answers = step.choices.iter().copied();
    let mut chooser = |n: usize| answers.next().filter(|a| *a < n).unwrap_or(0);
    next.apply(&step.event, FROZEN_US, &mut chooser, &mut Vec::new())
        .ok()?;
    Some(next)
}

impl<N: ExplorableNode> Model for WorldModel<N> {
    type State = WorldState<N>;
    type Action = WorldStep<N::Timer>;

    fn init_states(&self) -> Vec<WorldState<N>> {
        self.boots()
            .into_iter()
            .map(|(_, world)| WorldState {
                world,
                crashes: 0,
                restarts: 0,
                resets: 0,
            })
            .collect()
    }

    fn actions(&self, state: &WorldState<N>, actions: &mut Vec<WorldStep<N::Timer>>) {
        let mut events = Vec::new();
        state.world.enabled(&mut events);
        self.fault_events(state, &mut events);
        for event in events {
            // Answers that lead to the same world are one action: the first is kept.
            let mut seen = std::collections::BTreeSet::new();
            for (choices, world) in outcomes(&state.world, &event) {
                if !seen.insert(fingerprint(&world)) {
                    continue;
                }
                actions.push(WorldStep {
                    event: event.clone(),
                    choices,
                });
            }
        }
    }

    fn next_state(
        &self,
        state: &WorldState<N>,
        step: &WorldStep<N::Timer>,
    ) -> Option<WorldState<N>> {
        let world = apply_step(&state.world, step)?;
        let mut next = WorldState { world, ..*state };
        match &step.event {
            Event::Fault(Fault::Crash { .. }) => next.crashes += 1,
            Event::Fault(Fault::Restart { .. }) => next.restarts += 1,
            Event::Fault(Fault::Reset { .. }) => next.resets += 1,
            _ => {}
        }
        Some(next)
    }

    fn properties(&self) -> Vec<Property<Self>> {
        self.properties
            .iter()
            .map(|(name, expectation, condition)| {
                let condition = Arc::clone(condition);
                let check = move |_: &Self, state: &WorldState<N>| condition(&state.world);
                match expectation {
                    Expectation::Always => Property::always(name, check),
                    Expectation::Sometimes => Property::sometimes(name, check),
                }
            })
            .collect()
    }

    fn outside(&self, state: &WorldState<N>) -> Option<&'static str> {
        let world = &state.world;
        let crowded =
            (world.busy_streams()).any(|s| world.in_flight(s) > self.bounds.in_flight_max);
        if crowded {
            return Some(IN_FLIGHT);
        }
        (self.constraints.iter())
            .find(|(_, condition)| !condition(world))
            .map(|(name, _)| *name)
    }

    fn format_step(
        &self,
        last: &WorldState<N>,
        step: &WorldStep<N::Timer>,
        next: &WorldState<N>,
    ) -> String {
        let mut line = format!("{:?}", step.event);
        if !step.choices.is_empty() {
            line.push_str(&format!(" choices={:?}", step.choices));
        }
        for node in next.world.ids() {
            let (before, after) = (last.world.node(node), next.world.node(node));
            if before != after || last.world.status(node) != next.world.status(node) {
                line.push_str(&format!(
                    "\n     {node:?} {:?}: {}",
                    next.world.status(node),
                    show(after)
                ));
            }
        }
        line
    }
}

fn show<T: fmt::Debug>(node: Option<&T>) -> String {
    node.map_or_else(|| "down".to_owned(), |node| format!("{node:?}"))
}

/// Replays `steps` (from [`WorldModel::steps`]) in a fresh, unbooted simulation, one
/// event at a time with the clock frozen and each event's recorded answers, so an explorer
/// counterexample reproduces in the simulation driver.
pub fn replay_steps<N: Node>(
    sim: &mut Simulation<N>,
    steps: &[WorldStep<N::Timer>],
) -> Result<(), RunError> {
    for step in steps {
        let mut answers = step.choices.iter().copied();
        let mut chooser = |n: usize| answers.next().filter(|a| *a < n).unwrap_or(0);
        sim.replay(step.event.clone(), &mut chooser)?;
    }
    Ok(())
}
