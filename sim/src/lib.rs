//! Odradek's framework: a deterministic simulation engine and an explorer (model checker)
//! for sans-IO distributed systems.
//!
//! It knows nothing about Kafka. A system under test implements nodes; this crate owns the
//! world they live in: connections, disks, clocks, faults, the trace and the seed.

#![warn(missing_docs, unreachable_pub)]

mod chooser;
mod disk;
pub mod explorer;
mod sim_disk;

pub use chooser::Chooser;
pub use disk::{ByteRange, Disk, DiskError};
pub use sim_disk::{FaultKind, FaultReport, PowerLoss, SimDisk, SimDiskOptions};
