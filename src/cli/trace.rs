//! `odradek run --trace FILE`: the run as JSON lines, format `odradek-trace` version 1
//! (documented in `docs/trace-format.md`). The first line describes the run; then every
//! event the engine applied, in order, each followed by what it made the nodes and the
//! engine log (history entries among them, typed `history`).

use std::io::Write;

use odradek::cluster::{KafkaNode, KafkaOutcome};
use odradek_invariants::Observation as NodeObservation;
use odradek_sim::{Message, Observed, Simulation};
use serde_json::{json, Value};

/// The format version this code writes.
const TRACE_FORMAT_VERSION: u32 = 1;

/// Writes the trace of `sim` (the run of `outcome`) to `out`.
pub(crate) fn write(
    out: &mut dyn Write,
    outcome: &KafkaOutcome,
    sim: &Simulation<KafkaNode>,
) -> std::io::Result<()> {
    let header = json!({
        "format": "odradek-trace",
        "version": TRACE_FORMAT_VERSION,
        "seed": outcome.seed,
        "trace_hash": format!("{:016x}", outcome.trace_hash),
        "events": outcome.events,
        "simulated_ms": outcome.simulated_ms,
    });
    writeln!(out, "{header}")?;
    let log = sim.log();
    let mut written = 0;
    for entry in sim.trace().entries() {
        // What the engine logged outside any event (none today) keeps its place.
        for logged in &log[written..entry.observations.start] {
            writeln!(out, "{}", observation(logged))?;
        }
        let line = json!({
            "type": "event",
            "time_us": entry.time_us,
            "node": entry.event.node().map(|n| n.index()),
            "event": entry.event,
            "message_kind": entry.message.as_ref().map(|m| m.kind()),
            "message": entry.message.as_ref().map(|m| format!("{m:?}")),
            "skipped": entry.skipped,
        });
        writeln!(out, "{line}")?;
        for logged in &log[entry.observations.clone()] {
            writeln!(out, "{}", observation(logged))?;
        }
        written = entry.observations.end;
    }
    for logged in &log[written..] {
        writeln!(out, "{}", observation(logged))?;
    }
    Ok(())
}

fn observation(entry: &odradek_sim::Observation<NodeObservation>) -> Value {
    let kind = match &entry.what {
        Observed::Node(NodeObservation::History(_)) => "history",
        Observed::Node(_) => "observation",
        _ => "engine",
    };
    json!({
        "type": kind,
        "time_us": entry.time_us,
        "node": entry.node.index(),
        "what": entry.what,
    })
}
