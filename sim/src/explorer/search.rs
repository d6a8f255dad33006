//! The searches: breadth-first (shortest counterexamples, one or several threads),
//! depth-first, and random walks, sharing one discovery bookkeeping.

use std::collections::BTreeMap;
use std::sync::atomic::{AtomicBool, AtomicU64, AtomicUsize, Ordering};
use std::sync::Mutex;
use std::time::{Duration, Instant};

use rand_chacha::rand_core::{RngCore, SeedableRng};
use rand_chacha::ChaCha8Rng;

use super::fingerprint::{fingerprint, ParentMap, SharedSeen};
use super::model::{Expectation, Model, Property};
use super::path::Path;
use super::report::{Discovery, Report};

/// States a worker claims at once from a BFS level: large enough to keep the claim cheap,
/// small enough to balance uneven successors between threads.
const BFS_CHUNK_STATES: usize = 1024;

/// States waiting to be expanded, each with its fingerprint.
type Frontier<M> = Vec<(<M as Model>::State, u64)>;

/// How far a search got.
#[derive(Debug, Clone, Copy)]
struct Exhausted {
    /// Every state within the bounds was explored (no budget ran out, no early stop).
    all: bool,
    /// The depth bound left states unexpanded.
    depth_cut: bool,
}

/// How a search is bounded and run.
#[derive(Debug, Clone)]
pub(crate) struct Bounds {
    pub(crate) threads: usize,
    pub(crate) states_max: Option<u64>,
    pub(crate) depth_max: Option<usize>,
    pub(crate) symmetry: bool,
    pub(crate) progress: Option<Duration>,
}

/// What every search shares: the model, the properties and the discoveries so far.
struct Shared<'a, M: Model> {
    model: &'a M,
    bounds: &'a Bounds,
    properties: Vec<Property<M>>,
    /// Per property, whether it has a discovery; read without the lock on the hot path.
    discovered: Vec<AtomicBool>,
    /// Property index -> fingerprint of the discovering state.
    discoveries: Mutex<BTreeMap<usize, u64>>,
    stop: AtomicBool,
    generated: AtomicU64,
    distinct: AtomicU64,
    /// States the model's boundary kept from being expanded, per constraint.
    outside_boundary: Mutex<BTreeMap<&'static str, u64>>,
    depth: AtomicUsize,
    started: Instant,
}

impl<'a, M: Model> Shared<'a, M> {
    fn count_outside(&self, constraint: &'static str) {
        let mut counts = (self.outside_boundary.lock()).unwrap_or_else(|p| p.into_inner());
        *counts.entry(constraint).or_default() += 1;
    }

    fn new(model: &'a M, bounds: &'a Bounds) -> Self {
        let properties = model.properties();
        Self {
            model,
            bounds,
            discovered: properties.iter().map(|_| AtomicBool::new(false)).collect(),
            properties,
            discoveries: Mutex::new(BTreeMap::new()),
            stop: AtomicBool::new(false),
            generated: AtomicU64::new(0),
            outside_boundary: Mutex::new(BTreeMap::new()),
            distinct: AtomicU64::new(0),
            depth: AtomicUsize::new(0),
            started: Instant::now(),
        }
    }

    /// The fingerprint the seen set stores for `state`.
    fn key(&self, state: &M::State) -> u64 {
        if self.bounds.symmetry {
            if let Some(representative) = self.model.representative(state) {
                return fingerprint(&representative);
            }
        }
        fingerprint(state)
    }

    /// Accounts a newly seen state: checks the properties and the budgets.
    fn on_new_state(&self, state: &M::State, fp: u64, depth: usize) {
        let distinct = self.distinct.fetch_add(1, Ordering::Relaxed) + 1;
        self.depth.fetch_max(depth, Ordering::Relaxed);
        for (i, property) in self.properties.iter().enumerate() {
            if self.discovered[i].load(Ordering::Relaxed)
                || !property.discovered_by(self.model, state)
            {
                continue;
            }
            let mut discoveries = self
                .discoveries
                .lock()
                .expect("no thread panics holding discoveries");
            discoveries.entry(i).or_insert(fp);
            self.discovered[i].store(true, Ordering::Relaxed);
            let all = discoveries.len() == self.properties.len();
            if property.expectation == Expectation::Always || all {
                self.stop.store(true, Ordering::Relaxed);
            }
        }
        if self.bounds.states_max.is_some_and(|max| distinct >= max) {
            self.stop.store(true, Ordering::Relaxed);
        }
    }

    fn stopped(&self) -> bool {
        self.stop.load(Ordering::Relaxed)
    }

    fn report_progress(&self, last: &mut Instant, queued: usize) {
        let Some(every) = self.bounds.progress else {
            return;
        };
        if last.elapsed() < every {
            return;
        }
        *last = Instant::now();
        let elapsed = self.started.elapsed().as_secs_f64().max(1e-9);
        let generated = self.generated.load(Ordering::Relaxed);
        eprintln!(
            "explorer: depth={} generated={} distinct={} queued={} generated/s={:.0}",
            self.depth.load(Ordering::Relaxed),
            generated,
            self.distinct.load(Ordering::Relaxed),
            queued,
            generated as f64 / elapsed,
        );
    }

    /// Builds the report, rebuilding each discovery's path from the parent map.
    fn into_report(self, parents: &ParentMap, complete: Exhausted) -> Report<M> {
        let discoveries = self
            .discoveries
            .into_inner()
            .expect("no thread panics holding discoveries");
        let key = |state: &M::State| {
            if self.bounds.symmetry {
                if let Some(representative) = self.model.representative(state) {
                    return fingerprint(&representative);
                }
            }
            fingerprint(state)
        };
        let discoveries = discoveries
            .into_iter()
            .map(|(i, fp)| {
                let property = &self.properties[i];
                let path = Path::rebuild(self.model, parents, fp, &key);
                let discovery = Discovery {
                    property: property.name,
                    expectation: property.expectation,
                    path,
                };
                (property.name, discovery)
            })
            .collect();
        Report {
            generated: self.generated.into_inner(),
            distinct: self.distinct.into_inner(),
            outside_boundary: (self.outside_boundary.into_inner())
                .unwrap_or_else(|poisoned| poisoned.into_inner()),
            depth: self.depth.into_inner(),
            elapsed: self.started.elapsed(),
            complete: complete.all,
            depth_cut: complete.depth_cut,
            discoveries,
            properties: self
                .properties
                .iter()
                .map(|p| (p.name, p.expectation))
                .collect(),
        }
    }

    /// Expands `states` (all at `depth`), inserting successors through `insert` and
    /// returning the new ones.
    fn expand(
        &self,
        states: &[(M::State, u64)],
        depth: usize,
        insert: &mut impl FnMut(u64, u64) -> bool,
    ) -> Frontier<M> {
        let mut actions = Vec::new();
        let mut next_level = Vec::new();
        let mut generated = 0;
        for (state, fp) in states {
            if self.stopped() {
                break;
            }
            if let Some(constraint) = self.model.outside(state) {
                self.count_outside(constraint);
                continue;
            }
            actions.clear();
            self.model.actions(state, &mut actions);
            for action in &actions {
                let Some(next) = self.model.next_state(state, action) else {
                    continue;
                };
                generated += 1;
                let next_fp = self.key(&next);
                if insert(next_fp, *fp) {
                    self.on_new_state(&next, next_fp, depth + 1);
                    next_level.push((next, next_fp));
                }
            }
        }
        self.generated.fetch_add(generated, Ordering::Relaxed);
        next_level
    }

    /// Seeds a search with the initial states.
    fn initial(&self, insert: &mut impl FnMut(u64, u64) -> bool) -> Frontier<M> {
        let mut level = Vec::new();
        for state in self.model.init_states() {
            self.generated.fetch_add(1, Ordering::Relaxed);
            let fp = self.key(&state);
            if insert(fp, fp) {
                self.on_new_state(&state, fp, 0);
                level.push((state, fp));
            }
        }
        level
    }
}

/// Breadth-first search, level by level, so the first violation found lies at the least
/// depth: its path is a shortest counterexample, with any number of threads. With several
/// threads the path's length is fixed but which of equally short paths is reported may
/// vary between runs.
pub(crate) fn bfs<M: Model>(model: &M, bounds: &Bounds) -> Report<M> {
    let shared = Shared::new(model, bounds);
    let mut last_progress = Instant::now();
    let (parents, complete) = if bounds.threads <= 1 {
        let mut parents = ParentMap::default();
        let mut insert = |fp, parent| match parents.entry(fp) {
            std::collections::hash_map::Entry::Occupied(_) => false,
            std::collections::hash_map::Entry::Vacant(slot) => {
                slot.insert(parent);
                true
            }
        };
        let mut level = shared.initial(&mut insert);
        let mut depth = 0;
        while !level.is_empty()
            && !shared.stopped()
            && bounds.depth_max.is_none_or(|max| depth < max)
        {
            level = shared.expand(&level, depth, &mut insert);
            depth += 1;
            shared.report_progress(&mut last_progress, level.len());
        }
        let complete = Exhausted {
            all: !shared.stopped(),
            depth_cut: !level.is_empty(),
        };
        (parents, complete)
    } else {
        let seen = SharedSeen::new();
        let mut level = shared.initial(&mut |fp, parent| seen.insert(fp, parent));
        let mut depth = 0;
        while !level.is_empty()
            && !shared.stopped()
            && bounds.depth_max.is_none_or(|max| depth < max)
        {
            level = expand_parallel(&shared, &seen, &level, depth);
            depth += 1;
            shared.report_progress(&mut last_progress, level.len());
        }
        let complete = Exhausted {
            all: !shared.stopped(),
            depth_cut: !level.is_empty(),
        };
        (seen.into_map(), complete)
    };
    shared.into_report(&parents, complete)
}

fn expand_parallel<M: Model>(
    shared: &Shared<'_, M>,
    seen: &SharedSeen,
    level: &[(M::State, u64)],
    depth: usize,
) -> Frontier<M> {
    let chunks: Vec<&[(M::State, u64)]> = level.chunks(BFS_CHUNK_STATES).collect();
    let next_chunk = AtomicUsize::new(0);
    let outputs: Vec<Mutex<Frontier<M>>> = chunks.iter().map(|_| Mutex::new(Vec::new())).collect();
    std::thread::scope(|scope| {
        for _ in 0..shared.bounds.threads {
            scope.spawn(|| loop {
                let i = next_chunk.fetch_add(1, Ordering::Relaxed);
                let Some(chunk) = chunks.get(i) else {
                    break;
                };
                let next = shared.expand(chunk, depth, &mut |fp, parent| seen.insert(fp, parent));
                *outputs[i].lock().expect("one writer per chunk") = next;
            });
        }
    });
    // Concatenated in chunk order, so the next level's order does not depend on timing.
    outputs
        .into_iter()
        .flat_map(|output| output.into_inner().expect("one writer per chunk"))
        .collect()
}

/// Depth-first search on one thread: less memory for the frontier, paths not shortest.
/// Under a depth bound a state first reached by a long path is expanded again when a
/// shorter path reaches it, so the bounded space is covered exactly as BFS covers it
/// (those re-expansions count as generated states again).
pub(crate) fn dfs<M: Model>(model: &M, bounds: &Bounds) -> Report<M> {
    let shared = Shared::new(model, bounds);
    // Fingerprint -> (parent, depth); the depth matters only under a depth bound.
    let mut seen: std::collections::HashMap<u64, (u64, usize), _> =
        std::collections::HashMap::with_hasher(std::hash::BuildHasherDefault::<
            super::fingerprint::IdentityHasher,
        >::default());
    let mut stack: Vec<(M::State, u64, usize)> = Vec::new();
    for state in model.init_states() {
        shared.generated.fetch_add(1, Ordering::Relaxed);
        let fp = shared.key(&state);
        if seen.insert(fp, (fp, 0)).is_none() {
            shared.on_new_state(&state, fp, 0);
            stack.push((state, fp, 0));
        }
    }
    stack.reverse();
    let mut actions = Vec::new();
    let mut successors = Vec::new();
    let mut last_progress = Instant::now();
    let mut cut_by_depth = false;
    let mut expanded: u64 = 0;
    while let Some((state, fp, depth)) = stack.pop() {
        if shared.stopped() {
            break;
        }
        if let Some(constraint) = model.outside(&state) {
            shared.count_outside(constraint);
            continue;
        }
        if bounds.depth_max.is_some_and(|max| depth >= max) {
            cut_by_depth = true;
            continue;
        }
        actions.clear();
        model.actions(&state, &mut actions);
        for action in &actions {
            let Some(next) = model.next_state(&state, action) else {
                continue;
            };
            shared.generated.fetch_add(1, Ordering::Relaxed);
            let next_fp = shared.key(&next);
            match seen.entry(next_fp) {
                std::collections::hash_map::Entry::Vacant(slot) => {
                    slot.insert((fp, depth + 1));
                    shared.on_new_state(&next, next_fp, depth + 1);
                    successors.push((next, next_fp, depth + 1));
                }
                std::collections::hash_map::Entry::Occupied(mut slot) => {
                    if bounds.depth_max.is_some() && depth + 1 < slot.get().1 {
                        slot.insert((fp, depth + 1));
                        successors.push((next, next_fp, depth + 1));
                    }
                }
            }
        }
        // Reversed, so the first enabled action is explored first.
        stack.extend(successors.drain(..).rev());
        expanded += 1;
        if expanded % 4096 == 0 {
            shared.report_progress(&mut last_progress, stack.len());
        }
    }
    let complete = Exhausted {
        all: !shared.stopped(),
        depth_cut: cut_by_depth,
    };
    let parents: ParentMap = seen
        .into_iter()
        .map(|(fp, (parent, _))| (fp, parent))
        .collect();
    shared.into_report(&parents, complete)
}

/// `walks` random walks from random initial states, each step a uniformly chosen enabled
/// action, each walk ending at a state with no actions, outside the boundary, or at the
/// depth bound. Seeded: the same seed walks the same paths.
pub(crate) fn random_walks<M: Model>(
    model: &M,
    bounds: &Bounds,
    walks: u64,
    seed: u64,
) -> Report<M> {
    let shared = Shared::new(model, bounds);
    let depth_max = bounds.depth_max.expect("random walks are bounded in depth");
    let mut rng = ChaCha8Rng::seed_from_u64(seed);
    let mut pick = |n: usize| (rng.next_u64() % n as u64) as usize;
    let mut parents = ParentMap::default();
    let inits = model.init_states();
    let mut actions = Vec::new();
    for _ in 0..walks {
        if shared.stopped() || inits.is_empty() {
            break;
        }
        let mut state = inits[pick(inits.len())].clone();
        let mut fp = shared.key(&state);
        shared.generated.fetch_add(1, Ordering::Relaxed);
        if parents.insert(fp, fp).is_none() {
            shared.on_new_state(&state, fp, 0);
        }
        for depth in 1..=depth_max {
            if shared.stopped() || model.outside(&state).is_some() {
                break;
            }
            actions.clear();
            model.actions(&state, &mut actions);
            let successors: Vec<M::State> = actions
                .iter()
                .filter_map(|a| model.next_state(&state, a))
                .collect();
            if successors.is_empty() {
                break;
            }
            let next = successors[pick(successors.len())].clone();
            let next_fp = shared.key(&next);
            shared.generated.fetch_add(1, Ordering::Relaxed);
            // A walk records the first way it reached a state; the path rebuilt later
            // follows those records, so it is a real path though not the walk's own.
            if let std::collections::hash_map::Entry::Vacant(slot) = parents.entry(next_fp) {
                slot.insert(fp);
                shared.on_new_state(&next, next_fp, depth);
            }
            state = next;
            fp = next_fp;
        }
    }
    shared.into_report(
        &parents,
        Exhausted {
            all: false,
            depth_cut: false,
        },
    )
}
