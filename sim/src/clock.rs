//! Per-node clocks: a monotonic clock that drives timers and a wall clock for timestamps.
//!
//! Fault model. A node's monotonic clock runs at `1 + drift_ppm / 10^6` times virtual
//! speed, so drift stretches or shrinks every timer it sets. Its wall clock is that clock
//! plus an offset that jumps either way; a jump moves timestamps only, never timers,
//! because nodes decide by timers alone. Recovery stays possible because drift is bounded
//! by the nemesis and healed before the settle phase.

use serde::{Deserialize, Serialize};

/// Where every wall clock starts: 2023-11-14T22:13:20Z, in ms since the Unix epoch.
pub const WALL_CLOCK_START_MS: i64 = 1_700_000_000_000;

/// One part per million.
const PPM: i128 = 1_000_000;

/// Drift is bounded so a timer's scaled delay stays positive and finite.
pub const DRIFT_PPM_MAX: i32 = 500_000;

/// A node's clock state.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq, Hash, Serialize, Deserialize)]
pub struct Clock {
    /// How fast the clock runs relative to virtual time, in parts per million.
    pub drift_ppm: i32,
    /// How far the wall clock has been moved by jumps.
    pub offset_ms: i64,
}

impl Clock {
    /// The wall clock at virtual time `now_us`, in ms since the Unix epoch.
    pub fn wall_clock_ms(&self, now_us: u64) -> i64 {
        let local_us = i128::from(now_us) * (PPM + i128::from(self.drift_ppm)) / PPM;
        let local_ms = i64::try_from(local_us / 1000).expect("virtual time fits in i64 ms");
        WALL_CLOCK_START_MS + self.offset_ms + local_ms
    }

    /// Virtual microseconds until a timer set for `delay_ms` of this clock fires.
    pub fn timer_delay_us(&self, delay_ms: u64) -> u64 {
        debug_assert!(self.drift_ppm.abs() <= DRIFT_PPM_MAX);
        let nominal_us = i128::from(delay_ms) * 1000;
        let scaled = nominal_us * PPM / (PPM + i128::from(self.drift_ppm));
        u64::try_from(scaled).unwrap_or(u64::MAX)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn fast_clock_fires_timers_early_and_jumps_move_only_the_wall_clock() {
        let mut clock = Clock {
            drift_ppm: 100_000,
            offset_ms: 0,
        };
        assert_eq!(clock.timer_delay_us(110), 100_000);
        assert_eq!(clock.wall_clock_ms(1_000_000), WALL_CLOCK_START_MS + 1100);
        clock.offset_ms = -5000;
        assert_eq!(clock.timer_delay_us(110), 100_000);
        assert_eq!(clock.wall_clock_ms(1_000_000), WALL_CLOCK_START_MS - 3900);
    }
}
