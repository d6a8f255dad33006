//! The run's one source of randomness: ChaCha8 seeded by the run's seed.
//!
//! Every latency, fault time, nemesis draw and `choose` answer comes from here, so a seed
//! reproduces a run exactly. Draws use only `next_u64` and integer arithmetic (no floating
//! point, no library sampling algorithm that could change between versions).

use rand_chacha::rand_core::{RngCore, SeedableRng};
use rand_chacha::ChaCha8Rng;

use crate::chooser::Chooser;
use crate::probability::Probability;

/// What a generator is for. Each purpose draws from its own ChaCha stream of the seed,
/// so drawing a schedule (or taking a given one) never shifts the simulation's draws.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum RngStream {
    /// Latencies, choices and everything else during the run.
    Simulation,
    /// The nemesis schedule.
    Schedule,
    /// The swarm generator's options.
    Swarm,
}

/// A seeded deterministic random number generator.
#[derive(Debug, Clone)]
pub struct SimRng(ChaCha8Rng);

impl SimRng {
    /// The simulation's generator for `seed`.
    pub fn new(seed: u64) -> Self {
        Self::for_stream(seed, RngStream::Simulation)
    }

    /// The generator for `seed` and one purpose.
    pub fn for_stream(seed: u64, stream: RngStream) -> Self {
        let mut rng = ChaCha8Rng::seed_from_u64(seed);
        rng.set_stream(stream as u64);
        Self(rng)
    }

    /// An independent stream derived from this generator's state without drawing from
    /// it: a new draw purpose gets one, so adding the purpose does not shift the draws
    /// the generator already makes.
    pub fn substream(&self, stream: u64) -> SimRng {
        let mut rng = self.0.clone();
        rng.set_stream(stream);
        SimRng(rng)
    }

    /// A uniform draw in `0..n` (`n > 0`), by multiply-shift: its bias is below
    /// `n / 2^64`.
    pub fn below(&mut self, n: u64) -> u64 {
        assert!(n > 0, "below(0) has no answer");
        ((u128::from(self.0.next_u64()) * u128::from(n)) >> 64) as u64
    }

    /// A uniform draw in `low..=high`.
    pub fn between(&mut self, low: u64, high: u64) -> u64 {
        assert!(low <= high, "between({low}, {high})");
        match (high - low).checked_add(1) {
            Some(span) => low + self.below(span),
            None => self.0.next_u64(),
        }
    }

    /// A uniform signed draw in `-bound..=bound`.
    pub fn signed(&mut self, bound: u64) -> i64 {
        let bound = i64::try_from(bound).unwrap_or(i64::MAX);
        let offset = self.between(0, bound.unsigned_abs() * 2);
        offset as i64 - bound
    }

    /// True with probability `p`.
    pub fn chance(&mut self, p: Probability) -> bool {
        !p.is_never() && self.below(1_000_000) < u64::from(p.ppm())
    }

    /// A uniformly chosen element.
    pub fn pick<'a, T>(&mut self, items: &'a [T]) -> &'a T {
        &items[self.below(items.len() as u64) as usize]
    }
}

impl Chooser for SimRng {
    fn choose(&mut self, n: usize) -> usize {
        self.below(n as u64) as usize
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn same_seed_draws_the_same_sequence_and_draws_stay_in_range() {
        let mut a = SimRng::new(7);
        let mut b = SimRng::new(7);
        for n in 1..200 {
            let x = a.below(n);
            assert_eq!(x, b.below(n));
            assert!(x < n);
            let s = a.signed(n);
            assert_eq!(s, b.signed(n));
            assert!(s.unsigned_abs() <= n);
        }
        assert_ne!(
            SimRng::new(1).below(u64::MAX),
            SimRng::new(2).below(u64::MAX)
        );
    }
}
