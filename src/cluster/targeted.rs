//! Targeted injectors: faults aimed by what the cluster observes, through the engine's
//! [`Trigger`]. A drawn schedule cannot name "the leader just elected" or "the last ISR
//! member" in advance; these injectors take their target from the observation that fires
//! them. Every fault they fire is recorded in the run's schedule as a plain timed fault, so
//! a saved case replays without them; and with its anchor (the observation that fired it,
//! named by [`anchor`]), so a replay after the code's timing moved can fire it relative
//! to the same observation instead ([`reanchor`]).
//!
//! Fault budget: every injector stays within the normal swarm's (one lossy broker, every
//! acked acks=all record must survive). The crashes and power losses (`last_isr_power_loss`,
//! `crash_after_append`, `crash_leader_after_truncation`) fire only when their target is
//! the seed's lossy broker; the rest pause, hold, cut or stop cleanly, which lose nothing.

use std::cell::RefCell;
use std::collections::{BTreeMap, BTreeSet};
use std::rc::Rc;

use odradek_invariants::{Observation, PartitionRef, TruncationCause};
use odradek_sim::{
    nemesis, CrashMode, Fault, NodeId, Observed, PowerLoss, Probability, SimRng, Simulation,
    Trigger, Triggered,
};
use serde::{Deserialize, Serialize};

use super::KafkaNode;
use crate::protocol::{broker_node, PUSH, REPLICATION};

/// The substream of the swarm generator's seed stream that draws which injectors are on.
const DRAW_STREAM: u64 = 2 << 32;
/// The substream of the simulation stream the injectors' delays and chances come from.
const FIRE_STREAM: u64 = 3 << 32;
/// Nothing fires on the boot's elections: the first fires come after this.
const QUIET_START_US: u64 = 500_000;

/// Which targeted injectors a run has on.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Default, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Targeted {
    /// Pause a partition's new leader past its session timeout, so it is fenced and
    /// another election follows fast.
    pub leader_churn: bool,
    /// Hold one new follower's fetch responses for a while (ISR shrink and rejoin races).
    pub follower_fetch_hold: bool,
    /// Hold a new leader's AlterPartition responses and the controller's pushes to it.
    pub leader_control_hold: bool,
    /// Power loss of the last ISR member, when it is the seed's lossy broker.
    pub last_isr_power_loss: bool,
    /// Crash the seed's lossy broker right after it appended as leader, before
    /// replication.
    pub crash_after_append: bool,
    /// Stop a new leader cleanly (controlled shutdown), then restart it.
    pub leader_stop: bool,
    /// Cut the controller's messages to a new follower for seconds: it keeps fetching in
    /// its old epoch while leaders change, and learns only the newest state when the cut
    /// heals (the sequence of KIP-320's and KAFKA-7164's bugs).
    pub follower_control_cut: bool,
    /// Right after a follower truncated, hold its leader's answers to it and crash the
    /// leader, when the leader is the seed's lossy broker: the follower may be elected
    /// before it fetched back what it cut (the sequence of KIP-101's bug).
    pub crash_leader_after_truncation: bool,
    /// A new leader's partition is bounced away and back while one follower hears nothing
    /// from the controller: the other follower misses the leader's last records, the
    /// leader is paused until fenced, resumes and catches up, the other follower is paused
    /// until fenced so the leader is elected again, then the cut heals. The cut-off
    /// follower holds a batch the returning leader replaced (the sequence of KIP-320's and
    /// KAFKA-7164's bugs, as `tests/bug_zoo.rs` scripts it).
    pub leader_bounce: bool,
    /// At drawn moments, on the next leader to append: one follower hears nothing from
    /// the controller; the other misses the leader's last records while the leader's
    /// heartbeats are held until it is fenced; the other follower leads, appending the
    /// retried records at the same offsets, and the old leader follows it and catches up;
    /// the interim leader stops cleanly, so the old one leads again; then the cut
    /// follower's controller connection is reset and the cut heals. The cut-off follower,
    /// still fetching from the returning leader in its first epoch, holds a batch that
    /// leader replaced (the sequence of KIP-320's and KAFKA-7164's bugs as
    /// `tests/bug_zoo.rs` scripts it, heartbeats held where the bounce pauses). Nothing
    /// else fires while it plays.
    pub stale_follower: bool,
    /// A new leader's followers' fetches are held, so none of them gets its epoch's
    /// records, and it is paused until fenced: a follower without that epoch leads, the
    /// other kept out of the ISR by holding replication between the two. When the paused
    /// leader returns and truncates by epoch, its new leader's answers to every replica
    /// are held and the new leader is paused until fenced, so the returned replica may be
    /// elected (from the ELR) before it fetched back what it cut (the sequence of
    /// KIP-101's bug at three replicas). Begun at a drawn moment on a leader's append, it
    /// first pauses that leader until fenced, so the election it needs follows; an
    /// election may also offer it. Nothing else fires while it plays.
    pub epoch_gap: bool,
}

/// The injectors by name, in the order counts and hazards list them.
pub const INJECTORS: [&str; 11] = [
    "leader_churn",
    "follower_fetch_hold",
    "leader_control_hold",
    "last_isr_power_loss",
    "crash_after_append",
    "leader_stop",
    "follower_control_cut",
    "crash_leader_after_truncation",
    "leader_bounce",
    "stale_follower",
    "epoch_gap",
];

/// How often an injector fires at most in one run.
const FIRES_MAX: [u64; 11] = [3, 4, 3, 1, 2, 2, 2, 2, 4, 2, 2];

/// Fires per injector, shared between a run's trigger and whoever reads the counts.
pub type Fires = Rc<RefCell<BTreeMap<&'static str, u64>>>;

impl Targeted {
    /// Every injector on.
    pub fn all() -> Self {
        Self {
            leader_churn: true,
            follower_fetch_hold: true,
            leader_control_hold: true,
            last_isr_power_loss: true,
            crash_after_append: true,
            leader_stop: true,
            follower_control_cut: true,
            crash_leader_after_truncation: true,
            leader_bounce: true,
            stale_follower: true,
            epoch_gap: true,
        }
    }

    /// The injectors `seed` turns on: each, independently, with probability one half.
    pub fn draw(seed: u64) -> Self {
        let mut rng =
            SimRng::for_stream(seed, odradek_sim::RngStream::Swarm).substream(DRAW_STREAM);
        let mut on = || rng.below(2) == 1;
        Self {
            leader_churn: on(),
            follower_fetch_hold: on(),
            leader_control_hold: on(),
            last_isr_power_loss: on(),
            crash_after_append: on(),
            leader_stop: on(),
            follower_control_cut: on(),
            crash_leader_after_truncation: on(),
            leader_bounce: on(),
            stale_follower: on(),
            epoch_gap: on(),
        }
    }

    fn on(&self) -> [bool; 11] {
        [
            self.leader_churn,
            self.follower_fetch_hold,
            self.leader_control_hold,
            self.last_isr_power_loss,
            self.crash_after_append,
            self.leader_stop,
            self.follower_control_cut,
            self.crash_leader_after_truncation,
            self.leader_bounce,
            self.stale_follower,
            self.epoch_gap,
        ]
    }

    /// Whether any injector is on.
    pub fn any(&self) -> bool {
        self.on().contains(&true)
    }

    /// The trigger of `seed`'s run: aimed at the brokers, its crashes confined to the
    /// seed's lossy targets under `options` (the run's nemesis), its fires counted in
    /// `fires`.
    pub fn trigger(
        &self,
        seed: u64,
        options: &nemesis::NemesisOptions,
        controller: NodeId,
        fires: Fires,
    ) -> Trigger<Observation> {
        let lossy = nemesis::lossy_targets(options, seed);
        let on = self.on();
        let mut rng = SimRng::new(seed).substream(FIRE_STREAM);
        // Whom each broker follows, per partition, as it last said.
        let mut following: BTreeMap<(NodeId, PartitionRef), NodeId> = BTreeMap::new();
        // Each partition's replicas: the brokers that led or followed it.
        let mut replicas: BTreeMap<PartitionRef, BTreeSet<NodeId>> = BTreeMap::new();
        // While a sequence plays, nothing else fires.
        let mut quiet_until_us = 0;
        // When the next sequence (a stale follower or an epoch gap) may begin, on a leader's
        // append; an epoch gap begun that way waits for the election its pause brings.
        let mut sequence_at_us = rng.between(1_000, 10_000) * 1_000;
        let mut gap_armed: Option<(PartitionRef, u64)> = None;
        // The epoch gap's paused leader and partition, until its truncation (or the
        // deadline) comes.
        let mut gap: Option<(NodeId, PartitionRef, u64)> = None;
        Box::new(move |entry| {
            let Observed::Node(observation) = &entry.what else {
                return Vec::new();
            };
            if let Observation::BecameLeader { partition, .. }
            | Observation::BecameFollower { partition, .. } = observation
            {
                replicas
                    .entry(partition.clone())
                    .or_default()
                    .insert(entry.node);
            }
            let node = entry.node;
            if let Observation::BecameFollower {
                partition, leader, ..
            } = observation
            {
                match leader.and_then(broker_node) {
                    Some(leader) => following.insert((node, partition.clone()), leader),
                    None => following.remove(&(node, partition.clone())),
                };
            }
            let at = |delay_ms, fault| Triggered { delay_ms, fault };
            if let Some((returned, partition, deadline_us)) = gap.clone() {
                let leader = following.get(&(node, partition.clone())).copied();
                match observation {
                    _ if entry.time_us > deadline_us => gap = None,
                    Observation::Truncated {
                        partition: truncated,
                        cause: TruncationCause::LeaderEpoch,
                        ..
                    } if node == returned && *truncated == partition => {
                        gap = None;
                        if let Some(leader) = leader {
                            // The leader's answers to every other replica are held, so
                            // none of them catches up into the ISR before it is fenced.
                            let (d, down) = (rng.between(0, 30), rng.between(700, 1_000));
                            let (from, channel) = (leader, Some(REPLICATION));
                            let mut plan = vec![
                                at(d, Fault::Pause { node: leader }),
                                at(d + down, Fault::Resume { node: leader }),
                            ];
                            for to in others(&replicas, &partition, leader) {
                                plan.push(at(0, Fault::Hold { from, to, channel }));
                                plan.push(at(d + down + 200, Fault::Release { from, to, channel }));
                            }
                            quiet_until_us = entry.time_us + ends_us(&plan);
                            return plan;
                        }
                    }
                    _ => {}
                }
            }
            if let (Some((armed, deadline_us)), Observation::BecameLeader { partition, .. }) =
                (&gap_armed, observation)
            {
                if entry.time_us <= *deadline_us && armed == partition {
                    let others = others(&replicas, partition, node);
                    let plan = gap_plan(&mut rng, node, &others);
                    quiet_until_us = entry.time_us + ends_us(&plan);
                    let deadline_us = quiet_until_us + 2_000_000;
                    gap = Some((node, partition.clone(), deadline_us));
                    gap_armed = None;
                    return plan;
                }
            }
            if entry.time_us < QUIET_START_US.max(quiet_until_us) {
                return Vec::new();
            }
            let (stale, epoch_gap) = (9, 10);
            if let Observation::Appended {
                partition,
                as_leader: true,
                ..
            } = observation
            {
                let others = others(&replicas, partition, node);
                let mut fires = fires.borrow_mut();
                let left = |index: usize| {
                    let fired = fires.get(INJECTORS[index]).copied().unwrap_or(0);
                    on[index] && fired < FIRES_MAX[index]
                };
                let mut due: Vec<usize> = [stale, epoch_gap]
                    .into_iter()
                    .filter(|&i| left(i))
                    .collect();
                if others.len() != 2 || entry.time_us < sequence_at_us {
                    due.clear();
                }
                if !due.is_empty() {
                    let index = due[rng.below(due.len() as u64) as usize];
                    *fires.entry(INJECTORS[index]).or_default() += 1;
                    let plan = if index == stale {
                        stale_follower(&mut rng, controller, node, others[0], others[1])
                    } else {
                        // Paused until fenced, so a follower leads: the gap itself begins
                        // at that election.
                        let down = rng.between(700, 900);
                        let deadline_us = entry.time_us + (down + 1_000) * 1_000;
                        gap_armed = Some((partition.clone(), deadline_us));
                        vec![
                            at(0, Fault::Pause { node }),
                            at(down, Fault::Resume { node }),
                        ]
                    };
                    quiet_until_us = entry.time_us + ends_us(&plan);
                    sequence_at_us = quiet_until_us + rng.between(500, 3_000) * 1_000;
                    return plan;
                }
            }
            let mut fired = Vec::new();
            let mut fire = |index: usize, faults: Vec<Triggered>| {
                let mut fires = fires.borrow_mut();
                let count = fires.entry(INJECTORS[index]).or_default();
                if on[index] && *count < FIRES_MAX[index] {
                    *count += 1;
                    fired.extend(faults);
                }
            };
            match observation {
                Observation::BecameLeader { partition, .. } => {
                    following.remove(&(node, partition.clone()));
                    // One plan per election, so the sequences do not trample each other.
                    let mut plans: Vec<(usize, Vec<Triggered>)> = Vec::new();
                    let others = others(&replicas, partition, node);
                    if let [a, b] = others[..] {
                        let (cut, other) = if rng.below(2) == 0 { (a, b) } else { (b, a) };
                        let channel = Some(REPLICATION);
                        let (from, to) = (vec![controller], vec![cut]);
                        let back = rng.between(700, 900);
                        let again = back + rng.between(700, 1_000);
                        let bounce = vec![
                            at(0, Fault::PartitionOneWay { from, to }),
                            at(
                                0,
                                Fault::Hold {
                                    from: node,
                                    to: other,
                                    channel,
                                },
                            ),
                            at(20, Fault::Pause { node }),
                            at(
                                25,
                                Fault::Release {
                                    from: node,
                                    to: other,
                                    channel,
                                },
                            ),
                            at(20 + back, Fault::Resume { node }),
                            at(20 + again, Fault::Pause { node: other }),
                            at(20 + again + 800, Fault::Resume { node: other }),
                            at(20 + again + 1_500, Fault::HealPartitions),
                        ];
                        plans.push((8, bounce));
                    }
                    // Leader churn: past the session timeout, so the controller fences it.
                    let (d, pause) = (rng.between(0, 20), rng.between(700, 1_200));
                    let churn = vec![
                        at(d, Fault::Pause { node }),
                        at(d + pause, Fault::Resume { node }),
                    ];
                    plans.push((0, churn));
                    let (d, hold) = (rng.between(0, 20), rng.between(200, 1_500));
                    let kind = "alter_partition_response".to_string();
                    let (from, to) = (Some(controller), Some(node));
                    let push = Some(PUSH);
                    let control = vec![
                        at(
                            d,
                            Fault::HoldKind {
                                kind: kind.clone(),
                                from,
                                to,
                            },
                        ),
                        at(
                            d,
                            Fault::Hold {
                                from: controller,
                                to: node,
                                channel: push,
                            },
                        ),
                        at(d + hold, Fault::ReleaseKind { kind, from, to }),
                        at(
                            d + hold,
                            Fault::Release {
                                from: controller,
                                to: node,
                                channel: push,
                            },
                        ),
                    ];
                    plans.push((2, control));
                    plans.push((epoch_gap, gap_plan(&mut rng, node, &others)));
                    let (d, down) = (rng.between(0, 50), rng.between(200, 1_500));
                    let stop = vec![
                        at(d, Fault::Stop { node }),
                        at(d + down, Fault::Restart { node }),
                    ];
                    plans.push((5, stop));
                    // Only plans with fires left, so a spent one does not leave the
                    // election without a plan; the bounce (the longest sequence, and the
                    // only one that sets up a follower behind a returning leader) half the
                    // time it is available.
                    let spent = |index: usize| {
                        let fired = fires.borrow().get(INJECTORS[index]).copied();
                        fired.unwrap_or(0) >= FIRES_MAX[index]
                    };
                    plans.retain(|(index, _)| on[*index] && !spent(*index));
                    let bounce = plans.iter().position(|(index, _)| *index == 8);
                    let pick = match bounce {
                        Some(at) if rng.below(2) == 0 => Some(at),
                        _ if plans.is_empty() => None,
                        _ => Some(rng.below(plans.len() as u64) as usize),
                    };
                    if let Some(at) = pick {
                        let (index, plan) = plans.swap_remove(at);
                        if index == epoch_gap {
                            quiet_until_us = entry.time_us + ends_us(&plan);
                            let deadline_us = quiet_until_us + 2_000_000;
                            gap = Some((node, partition.clone(), deadline_us));
                        }
                        fire(index, plan);
                    }
                }
                Observation::Truncated {
                    partition,
                    cause: TruncationCause::LeaderEpoch,
                    ..
                } => {
                    let leader = following.get(&(node, partition.clone())).copied();
                    if let Some(leader) = leader.filter(|l| lossy.contains(l)) {
                        let (d, down) = (rng.between(0, 30), rng.between(300, 1_000));
                        let (hold, channel) = (rng.between(1_000, 2_000), Some(REPLICATION));
                        let crash = vec![
                            at(
                                0,
                                Fault::Hold {
                                    from: leader,
                                    to: node,
                                    channel,
                                },
                            ),
                            at(
                                d,
                                Fault::Crash {
                                    node: leader,
                                    mode: CrashMode::Process,
                                },
                            ),
                            at(d + down, Fault::Restart { node: leader }),
                            at(
                                hold,
                                Fault::Release {
                                    from: leader,
                                    to: node,
                                    channel,
                                },
                            ),
                        ];
                        fire(7, crash);
                    }
                }
                Observation::BecameFollower {
                    leader: Some(leader),
                    ..
                } => {
                    if let Some(from) = broker_node(*leader) {
                        let (d, hold) = (rng.between(0, 20), rng.between(200, 1_500));
                        let channel = Some(REPLICATION);
                        let held = vec![
                            at(
                                d,
                                Fault::Hold {
                                    from,
                                    to: node,
                                    channel,
                                },
                            ),
                            at(
                                d + hold,
                                Fault::Release {
                                    from,
                                    to: node,
                                    channel,
                                },
                            ),
                        ];
                        fire(1, held);
                    }
                    let (d, cut) = (rng.between(0, 20), rng.between(1_500, 4_000));
                    let (from, to) = (vec![controller], vec![node]);
                    let cut = vec![
                        at(d, Fault::PartitionOneWay { from, to }),
                        at(d + cut, Fault::HealPartitions),
                    ];
                    fire(6, cut);
                }
                Observation::PartitionChanged { isr, .. } => {
                    let last = match isr[..] {
                        [only] => broker_node(only).filter(|b| lossy.contains(b)),
                        _ => None,
                    };
                    if let Some(node) = last {
                        let (d, down) = (rng.between(0, 50), rng.between(100, 1_000));
                        let mode = CrashMode::PowerLoss(PowerLoss::LoseAll);
                        let lost = vec![
                            at(d, Fault::Crash { node, mode }),
                            at(d + down, Fault::Restart { node }),
                        ];
                        fire(3, lost);
                    }
                }
                Observation::Appended {
                    as_leader: true, ..
                } if lossy.contains(&node) => {
                    let chance = Probability::from_ppm(5_000).expect("a probability");
                    if rng.chance(chance) {
                        let mode = match rng.below(2) {
                            0 => CrashMode::Process,
                            _ => CrashMode::PowerLoss(PowerLoss::LoseAll),
                        };
                        let down = rng.between(100, 1_000);
                        let crash = vec![
                            at(0, Fault::Crash { node, mode }),
                            at(down, Fault::Restart { node }),
                        ];
                        fire(4, crash);
                    }
                }
                _ => {}
            }
            fired
        })
    }
}

/// The replicas of `partition` seen so far other than `node`.
fn others(
    replicas: &BTreeMap<PartitionRef, BTreeSet<NodeId>>,
    partition: &PartitionRef,
    node: NodeId,
) -> Vec<NodeId> {
    let all = replicas.get(partition).into_iter().flatten();
    all.filter(|&&b| b != node).copied().collect()
}

/// When the last of `plan`'s faults fires, after its observation, in microseconds.
fn ends_us(plan: &[Triggered]) -> u64 {
    let last_ms = plan.iter().map(|fault| fault.delay_ms).max().unwrap_or(0);
    (last_ms + 1) * 1_000
}

/// The epoch gap's faults on `leader`, just elected, with followers `others`: their
/// fetches held, so none of them gets the new epoch's records, and the leader paused until
/// fenced; replication between the followers held for longer, so the one not elected
/// next stays out of the ISR (see [`Targeted::epoch_gap`]).
fn gap_plan(rng: &mut SimRng, leader: NodeId, others: &[NodeId]) -> Vec<Triggered> {
    let at = |delay_ms, fault| Triggered { delay_ms, fault };
    let (pause, down) = (rng.between(100, 400), rng.between(700, 900));
    let (mut plan, channel) = (Vec::new(), Some(REPLICATION));
    for &from in others {
        plan.push(at(
            0,
            Fault::Hold {
                from,
                to: leader,
                channel,
            },
        ));
        plan.push(at(
            pause + down,
            Fault::Release {
                from,
                to: leader,
                channel,
            },
        ));
        // The followers cannot replicate from each other either, until the returned
        // leader's truncation has come and gone: whichever of them leads next, the other
        // stays out of the ISR.
        for &to in others.iter().filter(|&&to| to != from) {
            plan.push(at(0, Fault::Hold { from, to, channel }));
            plan.push(at(
                pause + down + 1_500,
                Fault::Release { from, to, channel },
            ));
        }
    }
    plan.push(at(pause, Fault::Pause { node: leader }));
    plan.push(at(pause + down, Fault::Resume { node: leader }));
    plan
}

/// The stale-follower sequence on `leader` with followers `a` and `b`: one of them cut off
/// from `controller`, the other missing the leader's last records and leading in between
/// (see [`Targeted::stale_follower`]). Times follow the cluster's default timing:
/// the replication hold ends before the lagging follower leaves the ISR, the heartbeat
/// hold outlasts a session, and the interim leader leads long enough for the cut-off
/// follower, which fetches from no one who answers, to leave the ISR.
fn stale_follower(
    rng: &mut SimRng,
    controller: NodeId,
    leader: NodeId,
    a: NodeId,
    b: NodeId,
) -> Vec<Triggered> {
    let (cut, other) = if rng.below(2) == 0 { (a, b) } else { (b, a) };
    let at = |delay_ms, fault| Triggered { delay_ms, fault };
    let channel = Some(REPLICATION);
    let kind = "heartbeat_request".to_string();
    let (from, to) = (Some(leader), Some(controller));
    let hold = rng.between(100, 300);
    let missed = hold + rng.between(400, 800);
    let fenced = hold + rng.between(800, 1_100);
    let stop = fenced + rng.between(1_300, 2_000);
    let heal = stop + rng.between(800, 2_000);
    let mut faults = vec![
        at(
            0,
            Fault::PartitionOneWay {
                from: vec![controller],
                to: vec![cut],
            },
        ),
        at(
            hold,
            Fault::Hold {
                from: leader,
                to: other,
                channel,
            },
        ),
        at(
            hold,
            Fault::HoldKind {
                kind: kind.clone(),
                from,
                to,
            },
        ),
        at(
            missed,
            Fault::Release {
                from: leader,
                to: other,
                channel,
            },
        ),
        at(fenced, Fault::ReleaseKind { kind, from, to }),
        at(stop, Fault::Stop { node: other }),
        at(
            stop + rng.between(300, 1_000),
            Fault::Restart { node: other },
        ),
    ];
    // The reset loses what the cut held back, so the follower learns only the newest
    // state when the cut heals.
    let reset = Fault::Reset {
        a: controller,
        b: cut,
    };
    faults.push(at(heal, reset));
    faults.push(at(heal, Fault::HealPartitions));
    faults
}

/// A fault a targeted injector fired, anchored to the observation that fired it.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Anchored {
    /// The observation that fired it, as [`anchor`] names it.
    pub anchor: String,
    /// Observations of that name before it (a restarted broker follows in the same epoch
    /// again): the fault fires after the next one.
    pub occurrence: u32,
    /// When the finding run applied it.
    pub at_ms: u64,
    /// Its delay after the millisecond that followed the observation.
    pub after_ms: u64,
    /// The fault, with its target.
    pub fault: Fault,
}

/// Names an observation the injectors fire on by who did what, to which partition, in
/// which epoch (or at which offset): the same moment of a run whose timing moved has the
/// same name, where its time does not. `None` for observations no injector fires on.
pub fn anchor(entry: &odradek_sim::Observation<Observation>) -> Option<String> {
    let Observed::Node(observation) = &entry.what else {
        return None;
    };
    let node = entry.node.index();
    let name = |p: &PartitionRef| format!("{}-{}", p.topic, p.partition);
    Some(match observation {
        Observation::BecameLeader {
            partition,
            leader_epoch,
            ..
        } => format!("n{node} leads {} in epoch {leader_epoch}", name(partition)),
        Observation::BecameFollower {
            partition,
            leader: Some(leader),
            leader_epoch,
        } => format!(
            "n{node} follows {leader} on {} in epoch {leader_epoch}",
            name(partition)
        ),
        Observation::Truncated {
            partition,
            to_offset,
            cause: TruncationCause::LeaderEpoch,
            ..
        } => format!("n{node} truncates {} to {to_offset}", name(partition)),
        Observation::PartitionChanged {
            partition,
            partition_epoch,
            ..
        } => format!(
            "{} changes in partition epoch {partition_epoch}",
            name(partition)
        ),
        Observation::Appended {
            partition,
            first_offset,
            as_leader: true,
            ..
        } => format!("n{node} appends {} at {first_offset}", name(partition)),
        _ => return None,
    })
}

/// The faults `sim`'s trigger fired, each with its anchor.
pub fn anchored(sim: &Simulation<KafkaNode>) -> Vec<Anchored> {
    // Each log entry's name and how many entries of that name came before it.
    let mut seen: BTreeMap<String, u32> = BTreeMap::new();
    let names: Vec<Option<(String, u32)>> = (sim.log().iter())
        .map(|entry| {
            let name = anchor(entry)?;
            let count = seen.entry(name.clone()).or_default();
            *count += 1;
            Some((name, *count - 1))
        })
        .collect();
    (sim.fired().iter())
        .filter_map(|fired| {
            let (anchor, occurrence) = names.get(fired.observation)?.clone()?;
            Some(Anchored {
                anchor,
                occurrence,
                at_ms: fired.at_ms,
                after_ms: fired.delay_ms,
                fault: fired.fault.clone(),
            })
        })
        .collect()
}

/// A trigger that fires each of `faults` once, after the first observation of its anchor,
/// as the finding run's injector fired it.
pub fn reanchor(faults: &[Anchored]) -> Trigger<Observation> {
    let mut waiting: BTreeMap<(String, u32), Vec<Triggered>> = BTreeMap::new();
    for fault in faults {
        let fired = Triggered {
            delay_ms: fault.after_ms,
            fault: fault.fault.clone(),
        };
        let key = (fault.anchor.clone(), fault.occurrence);
        waiting.entry(key).or_default().push(fired);
    }
    let mut seen: BTreeMap<String, u32> = BTreeMap::new();
    Box::new(move |entry| {
        let Some(name) = anchor(entry) else {
            return Vec::new();
        };
        let count = seen.entry(name.clone()).or_default();
        *count += 1;
        waiting.remove(&(name, *count - 1)).unwrap_or_default()
    })
}
