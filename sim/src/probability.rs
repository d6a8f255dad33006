//! `Probability`: a chance in parts per million, written as a fraction in scenarios.
//!
//! Stored as an integer so fault options stay `Eq + Hash` and a draw compares integers,
//! which keeps runs identical on every platform.

use std::fmt;

use serde::{Deserialize, Deserializer, Serialize, Serializer};

/// One million parts.
const PPM: u32 = 1_000_000;

/// A chance between 0 and 1, in parts per million. The default is never.
#[derive(Clone, Copy, Default, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub struct Probability(u32);

impl Probability {
    /// `ppm` parts per million; `None` above one million.
    pub fn from_ppm(ppm: u32) -> Option<Self> {
        (ppm <= PPM).then_some(Self(ppm))
    }

    /// The chance in parts per million.
    pub fn ppm(self) -> u32 {
        self.0
    }

    /// Whether the chance is zero.
    pub fn is_never(self) -> bool {
        self.0 == 0
    }
}

impl fmt::Debug for Probability {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "{}", f64::from(self.0) / f64::from(PPM))
    }
}

impl Serialize for Probability {
    fn serialize<S: Serializer>(&self, serializer: S) -> Result<S::Ok, S::Error> {
        serializer.serialize_f64(f64::from(self.0) / f64::from(PPM))
    }
}

impl<'de> Deserialize<'de> for Probability {
    fn deserialize<D: Deserializer<'de>>(deserializer: D) -> Result<Self, D::Error> {
        let value = f64::deserialize(deserializer)?;
        if !(0.0..=1.0).contains(&value) {
            return Err(serde::de::Error::custom(format_args!(
                "probability must lie in 0..=1, got {value}"
            )));
        }
        Ok(Self((value * f64::from(PPM)).round() as u32))
    }
}
