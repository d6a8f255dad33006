//! What `odradek view` draws, as data: a Kafka run's nodes, messages (sent, delivered,
//! held or lost in a reset), fault bands, each partition's leader, epoch, ISR and high
//! watermark over time, and the violation with what it cites. The page
//! (`src/cli/view.html`) renders it; the data is its own JSON section, so a test pins it
//! and a browser check counts the page's lanes and arrows against it.

use std::collections::{BTreeMap, VecDeque};

use odradek_invariants::Observation;
use odradek_sim::{Event, Fault, Message, NodeId, Observed, Simulation, StreamId, Wire};
use serde::Serialize;

use super::{outcome_name, KafkaNode, KafkaOutcome, NodeConfig};

/// The data format's name and version, the first fields of the JSON.
pub const VIEW_FORMAT: &str = "odradek-view";
/// Raised when a field is renamed, removed or changes meaning.
pub const VIEW_VERSION: u32 = 1;

/// How much of the run before a violation the view opens on.
const WINDOW_BEFORE_US: u64 = 2_000_000;
/// And after it.
const WINDOW_AFTER_US: u64 = 500_000;

/// One run, ready to draw.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct View {
    /// [`VIEW_FORMAT`].
    pub format: &'static str,
    /// [`VIEW_VERSION`].
    pub version: u32,
    /// The seed.
    pub seed: u64,
    /// The run's trace hash, in hex.
    pub trace_hash: String,
    /// `"clean"` or the invariant violated.
    pub outcome: String,
    /// How long the run lasted, in virtual microseconds.
    pub end_us: u64,
    /// One lane per node, in node order.
    pub nodes: Vec<Lane>,
    /// Every message sent, in order of sending.
    pub messages: Vec<Arrow>,
    /// Every fault, as a band from when it began to when it was undone.
    pub faults: Vec<Band>,
    /// Node events worth a mark: crashes, restarts, stops, elections, truncations.
    pub marks: Vec<Mark>,
    /// Each partition's committed state and its leaders' high watermarks over time.
    pub partitions: Vec<PartitionLine>,
    /// The violation, if the oracle found one.
    pub violation: Option<ViolationMark>,
    /// The virtual time the view opens on: around the violation, else the whole run.
    pub window_us: (u64, u64),
}

/// A node's lane.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct Lane {
    /// The node id.
    pub id: u16,
    /// Its name, `n1`.
    pub name: String,
    /// `controller`, `broker`, `producer`, `consumer` or `client`.
    pub role: &'static str,
}

/// A message between two lanes.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct Arrow {
    /// The sender.
    pub from: u16,
    /// The receiver.
    pub to: u16,
    /// `Message::kind` of a delivered message; `"lost"` when a reset lost it unread.
    pub kind: String,
    /// When it was sent.
    pub sent_us: u64,
    /// When it was delivered, lost, or the run ended with it in flight.
    pub end_us: u64,
    /// `delivered`, `held` (delivered after it was due: a hold, a cut or a paused
    /// receiver kept it), `reset` (lost with its connection) or `in-flight`.
    pub fate: &'static str,
    /// The message as Rust's debug notation prints it, for a delivered one.
    pub text: String,
}

/// A fault from when it began to when it was undone (the same time for a one-off).
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct Band {
    /// [`Fault::name`].
    pub kind: &'static str,
    /// The lanes it covers: the senders of a one-way cut, hold or slow link, else the
    /// nodes it names, or every node.
    pub nodes: Vec<u16>,
    /// When it began.
    pub start_us: u64,
    /// When it was undone, or the run ended.
    pub end_us: u64,
    /// The fault, and what undid it.
    pub text: String,
}

/// A node event.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct Mark {
    /// The node.
    pub node: u16,
    /// When.
    pub time_us: u64,
    /// `crash`, `restart`, `stop`, `leader`, `truncation` or `fenced`.
    pub kind: &'static str,
    /// What happened, in a few words.
    pub text: String,
}

/// A partition's line: its committed states and its leaders' high watermarks.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct PartitionLine {
    /// `t-0`.
    pub name: String,
    /// Each state the controller committed, in order.
    pub states: Vec<PartitionState>,
    /// Each high watermark a leader moved to: (time, leader, high watermark).
    pub high_watermarks: Vec<(u64, i32, i64)>,
}

/// A committed partition state.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct PartitionState {
    /// When the controller committed it.
    pub time_us: u64,
    /// The leader, if any.
    pub leader: Option<i32>,
    /// The leader epoch.
    pub epoch: i32,
    /// The ISR.
    pub isr: Vec<i32>,
    /// The ELR.
    pub elr: Vec<i32>,
}

/// The violation, where the oracle found it.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct ViolationMark {
    /// The invariant.
    pub invariant: String,
    /// When the oracle saw it.
    pub time_us: u64,
    /// Its sentence.
    pub sentence: String,
    /// The evidence it cites (partition, offsets, records, epochs).
    pub fields: Vec<(String, String)>,
}

impl View {
    /// The view of `sim`, the finished run of `outcome` on the nodes of `configs`. The
    /// simulation must have kept its trace (not a swarm's hash-only run).
    pub fn of_run(
        outcome: &KafkaOutcome,
        configs: &[NodeConfig],
        sim: &Simulation<KafkaNode>,
    ) -> View {
        let end_us = sim.now_us();
        let nodes = (configs.iter().enumerate())
            .map(|(i, config)| Lane {
                id: i as u16,
                name: format!("n{i}"),
                role: match config {
                    NodeConfig::Controller(_) => "controller",
                    NodeConfig::Broker(_) => "broker",
                    NodeConfig::Client(_) => "client",
                    NodeConfig::Producer(_) => "producer",
                    NodeConfig::Consumer(_) => "consumer",
                },
            })
            .collect();
        let all: Vec<u16> = (0..configs.len() as u16).collect();
        let violation = outcome.violation.as_ref().map(|v| ViolationMark {
            invariant: v.invariant.name().to_string(),
            time_us: v.time_us.min(end_us),
            sentence: v.sentence.clone(),
            fields: v.fields.clone(),
        });
        let window_us = match &violation {
            Some(v) => (
                v.time_us.saturating_sub(WINDOW_BEFORE_US),
                (v.time_us + WINDOW_AFTER_US).min(end_us),
            ),
            None => (0, end_us),
        };
        let (marks, partitions) = observed(sim);
        View {
            format: VIEW_FORMAT,
            version: VIEW_VERSION,
            seed: outcome.seed,
            trace_hash: format!("{:016x}", outcome.trace_hash),
            outcome: outcome_name(outcome),
            end_us,
            nodes,
            messages: arrows(sim, end_us),
            faults: bands(sim, &all, end_us),
            marks,
            partitions,
            violation,
            window_us,
        }
    }

    /// The data as the page embeds it: JSON, with `</` escaped so no string in it can end
    /// the page's script element.
    pub fn to_json(&self) -> String {
        let json = serde_json::to_string(self).expect("a view serializes");
        json.replace("</", "<\\/")
    }

    /// The page: one self-contained HTML file (no network, no external scripts or fonts)
    /// with the data in its own script element.
    pub fn to_html(&self) -> String {
        const PAGE: &str = include_str!("view.html");
        let title = format!("odradek view: seed {} ({})", self.seed, self.outcome);
        PAGE.replace("{{TITLE}}", &title)
            .replace("{{DATA}}", &self.to_json())
    }
}

/// Every message sent, matched to its delivery (streams are FIFO) or to the reset that
/// lost it.
fn arrows(sim: &Simulation<KafkaNode>, end_us: u64) -> Vec<Arrow> {
    let mut arrows: Vec<Arrow> = Vec::new();
    let mut in_flight: BTreeMap<StreamId, VecDeque<(usize, u64)>> = BTreeMap::new();
    for entry in sim.trace().entries() {
        if let (Event::Deliver(stream), None) = (&entry.event, entry.skipped) {
            let queued = in_flight.get_mut(stream).and_then(VecDeque::pop_front);
            if let (Some((index, due_us)), Some(message)) = (queued, &entry.message) {
                let arrow = &mut arrows[index];
                arrow.kind = message.kind().to_string();
                arrow.end_us = entry.time_us;
                arrow.fate = if entry.time_us > due_us {
                    "held"
                } else {
                    "delivered"
                };
                arrow.text = format!("{message:?}");
            }
        }
        for wire in &entry.wire {
            match *wire {
                Wire::Sent { stream, arrival_us } => {
                    in_flight
                        .entry(stream)
                        .or_default()
                        .push_back((arrows.len(), arrival_us));
                    arrows.push(Arrow {
                        from: stream.from().0,
                        to: stream.to().0,
                        kind: "lost".to_string(),
                        sent_us: entry.time_us,
                        end_us,
                        fate: "in-flight",
                        text: String::new(),
                    });
                }
                Wire::Closed(conn) => {
                    for (stream, queue) in in_flight.iter_mut() {
                        if stream.conn == conn {
                            for (index, _) in queue.drain(..) {
                                arrows[index].end_us = entry.time_us;
                                arrows[index].fate = "reset";
                            }
                        }
                    }
                }
            }
        }
    }
    arrows
}

/// Every fault applied, as a band closed by the fault that undid it.
fn bands(sim: &Simulation<KafkaNode>, all: &[u16], end_us: u64) -> Vec<Band> {
    let mut bands: Vec<Band> = Vec::new();
    let mut open: Vec<(usize, Fault)> = Vec::new();
    for entry in sim.trace().entries() {
        let (Event::Fault(fault), None) = (&entry.event, entry.skipped) else {
            continue;
        };
        let ended: Vec<usize> = (open.iter().enumerate().rev())
            .filter(|(_, (_, begun))| fault.undoes(begun))
            .map(|(i, _)| i)
            .collect();
        // A heal ends every fault it undoes; any other undo ends the latest one.
        let heals_all = matches!(fault, Fault::HealNetwork | Fault::HealPartitions);
        let ended = match heals_all {
            true => ended,
            false => ended.into_iter().take(1).collect(),
        };
        if !ended.is_empty() {
            for i in ended {
                let (index, _) = open.remove(i);
                bands[index].end_us = entry.time_us;
                bands[index].text += &format!(", until {fault:?}");
            }
            continue;
        }
        if is_undo(fault) {
            // The boot's restarts, and heals with nothing left to heal.
            continue;
        }
        let nodes: Vec<u16> = match band_nodes(fault) {
            named if named.is_empty() => all.to_vec(),
            named => named.iter().map(|n| n.0).collect(),
        };
        let one_off = matches!(
            fault,
            Fault::Reset { .. }
                | Fault::FlipBit { .. }
                | Fault::FailSync { .. }
                | Fault::Jump { .. }
        );
        if !one_off {
            open.push((bands.len(), fault.clone()));
        }
        bands.push(Band {
            kind: fault.name(),
            nodes,
            start_us: entry.time_us,
            end_us: if one_off { entry.time_us } else { end_us },
            text: format!("{fault:?}"),
        });
    }
    bands
}

/// The lanes a fault's band covers: a one-way cut, a hold or a slow link on its senders'
/// lanes (what they send waits), any other fault on every node it names.
fn band_nodes(fault: &Fault) -> Vec<NodeId> {
    match fault {
        Fault::PartitionOneWay { from, .. } => from.clone(),
        Fault::Hold { from, .. } | Fault::SlowLink { from, .. } => vec![*from],
        Fault::HoldKind { from, .. } => from.iter().copied().collect(),
        other => other.nodes(),
    }
}

/// Faults that only end others.
fn is_undo(fault: &Fault) -> bool {
    matches!(
        fault,
        Fault::Restart { .. }
            | Fault::Resume { .. }
            | Fault::Release { .. }
            | Fault::ReleaseKind { .. }
            | Fault::HealPartitions
            | Fault::HealNetwork
            | Fault::HealDisk { .. }
            | Fault::HealClock { .. }
            | Fault::SlowLink { extra_ms: 0, .. }
    )
}

/// The marks and the partitions' lines, from what the nodes and the engine logged.
fn observed(sim: &Simulation<KafkaNode>) -> (Vec<Mark>, Vec<PartitionLine>) {
    let mut marks = Vec::new();
    let mut partitions: BTreeMap<(String, i32), PartitionLine> = BTreeMap::new();
    for logged in sim.log() {
        let (node, time_us) = (logged.node.0, logged.time_us);
        let mut mark = |kind, text: String| {
            marks.push(Mark {
                node,
                time_us,
                kind,
                text,
            })
        };
        match &logged.what {
            Observed::Crashed { mode, halted } => {
                let why = if *halted { ", halted" } else { "" };
                mark("crash", format!("crashed: {mode:?}{why}"));
            }
            Observed::Restarted => mark("restart", "restarted".into()),
            Observed::Stopped => mark("stop", "stopped cleanly".into()),
            Observed::DiskFault(report) => mark("disk", format!("disk fault: {report:?}")),
            Observed::Node(observation) => match observation {
                Observation::BecameLeader {
                    partition,
                    leader_epoch,
                    isr,
                    ..
                } => mark(
                    "leader",
                    format!(
                        "leads {}-{} in epoch {leader_epoch}, ISR {isr:?}",
                        partition.topic, partition.partition
                    ),
                ),
                Observation::Truncated {
                    partition,
                    from_offset,
                    to_offset,
                    cause,
                } => mark(
                    "truncation",
                    format!(
                        "truncated {}-{} from {from_offset} to {to_offset} ({cause:?})",
                        partition.topic, partition.partition
                    ),
                ),
                Observation::BrokerFenced { broker } => {
                    mark("fenced", format!("fenced broker {broker}"));
                }
                Observation::PartitionChanged {
                    partition,
                    leader,
                    leader_epoch,
                    isr,
                    elr,
                    ..
                } => {
                    let line = line_of(&mut partitions, &partition.topic, partition.partition);
                    line.states.push(PartitionState {
                        time_us,
                        leader: *leader,
                        epoch: *leader_epoch,
                        isr: isr.clone(),
                        elr: elr.clone(),
                    });
                }
                Observation::HighWatermark {
                    partition,
                    high_watermark,
                    as_leader: true,
                    ..
                } => {
                    let line = line_of(&mut partitions, &partition.topic, partition.partition);
                    let hw = (time_us, i32::from(node), *high_watermark);
                    line.high_watermarks.push(hw);
                }
                _ => {}
            },
        }
    }
    (marks, partitions.into_values().collect())
}

/// The line of `topic`-`partition`, new if it has none yet.
fn line_of<'a>(
    partitions: &'a mut BTreeMap<(String, i32), PartitionLine>,
    topic: &str,
    partition: i32,
) -> &'a mut PartitionLine {
    let key = (topic.to_string(), partition);
    partitions.entry(key).or_insert_with(|| PartitionLine {
        name: format!("{topic}-{partition}"),
        states: Vec::new(),
        high_watermarks: Vec::new(),
    })
}
