//! Odradek's framework: a deterministic simulation engine and an explorer (model checker)
//! for sans-IO distributed systems.
//!
//! It knows nothing about Kafka. A system under test implements nodes; this crate owns the
//! world they live in: connections, disks, clocks, faults, the trace and the seed.
//!
//! - [`Node`], [`Message`] and [`Ctx`]: the contract a system signs; [`RoleCtx`] is the
//!   same context over one role's own timers, which any driver can build.
//! - [`World`] and [`Event`]: the transition system. [`World::apply`] applies one event;
//!   [`World::enabled`] lists the deliveries and timers that may happen next.
//! - [`Simulation`]: the driver that picks events by virtual time from one seeded RNG.
//! - [`explorer`]: the other driver, an explicit-state model checker.
//! - [`Fault`], [`nemesis`] and [`Scenario`]: what attacks a run, as serde values.
//! - [`Trace`] and [`harness`]: trace hashes, determinism checks and seed handling for
//!   `cargo test`.

#![warn(missing_docs, unreachable_pub)]

mod address;
mod chooser;
mod clock;
mod ctx;
mod disk;
mod effect;
mod event;
pub mod explorer;
mod fault;
#[cfg(unix)]
mod file_disk;
pub mod harness;
pub mod nemesis;
mod network;
mod node;
mod observation;
mod probability;
mod rng;
mod scenario;
mod sim_disk;
mod simulation;
mod trace;
mod world;

pub use address::{Channel, ConnId, Direction, NodeId, Peer, Role, StreamId};
pub use chooser::Chooser;
pub use clock::{Clock, DRIFT_PPM_MAX, WALL_CLOCK_START_MS};
pub use ctx::{Command, Ctx, RoleCtx};
pub use disk::{ByteRange, Disk, DiskError};
pub use effect::Effect;
pub use event::{Event, EventError};
pub use fault::{CrashMode, Fault};
#[cfg(unix)]
pub use file_disk::FileDisk;
pub use nemesis::{NemesisOptions, Timed};
pub use node::{Message, Node};
pub use observation::{Observation, Observed};
pub use probability::Probability;
pub use rng::{RngStream, SimRng};
pub use scenario::{parse_json, Scenario, ScenarioError};
pub use sim_disk::{FaultKind, FaultReport, PowerLoss, SimDisk, SimDiskOptions};
pub use simulation::{
    Check, Fired, Latency, LinkLatency, RunError, RunStats, SimOptions, Simulation, Trigger,
    Triggered,
};
pub use trace::{fnv64, Divergence, Fnv64, Trace, TraceEntry, Wire};
pub use world::{Status, World, HANDLERS_PER_EVENT_MAX};
