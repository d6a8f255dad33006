//! Coverage: the hazards a run reached, so an injector that never fires, or a recovery path
//! no seed drives, cannot hide behind a clean summary. Each hazard is a sometimes-property
//! (Antithesis's term): no single run must reach it, but a swarm that reaches none of its
//! runs has not tested it. The swarm summary counts seeds per hazard and names the ones no
//! seed reached; `odradek swarm --require-coverage` fails on them.

use odradek_sim::Fault;

use super::{KafkaOutcome, INJECTORS};

/// The protocol's hazards, in the order the summary lists them: name, and what reaching
/// it means.
pub const PROTOCOL_HAZARDS: [(&str, &str); 11] = [
    ("failover", "a partition elected a leader after its first"),
    (
        "truncation",
        "a replica truncated its log (by leader epoch or recovery)",
    ),
    ("elr-election", "a leader elected from the ELR (KIP-966)"),
    (
        "last-known-leader",
        "the last known leader elected again with no one else eligible",
    ),
    (
        "recovery-cut",
        "a restart's log recovery cut a torn or corrupt tail",
    ),
    ("disk-loss", "a disk fault changed or lost bytes"),
    ("fenced", "a broker fenced by session expiry"),
    ("isr-shrink", "an ISR shrink committed"),
    ("isr-expansion", "an ISR expansion committed"),
    (
        "clean-shutdown",
        "a broker shut down cleanly (controlled shutdown)",
    ),
    ("consumer-reset", "the consumer reset its position"),
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
        let c = &self.counts;
        let elected = |kind: &str| c.elections_by_kind.get(kind).is_some_and(|&n| n > 0);
        let reached = [
            c.failovers > 0,
            c.truncations > 0,
            elected("Elr"),
            elected("LastKnownLeader"),
            c.recovery_cuts > 0,
            c.disk_bytes_lost > 0,
            c.fenced > 0,
            c.isr_shrinks > 0,
            c.isr_expansions > 0,
            c.stops > 0,
            c.resets > 0,
        ];
        let protocol = (PROTOCOL_HAZARDS.iter().zip(reached))
            .filter(|(_, reached)| *reached)
            .map(|((name, _), _)| name.to_string());
        let faults = (Fault::INJECTORS.iter())
            .filter(|kind| self.faults_by_kind.get(**kind).is_some_and(|&n| n > 0))
            .map(|kind| format!("fault:{kind}"));
        let targeted = (INJECTORS.iter())
            .filter(|name| self.targeted.get(**name).is_some_and(|&n| n > 0))
            .map(|name| format!("targeted:{name}"));
        protocol.chain(faults).chain(targeted).collect()
    }
}
