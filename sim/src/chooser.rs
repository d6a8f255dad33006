//! The one door through which every nondeterministic choice passes.
//!
//! The simulation driver answers from the run's seeded RNG, the explorer enumerates every
//! answer, and the trace records each one, so a choice never hides in a component's state.

/// Picks one of `n` outcomes, numbered `0..n`.
///
/// Implementations must return a value below `n`; callers never ask with `n == 0`.
pub trait Chooser {
    /// Returns an index in `0..n`.
    fn choose(&mut self, n: usize) -> usize;
}

impl<F: FnMut(usize) -> usize> Chooser for F {
    fn choose(&mut self, n: usize) -> usize {
        debug_assert!(n > 0, "choose(0) has no answer");
        let answer = self(n);
        assert!(answer < n, "chooser answered {answer} to choose({n})");
        answer
    }
}
