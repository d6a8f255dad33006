//! The nemesis: a fault schedule as plain data, drawn from per-injector options, and the
//! swarm generator that draws those options from a seed.
//!
//! Fault model. Every `tick_ms` of the fault phase each injector rolls its dice; a fault
//! that has an undo (partition, hold, crash, pause, full disk) is paired with it after a
//! random duration. Probabilities are off by default, so `NemesisOptions::default()`
//! injects nothing. Recovery stays possible because the schedule never takes more than
//! `down_max` targets down at once, corrupts at most `corrupt_nodes_max` disks, confines
//! every fault that can lose data to at most `lossy_nodes_max` targets when that is set,
//! and the driver heals everything before the settle phase. Ranges live only in [`swarm`]: the
//! options hold one value per knob, so a saved scenario states exactly what it did.

use serde::{Deserialize, Serialize};

use crate::address::NodeId;
use crate::fault::{CrashMode, Fault};
use crate::probability::Probability;
use crate::rng::SimRng;
use crate::sim_disk::PowerLoss;

/// One scheduled fault.
#[derive(Debug, Clone, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Timed {
    /// When, in virtual milliseconds from the start of the run.
    pub at_ms: u64,
    /// What.
    pub fault: Fault,
}

/// Network fault options. Each probability is a chance per nemesis tick.
#[derive(Debug, Clone, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[serde(deny_unknown_fields, default)]
pub struct NetworkFaults {
    /// Cut a random group of nodes from the rest, both ways.
    pub partition: Probability,
    /// Cut a random group's messages to the rest, one way.
    pub partition_one_way: Probability,
    /// Cut one random node from all others.
    pub isolate: Probability,
    /// Split the nodes in two halves joined only through one bridge node.
    pub bridge: Probability,
    /// Hold every stream from one random node to another.
    pub hold: Probability,
    /// Hold streams from their first message of one of `kinds` on (delayed acks).
    pub hold_kind: Probability,
    /// The message kinds `hold_kind` picks from (the system's response kinds, say).
    pub kinds: Vec<String>,
    /// Reset every connection between two random nodes.
    pub reset: Probability,
    /// Slow one random link by up to `slow_link_extra_ms_max`.
    pub slow_link: Probability,
    /// The most a slow link adds to each message's latency.
    pub slow_link_extra_ms_max: u64,
    /// The longest a cut, hold or slow link lasts before it is undone.
    pub duration_ms_max: u64,
}

/// Process fault options. Each probability is a chance per nemesis tick.
#[derive(Debug, Clone, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[serde(deny_unknown_fields, default)]
pub struct ProcessFaults {
    /// Crash a random target, restarting it after up to `down_ms_max`.
    pub crash: Probability,
    /// The chance that a crash is a power loss (in a uniformly chosen `PowerLoss` mode)
    /// rather than a process crash.
    pub power_loss: Probability,
    /// Pause a random target, resuming it after up to `down_ms_max`.
    pub pause: Probability,
    /// The longest a crashed or paused target stays so.
    pub down_ms_max: u64,
    /// The most targets down or paused at once.
    pub down_max: usize,
    /// Stop a random target cleanly (`Fault::Stop`), restarting it after at least
    /// `stop_down_ms_min` and up to `down_ms_max` more.
    pub stop: Probability,
    /// The least a stopped target stays down: longer than its clean shutdown takes, or the
    /// restart finds it still up and is skipped.
    pub stop_down_ms_min: u64,
}

/// Disk fault options. Each probability is a chance per nemesis tick.
#[derive(Debug, Clone, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[serde(deny_unknown_fields, default)]
pub struct DiskFaults {
    /// Flip a bit of a random file of a corruptible target.
    pub flip_bit: Probability,
    /// Make a random range of a random file of a corruptible target unreadable.
    pub read_error: Probability,
    /// Make a random target's next `sync` fail.
    pub fail_sync: Probability,
    /// Fill a random target's disk for up to `fill_ms_max`.
    pub fill: Probability,
    /// The longest a disk stays full.
    pub fill_ms_max: u64,
    /// Bytes a filled disk may still take.
    pub fill_headroom_bytes: u64,
    /// How many targets may carry corruption (bit flips, read errors) in one run: the
    /// fault budget that keeps the system able to repair itself.
    pub corrupt_nodes_max: usize,
}

/// Clock fault options. Each probability is a chance per nemesis tick.
#[derive(Debug, Clone, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[serde(deny_unknown_fields, default)]
pub struct ClockFaults {
    /// Set a random target's drift to up to `drift_ppm_max` either way.
    pub drift: Probability,
    /// The largest drift.
    pub drift_ppm_max: u32,
    /// Jump a random target's wall clock by up to `jump_ms_max` either way.
    pub jump: Probability,
    /// The largest jump.
    pub jump_ms_max: u64,
}

/// Off, with durations of about a second and the tightest budgets that still test.
impl Default for NetworkFaults {
    fn default() -> Self {
        Self {
            partition: Probability::default(),
            partition_one_way: Probability::default(),
            isolate: Probability::default(),
            bridge: Probability::default(),
            hold: Probability::default(),
            hold_kind: Probability::default(),
            kinds: Vec::new(),
            reset: Probability::default(),
            slow_link: Probability::default(),
            slow_link_extra_ms_max: 100,
            duration_ms_max: 1_000,
        }
    }
}

impl Default for ProcessFaults {
    fn default() -> Self {
        Self {
            crash: Probability::default(),
            power_loss: Probability::default(),
            pause: Probability::default(),
            down_ms_max: 1_000,
            down_max: 1,
            stop: Probability::default(),
            stop_down_ms_min: 1_000,
        }
    }
}

impl Default for DiskFaults {
    fn default() -> Self {
        Self {
            flip_bit: Probability::default(),
            read_error: Probability::default(),
            fail_sync: Probability::default(),
            fill: Probability::default(),
            fill_ms_max: 1_000,
            fill_headroom_bytes: 0,
            corrupt_nodes_max: 1,
        }
    }
}

impl Default for ClockFaults {
    fn default() -> Self {
        Self {
            drift: Probability::default(),
            drift_ppm_max: 1_000,
            jump: Probability::default(),
            jump_ms_max: 1_000,
        }
    }
}

/// Everything the schedule generator needs. The default injects no faults.
#[derive(Debug, Clone, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[serde(deny_unknown_fields, default)]
pub struct NemesisOptions {
    /// How often every injector rolls its dice.
    pub tick_ms: u64,
    /// The nodes process, disk and clock faults may hit; network faults involve every
    /// node.
    pub targets: Vec<NodeId>,
    /// Network faults.
    pub network: NetworkFaults,
    /// Process faults.
    pub process: ProcessFaults,
    /// Disk faults.
    pub disk: DiskFaults,
    /// Clock faults.
    pub clock: ClockFaults,
    /// How many targets may lose data in one run, chosen per schedule from the targets not
    /// in `lossless`: power losses, failed fsyncs and full disks hit only them (a crash
    /// drawn as a power loss on any other target is a process crash), and bit flips and
    /// read errors only the first `disk.corrupt_nodes_max` of them. `None` lets every
    /// target outside `lossless` lose data, and confines corruption to
    /// `disk.corrupt_nodes_max` of them. This is the fault budget a system that promises to
    /// survive `n` lossy replicas is tested within.
    pub lossy_nodes_max: Option<usize>,
    /// Targets that never lose data: nodes holding the only copy of what the system cannot
    /// rebuild (a single controller's metadata). They still crash, as process crashes, and
    /// pause.
    pub lossless: Vec<NodeId>,
    /// Whether every crash counts against the lossy budget, process crashes included: with
    /// `lossy_nodes_max` set, crashes then hit only lossy or `lossless` targets. For
    /// systems that never fsync and treat any restart without a clean-shutdown marker as
    /// possibly lossy (Kafka under KIP-966 leaves such a broker out of the eligible
    /// replicas), a process crash elsewhere would spend a second unit of the budget.
    pub crashes_are_lossy: bool,
}

/// The nemesis tick when none is given.
const TICK_MS_DEFAULT: u64 = 100;

impl Default for NemesisOptions {
    fn default() -> Self {
        Self {
            tick_ms: TICK_MS_DEFAULT,
            targets: Vec::new(),
            network: NetworkFaults::default(),
            process: ProcessFaults::default(),
            disk: DiskFaults::default(),
            clock: ClockFaults::default(),
            lossy_nodes_max: None,
            lossless: Vec::new(),
            crashes_are_lossy: false,
        }
    }
}

/// Draws a fault schedule for `nodes` nodes over a fault phase of `faults_ms`. Faults and
/// their undos come out ordered by time; undos that would fall after the phase are left
/// to the heal phase.
///
/// The targets that may lose data are the first draws of `rng`; [`lossy_targets`] names
/// them for the same seed.
pub fn generate(
    options: &NemesisOptions,
    nodes: usize,
    faults_ms: u64,
    rng: &mut SimRng,
) -> Vec<Timed> {
    assert!(options.tick_ms > 0, "validated: tick_ms > 0");
    let (order, lossy) = lossy_order(options, rng);
    let corrupt_max = (options.disk.corrupt_nodes_max).min(lossy.len());
    let mut draw = Draw {
        options,
        all: (0..nodes).map(|i| NodeId(i as u16)).collect(),
        corruptible: order.into_iter().take(corrupt_max).collect(),
        lossy,
        busy_until: vec![0; nodes],
        faults_ms,
        schedule: Vec::new(),
    };
    let mut stops = rng.substream(STOP_STREAM);
    let mut stopped_until = vec![0; nodes];
    let mut at_ms = options.tick_ms;
    while at_ms < faults_ms {
        draw.network(at_ms, rng);
        draw.process(at_ms, rng);
        draw.stop(at_ms, &mut stops, &mut stopped_until);
        draw.disk(at_ms, rng);
        draw.clock(at_ms, rng);
        at_ms += options.tick_ms;
    }
    let mut schedule = draw.schedule;
    schedule.sort_by_key(|timed| timed.at_ms);
    schedule
}

/// The generator's working state for one schedule.
struct Draw<'a> {
    options: &'a NemesisOptions,
    all: Vec<NodeId>,
    corruptible: Vec<NodeId>,
    /// Targets power losses, failed fsyncs and full disks may hit.
    lossy: Vec<NodeId>,
    /// Per node, until when a scheduled crash or pause keeps it down.
    busy_until: Vec<u64>,
    faults_ms: u64,
    schedule: Vec<Timed>,
}

/// How the process injector takes a target down.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Down {
    Crash,
    Pause,
}

/// The schedule generator's own stream for clean stops, so that drawing them leaves every
/// other fault of a seed where it was.
const STOP_STREAM: u64 = 1 << 32;

impl Draw<'_> {
    fn push(&mut self, at_ms: u64, fault: Fault) {
        if at_ms < self.faults_ms {
            self.schedule.push(Timed { at_ms, fault });
        }
    }

    /// A fault now and its undo after a random duration of up to `max_ms`.
    fn pair(&mut self, at_ms: u64, max_ms: u64, fault: Fault, undo: Fault, rng: &mut SimRng) {
        let end_ms = at_ms + rng.between(1, max_ms.max(1));
        self.push(at_ms, fault);
        self.push(end_ms, undo);
    }

    fn network(&mut self, at_ms: u64, rng: &mut SimRng) {
        let net = &self.options.network;
        let max_ms = net.duration_ms_max;
        if self.all.len() < 2 {
            return;
        }
        if rng.chance(net.partition) {
            let side = proper_subset(&self.all, rng);
            self.pair(
                at_ms,
                max_ms,
                Fault::Partition { side },
                Fault::HealPartitions,
                rng,
            );
        }
        if rng.chance(net.partition_one_way) {
            let from = proper_subset(&self.all, rng);
            let to = self
                .all
                .iter()
                .filter(|n| !from.contains(n))
                .copied()
                .collect();
            let fault = Fault::PartitionOneWay { from, to };
            self.pair(at_ms, max_ms, fault, Fault::HealPartitions, rng);
        }
        if rng.chance(net.isolate) {
            let node = *rng.pick(&self.all);
            self.pair(
                at_ms,
                max_ms,
                Fault::Isolate { node },
                Fault::HealPartitions,
                rng,
            );
        }
        if rng.chance(net.bridge) && self.all.len() >= 3 {
            let mut nodes = shuffled(&self.all, rng);
            let bridge = nodes.pop().expect("three nodes or more");
            let right = nodes.split_off(nodes.len() / 2);
            let fault = Fault::Bridge {
                left: nodes,
                bridge,
                right,
            };
            self.pair(at_ms, max_ms, fault, Fault::HealPartitions, rng);
        }
        if rng.chance(net.hold) {
            let (from, to) = two_nodes(&self.all, rng);
            let hold = Fault::Hold {
                from,
                to,
                channel: None,
            };
            let release = Fault::Release {
                from,
                to,
                channel: None,
            };
            self.pair(at_ms, max_ms, hold, release, rng);
        }
        if rng.chance(net.hold_kind) && !net.kinds.is_empty() {
            let kind = rng.pick(&net.kinds).clone();
            let to = (rng.below(2) == 0).then(|| *rng.pick(&self.all));
            let hold = Fault::HoldKind {
                kind: kind.clone(),
                from: None,
                to,
            };
            let release = Fault::ReleaseKind {
                kind,
                from: None,
                to,
            };
            self.pair(at_ms, max_ms, hold, release, rng);
        }
        if rng.chance(net.reset) {
            let (a, b) = two_nodes(&self.all, rng);
            self.push(at_ms, Fault::Reset { a, b });
        }
        if rng.chance(net.slow_link) {
            let (from, to) = two_nodes(&self.all, rng);
            let extra_ms = rng.between(1, net.slow_link_extra_ms_max.max(1));
            let slow = Fault::SlowLink { from, to, extra_ms };
            let restore = Fault::SlowLink {
                from,
                to,
                extra_ms: 0,
            };
            self.pair(at_ms, max_ms, slow, restore, rng);
        }
    }

    fn process(&mut self, at_ms: u64, rng: &mut SimRng) {
        let process = &self.options.process;
        let (crash, pause) = (rng.chance(process.crash), rng.chance(process.pause));
        for (wanted, kind) in [(crash, Down::Crash), (pause, Down::Pause)] {
            if !wanted {
                continue;
            }
            let process = &self.options.process;
            let busy = self.busy_until.iter().filter(|&&t| t > at_ms).count();
            let confined = kind == Down::Crash && self.options.crashes_are_lossy;
            let idle: Vec<NodeId> = (self.options.targets.iter())
                .filter(|n| self.busy_until[n.index()] <= at_ms)
                .filter(|n| {
                    !confined || self.lossy.contains(n) || self.options.lossless.contains(n)
                })
                .copied()
                .collect();
            if busy >= process.down_max || idle.is_empty() {
                continue;
            }
            let node = *rng.pick(&idle);
            let end_ms = at_ms + rng.between(1, process.down_ms_max.max(1));
            self.busy_until[node.index()] = end_ms;
            let (fault, undo) = match kind {
                Down::Crash => {
                    let lossy = self.lossy.contains(&node);
                    let mode = if rng.chance(process.power_loss) && lossy {
                        CrashMode::PowerLoss(*rng.pick(&PowerLoss::ALL))
                    } else {
                        CrashMode::Process
                    };
                    (Fault::Crash { node, mode }, Fault::Restart { node })
                }
                Down::Pause => (Fault::Pause { node }, Fault::Resume { node }),
            };
            self.push(at_ms, fault);
            self.push(end_ms, undo);
        }
    }

    /// A clean stop of a target not already stopped, restarted after at least
    /// `stop_down_ms_min`. Stops do not count as busy for the other process faults: a crash
    /// may meet a node that is shutting down, as it can in production.
    fn stop(&mut self, at_ms: u64, rng: &mut SimRng, stopped_until: &mut [u64]) {
        let process = &self.options.process;
        if !rng.chance(process.stop) {
            return;
        }
        let idle: Vec<NodeId> = (self.options.targets.iter())
            .filter(|n| stopped_until[n.index()] <= at_ms)
            .copied()
            .collect();
        if idle.is_empty() {
            return;
        }
        let node = *rng.pick(&idle);
        let end_ms = at_ms + process.stop_down_ms_min + rng.between(1, process.down_ms_max.max(1));
        stopped_until[node.index()] = end_ms;
        self.push(at_ms, Fault::Stop { node });
        self.push(end_ms, Fault::Restart { node });
    }

    fn disk(&mut self, at_ms: u64, rng: &mut SimRng) {
        let disk = &self.options.disk;
        if !self.corruptible.is_empty() {
            if rng.chance(disk.flip_bit) {
                let node = *rng.pick(&self.corruptible);
                self.push(at_ms, Fault::FlipBit { node });
            }
            if rng.chance(disk.read_error) {
                let node = *rng.pick(&self.corruptible);
                self.push(at_ms, Fault::ReadError { node });
            }
        }
        if self.lossy.is_empty() {
            return;
        }
        if rng.chance(disk.fail_sync) {
            let node = *rng.pick(&self.lossy);
            self.push(at_ms, Fault::FailSync { node });
        }
        if rng.chance(disk.fill) {
            let node = *rng.pick(&self.lossy);
            let fill = Fault::FillDisk {
                node,
                headroom_bytes: disk.fill_headroom_bytes,
            };
            self.pair(at_ms, disk.fill_ms_max, fill, Fault::HealDisk { node }, rng);
        }
    }

    fn clock(&mut self, at_ms: u64, rng: &mut SimRng) {
        let clock = &self.options.clock;
        if self.options.targets.is_empty() {
            return;
        }
        if rng.chance(clock.drift) {
            let node = *rng.pick(&self.options.targets);
            let drift_ppm = rng.signed(u64::from(clock.drift_ppm_max)) as i32;
            self.push(at_ms, Fault::Drift { node, drift_ppm });
        }
        if rng.chance(clock.jump) {
            let node = *rng.pick(&self.options.targets);
            let delta_ms = rng.signed(clock.jump_ms_max);
            self.push(at_ms, Fault::Jump { node, delta_ms });
        }
    }
}

/// A random non-empty proper subset of `nodes` (at least two nodes).
fn proper_subset(nodes: &[NodeId], rng: &mut SimRng) -> Vec<NodeId> {
    let mut order = shuffled(nodes, rng);
    let size = rng.between(1, nodes.len() as u64 - 1) as usize;
    order.truncate(size);
    order.sort();
    order
}

/// Two distinct random nodes, in order (from, to).
fn two_nodes(nodes: &[NodeId], rng: &mut SimRng) -> (NodeId, NodeId) {
    let order = shuffled(nodes, rng);
    (order[0], order[1])
}

fn shuffled(nodes: &[NodeId], rng: &mut SimRng) -> Vec<NodeId> {
    let mut order = nodes.to_vec();
    for i in (1..order.len()).rev() {
        order.swap(i, rng.below(i as u64 + 1) as usize);
    }
    order
}

/// Swarm testing: draws nemesis options for one seed, so fault kinds and rates differ
/// from seed to seed. Each injector is on with chance one half, each fault kind of an
/// injector that is on with chance one half, and each rate comes from a wide range.
/// `targets` are the nodes process, disk and clock faults may hit; `kinds` are the
/// message kinds delayed-ack faults may hold.
pub fn swarm(rng: &mut SimRng, targets: Vec<NodeId>, kinds: Vec<String>) -> NemesisOptions {
    let [net_on, process_on, disk_on, clock_on] = [(); 4].map(|()| rng.below(2) == 0);
    let network = NetworkFaults {
        partition: swarm_rate(rng, net_on),
        partition_one_way: swarm_rate(rng, net_on),
        isolate: swarm_rate(rng, net_on),
        bridge: swarm_rate(rng, net_on),
        hold: swarm_rate(rng, net_on),
        hold_kind: swarm_rate(rng, net_on),
        kinds,
        reset: swarm_rate(rng, net_on),
        slow_link: swarm_rate(rng, net_on),
        slow_link_extra_ms_max: rng.between(1, 500),
        duration_ms_max: rng.between(50, 3_000),
    };
    let mut process = ProcessFaults {
        crash: swarm_rate(rng, process_on),
        power_loss: Probability::from_ppm(rng.below(1_000_001) as u32).expect("at most 1"),
        pause: swarm_rate(rng, process_on),
        down_ms_max: rng.between(50, 3_000),
        down_max: 1,
        ..ProcessFaults::default()
    };
    let disk = DiskFaults {
        flip_bit: swarm_rate(rng, disk_on),
        read_error: swarm_rate(rng, disk_on),
        fail_sync: swarm_rate(rng, disk_on),
        fill: swarm_rate(rng, disk_on),
        fill_ms_max: rng.between(50, 2_000),
        fill_headroom_bytes: rng.between(0, 4096),
        corrupt_nodes_max: 1,
    };
    let clock = ClockFaults {
        drift: swarm_rate(rng, clock_on),
        drift_ppm_max: rng.between(100, 100_000) as u32,
        jump: swarm_rate(rng, clock_on),
        jump_ms_max: rng.between(1, 3_600_000),
    };
    // Appended after every other draw, so the options above stay what each seed drew.
    process.stop = swarm_rate(rng, process_on);
    NemesisOptions {
        tick_ms: TICK_MS_DEFAULT,
        targets,
        network,
        process,
        disk,
        clock,
        lossy_nodes_max: None,
        lossless: Vec::new(),
        crashes_are_lossy: false,
    }
}

/// One fault kind's per-tick chance: off unless its injector is on, then on with chance
/// one half, at a log-uniform rate from 0.2% to 12.8%.
fn swarm_rate(rng: &mut SimRng, injector_on: bool) -> Probability {
    let kind_on = injector_on && rng.below(2) == 0;
    let ppm = 2_000u32 << rng.below(7);
    Probability::from_ppm(if kind_on { ppm } else { 0 }).expect("below one million")
}

/// The targets the schedule of `seed` may hit with faults that lose data (every target
/// when `lossy_nodes_max` is unset): what [`generate`] draws first from the seed's schedule
/// stream. Faults aimed at run time (a trigger's crash) keep to the same budget with it.
pub fn lossy_targets(options: &NemesisOptions, seed: u64) -> Vec<NodeId> {
    let mut rng = SimRng::for_stream(seed, crate::rng::RngStream::Schedule);
    lossy_order(options, &mut rng).1
}

/// The candidates in drawn order, and the lossy ones among them.
fn lossy_order(options: &NemesisOptions, rng: &mut SimRng) -> (Vec<NodeId>, Vec<NodeId>) {
    let candidates: Vec<NodeId> = (options.targets.iter())
        .filter(|node| !options.lossless.contains(node))
        .copied()
        .collect();
    let order = shuffled(&candidates, rng);
    let lossy = match options.lossy_nodes_max {
        Some(lossy_max) => order.iter().take(lossy_max).copied().collect(),
        None => candidates,
    };
    (order, lossy)
}

#[cfg(test)]
mod tests {
    use std::collections::BTreeSet;

    use super::*;

    #[test]
    fn default_options_schedule_no_faults() {
        let schedule = generate(&NemesisOptions::default(), 3, 60_000, &mut SimRng::new(1));
        assert!(schedule.is_empty());
    }

    #[test]
    fn swarm_options_differ_between_seeds_and_schedules_stay_in_the_fault_phase() {
        let targets = vec![NodeId(0), NodeId(1)];
        let draw = |seed| swarm(&mut SimRng::new(seed), targets.clone(), vec!["ack".into()]);
        assert_ne!(draw(1), draw(2));
        for seed in 0..20 {
            let options = draw(seed);
            let schedule = generate(&options, 3, 10_000, &mut SimRng::new(seed));
            assert!(schedule.windows(2).all(|w| w[0].at_ms <= w[1].at_ms));
            assert!(schedule.iter().all(|t| t.at_ms < 10_000));
            for timed in &schedule {
                if let Fault::Crash { node, .. } | Fault::Pause { node } = timed.fault {
                    assert!(targets.contains(&node));
                }
            }
        }
    }

    #[test]
    fn lossy_nodes_max_confines_every_data_losing_fault_to_that_many_targets() {
        let targets: Vec<NodeId> = (0..4).map(NodeId).collect();
        let mut lossy_faults = 0;
        for seed in 0..50 {
            let mut options = swarm(&mut SimRng::new(seed), targets.clone(), Vec::new());
            options.process.crash = Probability::from_ppm(100_000).expect("below one");
            options.process.power_loss = Probability::from_ppm(500_000).expect("below one");
            options.disk.fail_sync = Probability::from_ppm(50_000).expect("below one");
            options.disk.fill = Probability::from_ppm(50_000).expect("below one");
            options.disk.flip_bit = Probability::from_ppm(50_000).expect("below one");
            options.lossy_nodes_max = Some(1);
            options.lossless = vec![NodeId(0)];
            let schedule = generate(&options, 4, 10_000, &mut SimRng::new(seed));
            let hit: BTreeSet<NodeId> = (schedule.iter())
                .filter_map(|timed| match timed.fault {
                    Fault::Crash {
                        node,
                        mode: CrashMode::PowerLoss(_),
                    }
                    | Fault::FailSync { node }
                    | Fault::FillDisk { node, .. }
                    | Fault::FlipBit { node }
                    | Fault::ReadError { node } => Some(node),
                    _ => None,
                })
                .collect();
            assert!(hit.len() <= 1, "seed {seed}: lossy faults hit {hit:?}");
            assert!(
                !hit.contains(&NodeId(0)),
                "seed {seed}: a lossless target lost data"
            );
            lossy_faults += hit.len();
        }
        assert!(
            lossy_faults >= 40,
            "the budget confines, it does not silence"
        );
    }
}
