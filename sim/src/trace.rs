//! The trace: every event a run applied, with its virtual time, node, delivered message
//! and choice answers, and a stable hash over all of it and over the observation log
//! each event wrote (what the checkers judge).
//!
//! The hash is 64-bit FNV-1a, implemented here with its published constants (no keys, no
//! per-process randomness), fed through `Hash`. It is therefore stable across runs,
//! processes and machines of one endianness for a given build; a compiler release that
//! changed how `#[derive(Hash)]` feeds bytes would change it, and the insta snapshots of
//! trace hashes would show that at once. Each entry also keeps the running hash after it,
//! so two runs of one seed can be compared event by event and the first divergence named.

use std::fmt;
use std::hash::{Hash, Hasher};

use crate::address::{ConnId, StreamId};
use crate::event::Event;
use crate::node::Node;

const FNV_OFFSET_BASIS: u64 = 0xcbf2_9ce4_8422_2325;
const FNV_PRIME: u64 = 0x0000_0100_0000_01b3;

/// 64-bit FNV-1a: a fixed, keyless hash for fingerprints that must not change between
/// runs.
#[derive(Debug, Clone, Copy)]
pub struct Fnv64(u64);

impl Default for Fnv64 {
    fn default() -> Self {
        Self(FNV_OFFSET_BASIS)
    }
}

impl Hasher for Fnv64 {
    fn finish(&self) -> u64 {
        self.0
    }

    fn write(&mut self, bytes: &[u8]) {
        for &byte in bytes {
            self.0 ^= u64::from(byte);
            self.0 = self.0.wrapping_mul(FNV_PRIME);
        }
    }
}

/// The FNV-1a hash of one value.
pub fn fnv64<T: Hash + ?Sized>(value: &T) -> u64 {
    let mut hasher = Fnv64::default();
    value.hash(&mut hasher);
    hasher.finish()
}

/// One applied (or skipped) event.
#[derive(Debug, Clone)]
pub struct TraceEntry<N: Node> {
    /// Virtual time, in microseconds.
    pub time_us: u64,
    /// What happened.
    pub event: Event<N::Timer>,
    /// The message a delivery handed over.
    pub message: Option<N::Msg>,
    /// Every `choose` answer asked for while applying the event, in order.
    pub choices: Vec<u32>,
    /// Why a scheduled fault was skipped (it was not enabled), if it was.
    pub skipped: Option<&'static str>,
    /// The trace hash after this entry.
    pub hash: u64,
    /// Where in the observation log (`Simulation::log`) what this event logged lies.
    pub observations: std::ops::Range<usize>,
    /// What the event did to the network, in order: the messages it sent and the
    /// connections it reset. Not hashed: it follows from the event and the seed.
    pub wire: Vec<Wire>,
}

/// One thing an event did to the network, as a trace records it for a viewer.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Wire {
    /// A message joined `stream`, due to arrive at `arrival_us`; a delivery after that was
    /// held.
    Sent {
        /// The stream.
        stream: StreamId,
        /// When it was due.
        arrival_us: u64,
    },
    /// The connection was reset: what was in flight on it is lost.
    Closed(ConnId),
}

impl<N: Node> fmt::Display for TraceEntry<N> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        let node = match self.event.node() {
            Some(node) => format!("{node:?}"),
            None => "--".to_owned(),
        };
        write!(
            f,
            "{:>6}.{:06}s {node:>4} {:?}",
            self.time_us / 1_000_000,
            self.time_us % 1_000_000,
            self.event
        )?;
        if let Some(message) = &self.message {
            write!(f, " {message:?}")?;
        }
        if !self.choices.is_empty() {
            write!(f, " choices={:?}", self.choices)?;
        }
        if let Some(reason) = self.skipped {
            write!(f, " skipped: {reason}")?;
        }
        Ok(())
    }
}

/// An entry between `Trace::begin` and `Trace::push`.
pub(crate) struct Pending<N: Node> {
    hasher: Fnv64,
    message: Option<N::Msg>,
}

/// Every event of a run, in order, and the running hash over them. A trace that keeps
/// only its hash (for swarms, which read nothing else) holds no entries.
#[derive(Debug, Clone)]
pub struct Trace<N: Node> {
    entries: Vec<TraceEntry<N>>,
    hash: u64,
    hash_only: bool,
}

impl<N: Node> Default for Trace<N> {
    fn default() -> Self {
        Self {
            entries: Vec::new(),
            hash: FNV_OFFSET_BASIS,
            hash_only: false,
        }
    }
}

impl<N: Node> Trace<N> {
    /// Appends an entry and extends the running hash over it.
    /// Starts the next entry before its event is applied, while the delivered message is
    /// still at its stream's head: hashes what is known so far, and copies the message only
    /// if entries are kept.
    pub(crate) fn begin(
        &self,
        time_us: u64,
        event: &Event<N::Timer>,
        message: Option<&N::Msg>,
    ) -> Pending<N> {
        let mut hasher = Fnv64(self.hash);
        // As the tuple (time, event, message, choices, skipped) hashes, field by field.
        time_us.hash(&mut hasher);
        event.hash(&mut hasher);
        message.hash(&mut hasher);
        let message = match self.hash_only {
            true => None,
            false => message.cloned(),
        };
        Pending { hasher, message }
    }

    /// Ends the entry `begin` started.
    pub(crate) fn push(
        &mut self,
        pending: Pending<N>,
        time_us: u64,
        event: Event<N::Timer>,
        choices: Vec<u32>,
        skipped: Option<&'static str>,
        log_len: usize,
    ) {
        let Pending {
            mut hasher,
            message,
        } = pending;
        choices.hash(&mut hasher);
        skipped.hash(&mut hasher);
        self.hash = hasher.finish();
        if self.hash_only {
            return;
        }
        self.entries.push(TraceEntry {
            time_us,
            event,
            message,
            choices,
            skipped,
            hash: self.hash,
            observations: log_len..log_len,
            wire: Vec::new(),
        });
    }

    /// Records on the last entry that its event sent a message on `stream`, due at
    /// `arrival_us`.
    pub(crate) fn note_sent(&mut self, stream: StreamId, arrival_us: u64) {
        if let Some(last) = self.entries.last_mut().filter(|_| !self.hash_only) {
            last.wire.push(Wire::Sent { stream, arrival_us });
        }
    }

    /// Records on the last entry that its event reset `conn`.
    pub(crate) fn note_closed(&mut self, conn: ConnId) {
        if let Some(last) = self.entries.last_mut().filter(|_| !self.hash_only) {
            last.wire.push(Wire::Closed(conn));
        }
    }

    /// Keeps only the running hash from now on: no entries, no messages held.
    pub(crate) fn keep_hash_only(&mut self) {
        self.hash_only = true;
    }

    /// Folds what the last entry's event logged, `logged` (the log from `from` on), into
    /// its hash, so two runs that log differently hash differently.
    pub(crate) fn fold<T: Hash>(&mut self, logged: &[T], from: usize) {
        let mut hasher = Fnv64(self.hash);
        logged.hash(&mut hasher);
        self.hash = hasher.finish();
        if let Some(last) = self.entries.last_mut() {
            last.hash = self.hash;
            last.observations = from..from + logged.len();
        }
    }

    /// The entries, in order.
    pub fn entries(&self) -> &[TraceEntry<N>] {
        &self.entries
    }

    /// The trace hash: the running hash after the last entry.
    pub fn hash(&self) -> u64 {
        self.hash
    }

    /// The first entry at which the two traces differ, if they do.
    pub fn first_divergence(&self, other: &Trace<N>) -> Option<Divergence> {
        let index = (0..self.entries.len().max(other.entries.len())).find(|&i| {
            self.entries.get(i).map(|e| e.hash) != other.entries.get(i).map(|e| e.hash)
        })?;
        let render = |trace: &Trace<N>| trace.entries.get(index).map(ToString::to_string);
        Some(Divergence {
            index,
            left: render(self),
            right: render(other),
        })
    }

    /// The last `count` entries, one per line.
    pub fn tail(&self, count: usize) -> String {
        let start = self.entries.len().saturating_sub(count);
        self.entries[start..]
            .iter()
            .map(|entry| format!("{entry}\n"))
            .collect()
    }
}

/// Where two runs that should be identical part.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Divergence {
    /// Index of the first differing entry.
    pub index: usize,
    /// The first run's entry there, if it has one.
    pub left: Option<String>,
    /// The second run's entry there, if it has one.
    pub right: Option<String>,
}

impl fmt::Display for Divergence {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        let show = |entry: &Option<String>| entry.clone().unwrap_or_else(|| "<end>".into());
        write!(
            f,
            "runs diverge at event {}.\n  first:  {}\n  second: {}",
            self.index,
            show(&self.left),
            show(&self.right)
        )
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn fnv64_matches_the_published_test_vectors() {
        let hash = |bytes: &[u8]| {
            let mut hasher = Fnv64::default();
            hasher.write(bytes);
            hasher.finish()
        };
        assert_eq!(hash(b""), 0xcbf2_9ce4_8422_2325);
        assert_eq!(hash(b"a"), 0xaf63_dc4c_8601_ec8c);
        assert_eq!(hash(b"foobar"), 0x8594_4171_f739_67e8);
    }
}
