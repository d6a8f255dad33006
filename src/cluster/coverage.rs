//! Coverage: the hazards a run reached, so an injector that never fires, or a recovery path
//! no seed drives, cannot hide behind a clean summary. Each hazard is a sometimes-property
//! (Antithesis's term): no single run must reach it, but a swarm that reaches none of its
//! runs has not tested it. The swarm summary counts seeds per hazard and names the ones no
//! seed reached; `odradek swarm --require-coverage` fails on them.

use odradek_invariants::Counts;
use odradek_sim::Fault;

use super::{KafkaOutcome, INJECTORS};

/// A protocol hazard: its name, and whether a run's counts show it was reached.
pub type ProtocolHazard = (&'static str, fn(&Counts) -> bool);

fn elected(counts: &Counts, kind: &str) -> bool {
    counts.elections_by_kind.get(kind).is_some_and(|&n| n > 0)
}

/// The protocol's hazards, in the order the summary lists them.
pub const PROTOCOL_HAZARDS: [ProtocolHazard; 11] = [
    // A partition elected a leader after its first.
    ("failover", |c| c.failovers > 0),
    // A replica truncated its log (by leader epoch or recovery).
    ("truncation", |c| c.truncations > 0),
    // A leader elected from the ELR (KIP-966).
    ("elr-election", |c| elected(c, "Elr")),
    // The last known leader elected again with no one else eligible.
    ("last-known-leader", |c| elected(c, "LastKnownLeader")),
    // A restart's log recovery cut a torn or corrupt tail.
    ("recovery-cut", |c| c.recovery_cuts > 0),
    // A disk fault changed or lost bytes.
    ("disk-loss", |c| c.disk_bytes_lost > 0),
    // A broker fenced by session expiry.
    ("fenced", |c| c.fenced > 0),
    ("isr-shrink", |c| c.isr_shrinks > 0),
    ("isr-expansion", |c| c.isr_expansions > 0),
    // A broker shut down cleanly (controlled shutdown).
    ("clean-shutdown", |c| c.stops > 0),
    // The consumer reset its position.
    ("consumer-reset", |c| c.resets > 0),
];

/// Every hazard name: the protocol's, `fault:KIND` for each fault kind, then
/// `targeted:NAME` for each targeted injector.
pub fn hazards() -> Vec<String> {
    let protocol = PROTOCOL_HAZARDS.iter().map(|(name, _)| name.to_string());
    let faults = Fault::INJECTORS.iter().map(|kind| format!("fault:{kind}"));
    let targeted = INJECTORS.iter().map(|name| format!("targeted:{name}"));
    protocol.chain(faults).chain(targeted).collect()
}

impl KafkaOutcome {
    /// The hazards this run reached, in [`hazards`]'s order.
    pub fn hazards(&self) -> Vec<String> {
        let protocol = (PROTOCOL_HAZARDS.iter())
            .filter(|(_, reached)| reached(&self.counts))
            .map(|(name, _)| name.to_string());
        let faults = (Fault::INJECTORS.iter())
            .filter(|kind| self.faults_by_kind.get(**kind).is_some_and(|&n| n > 0))
            .map(|kind| format!("fault:{kind}"));
        let targeted = (INJECTORS.iter())
            .filter(|name| self.targeted.get(**name).is_some_and(|&n| n > 0))
            .map(|name| format!("targeted:{name}"));
        protocol.chain(faults).chain(targeted).collect()
    }
}
