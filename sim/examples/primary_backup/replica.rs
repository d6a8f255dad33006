//! A replica of the log: the primary of epochs of its parity, the backup otherwise.
//!
//! Protocol. The primary of epoch `e` is replica `e % 2`. The primary appends a client's
//! write to its log (synced), replicates its whole log from where the backup last matched
//! (one request in flight), and acks the client only once the backup has confirmed a log
//! holding the write. The backup makes its log exactly the primary's (truncating whatever
//! differs) and syncs before confirming. A backup that hears nothing from its primary
//! for an election timeout takes over in the next epoch of its own parity. Every epoch
//! change is persisted before acting on it, and a stale epoch is refused, so an old
//! primary can never get a write confirmed after a new one took over.
//!
//! Why acked writes survive: an ack needs both replicas to hold the write durably, and a
//! new primary's log therefore holds every acked write. A replica whose recovery finds
//! its files corrupt discards its log and marks itself (durably) as catching up: it may
//! not lead until a primary has given it a full log. The nemesis corrupts at most one disk
//! per run, so a healthy replica always holds every acked write.
//!
//! It owns its log and epoch (in memory and on its disk) and never reads a clock.

use std::collections::BTreeMap;

use odradek_sim::{Ctx, DiskError, NodeId, Peer};

use super::storage::{self, Damage, Entry};
use super::{Msg, Obs, PbNode, Timer, REPLICATION};

/// How often an idle primary sends an empty append.
pub const HEARTBEAT_MS: u64 = 50;
/// How long a primary waits for a confirmation before it resets the connection.
pub const APPEND_TIMEOUT_MS: u64 = 200;
/// Shortest time a backup waits for its primary before it takes over.
pub const ELECTION_MS: u64 = 300;
/// Spread of the election timeout, so two replicas rarely take over together.
const ELECTION_JITTER_MS: u64 = 200;

const _: () = assert!(HEARTBEAT_MS < APPEND_TIMEOUT_MS && APPEND_TIMEOUT_MS < ELECTION_MS);

/// What a primary tracks about its backup and its clients.
#[derive(Debug, Clone, PartialEq, Eq, Hash)]
pub struct Primary {
    /// The log length the next append builds on: where the backup is believed to match.
    next_len: u64,
    /// Whether an append awaits its answer.
    in_flight: bool,
    /// Client writes appended in this epoch and not yet confirmed, by log index.
    pending: BTreeMap<u64, Peer>,
}

/// One replica. See the module docs.
#[derive(Debug, Clone, PartialEq, Eq, Hash)]
pub struct Replica {
    me: NodeId,
    other: NodeId,
    /// The bug switch: ack a write as soon as it is in the primary's own log.
    ack_before_backup: bool,
    epoch: u32,
    log: Vec<Entry>,
    primary: Option<Primary>,
    /// Lacks data it once had; may not lead until caught up.
    catching_up: bool,
}

impl Replica {
    /// A fresh replica value; `on_start` recovers its state from disk.
    pub fn new(me: NodeId, other: NodeId, ack_before_backup: bool) -> Self {
        Self {
            me,
            other,
            ack_before_backup,
            epoch: 0,
            log: Vec::new(),
            primary: None,
            catching_up: false,
        }
    }

    /// The replicated log.
    pub fn log(&self) -> &[Entry] {
        &self.log
    }

    /// The replica's epoch.
    pub fn epoch(&self) -> u32 {
        self.epoch
    }

    /// Whether it leads its epoch.
    pub fn is_primary(&self) -> bool {
        self.primary.is_some()
    }

    fn backup(&self) -> Peer {
        Peer::server(self.other, REPLICATION)
    }

    fn parity(&self) -> u32 {
        u32::from(self.me.0 % 2)
    }

    /// Recovery: reads the epoch and the log, discards a corrupt log, and rewrites what
    /// it keeps so that all of it is durable (a failed sync may have left data readable
    /// but not durable).
    pub fn on_start(&mut self, ctx: &mut Ctx<'_, PbNode>) {
        self.recover(ctx).unwrap_or(());
    }

    fn recover(&mut self, ctx: &mut Ctx<'_, PbNode>) -> Result<(), Halted> {
        let disk = ctx.disk();
        let mut corrupt = disk.exists(storage::CATCH_UP);
        let epoch = match storage::read_epoch(disk) {
            Ok(epoch) => epoch.unwrap_or(0),
            Err(Damage::Corrupt) => {
                corrupt = true;
                0
            }
            Err(Damage::Disk(error)) => return Err(halt(ctx, error)),
        };
        let log = match storage::read_log(disk) {
            Ok(log) if !corrupt => log,
            Ok(_) | Err(Damage::Corrupt) => {
                corrupt = true;
                Vec::new()
            }
            Err(Damage::Disk(error)) => return Err(halt(ctx, error)),
        };
        let marked = if corrupt {
            storage::mark_catch_up(disk)
        } else {
            Ok(())
        };
        let stored = marked
            .and_then(|()| storage::store_epoch(disk, epoch))
            .and_then(|()| storage::rewrite_log(disk, &log));
        stored.map_err(|error| halt(ctx, error))?;
        self.epoch = epoch;
        self.log = log;
        self.catching_up = corrupt;
        ctx.observe(Obs::Recovered {
            catching_up: corrupt,
            len: self.log.len() as u64,
        });
        self.arm_election(ctx);
        Ok(())
    }

    /// Handles a message from the other replica or a client.
    pub fn on_message(&mut self, ctx: &mut Ctx<'_, PbNode>, from: Peer, msg: Msg) {
        self.handle(ctx, from, msg).unwrap_or(());
    }

    fn handle(&mut self, ctx: &mut Ctx<'_, PbNode>, from: Peer, msg: Msg) -> Result<(), Halted> {
        match msg {
            Msg::Write { value } => self.on_write(ctx, from, value),
            Msg::Append {
                epoch,
                prev_len,
                prev_epoch,
                entries,
            } => self.on_append(ctx, from, epoch, prev_len, prev_epoch, &entries),
            Msg::Appended { epoch, len } => self.on_appended(ctx, epoch, len),
            Msg::Mismatch { epoch, len } => {
                if let Some(primary) = self.primary_in(epoch) {
                    debug_assert!(len < primary.next_len, "a mismatch moves back");
                    primary.next_len = len;
                    primary.in_flight = false;
                    ctx.cancel_timer(Timer::AppendTimeout);
                    self.replicate(ctx);
                }
                Ok(())
            }
            Msg::Stale { epoch } if epoch > self.epoch => self.adopt(ctx, epoch),
            Msg::Stale { .. } => Ok(()),
            Msg::Ack { .. } | Msg::NotPrimary | Msg::Rejected => {
                unreachable!("replicas get no client replies: {msg:?}")
            }
        }
    }

    /// Handles a timer.
    pub fn on_timer(&mut self, ctx: &mut Ctx<'_, PbNode>, timer: Timer) {
        match timer {
            Timer::Election => self.take_over(ctx).unwrap_or(()),
            Timer::Heartbeat => {
                if self.primary.as_ref().is_some_and(|p| !p.in_flight) {
                    self.replicate(ctx);
                }
                ctx.set_timer(Timer::Heartbeat, HEARTBEAT_MS);
            }
            Timer::AppendTimeout => {
                // The backup is gone or cut off: give up on this connection and retry on
                // the next heartbeat over a fresh one, as a Kafka client does.
                if let Some(primary) = self.primary.as_mut() {
                    primary.in_flight = false;
                    ctx.disconnect(Peer::server(self.other, REPLICATION));
                }
            }
            Timer::Send | Timer::RequestTimeout => {
                unreachable!("client timer on a replica: {timer:?}")
            }
        }
    }

    /// The connection to the backup (or a client) was reset.
    pub fn on_disconnect(&mut self, ctx: &mut Ctx<'_, PbNode>, peer: Peer) {
        if peer == self.backup() {
            if let Some(primary) = self.primary.as_mut() {
                primary.in_flight = false;
                ctx.cancel_timer(Timer::AppendTimeout);
            }
        }
    }

    fn on_write(
        &mut self,
        ctx: &mut Ctx<'_, PbNode>,
        client: Peer,
        value: u64,
    ) -> Result<(), Halted> {
        if self.primary.is_none() {
            ctx.send(client, Msg::NotPrimary);
            return Ok(());
        }
        let entry = Entry {
            epoch: self.epoch,
            value,
        };
        let index = self.log.len() as u64;
        let len = self.log.len();
        match storage::splice_log(ctx.disk(), &mut self.log, len, &[entry]) {
            Ok(()) => {}
            Err(DiskError::Full { .. }) => {
                debug_assert_eq!(self.log.len(), len);
                ctx.send(client, Msg::Rejected);
                return Ok(());
            }
            Err(error) => return Err(halt(ctx, error)),
        }
        if self.ack_before_backup {
            ctx.send(client, Msg::Ack { value, index });
        } else {
            let primary = self.primary.as_mut().expect("checked above");
            primary.pending.insert(index, client);
        }
        if !self.primary.as_ref().expect("checked above").in_flight {
            self.replicate(ctx);
        }
        Ok(())
    }

    fn on_append(
        &mut self,
        ctx: &mut Ctx<'_, PbNode>,
        from: Peer,
        epoch: u32,
        prev_len: u64,
        prev_epoch: u32,
        entries: &[Entry],
    ) -> Result<(), Halted> {
        if epoch < self.epoch {
            ctx.send(from, Msg::Stale { epoch: self.epoch });
            return Ok(());
        }
        if epoch > self.epoch {
            self.adopt(ctx, epoch)?;
        }
        debug_assert!(self.primary.is_none(), "two primaries in epoch {epoch}");
        self.arm_election(ctx);
        let prev = prev_len as usize;
        let matches =
            prev <= self.log.len() && (prev == 0 || self.log[prev - 1].epoch == prev_epoch);
        if !matches {
            let len = (self.log.len() as u64).min(prev_len.saturating_sub(1));
            ctx.send(from, Msg::Mismatch { epoch, len });
            return Ok(());
        }
        match storage::splice_log(ctx.disk(), &mut self.log, prev, entries) {
            Ok(()) => {}
            // No confirmation: the primary's timeout retries once there is room.
            Err(DiskError::Full { .. }) => return Ok(()),
            Err(error) => return Err(halt(ctx, error)),
        }
        debug_assert_eq!(self.log.len(), prev + entries.len());
        if self.catching_up {
            // The log now equals a healthy primary's whole log.
            storage::clear_catch_up(ctx.disk()).map_err(|error| halt(ctx, error))?;
            self.catching_up = false;
            ctx.observe(Obs::CaughtUp);
        }
        let len = self.log.len() as u64;
        ctx.send(from, Msg::Appended { epoch, len });
        Ok(())
    }

    fn on_appended(
        &mut self,
        ctx: &mut Ctx<'_, PbNode>,
        epoch: u32,
        len: u64,
    ) -> Result<(), Halted> {
        let Some(primary) = self.primary_in(epoch) else {
            return Ok(());
        };
        primary.next_len = len;
        primary.in_flight = false;
        let confirmed: Vec<(u64, Peer)> = primary
            .pending
            .range(..len)
            .map(|(&i, &p)| (i, p))
            .collect();
        primary.pending.retain(|&index, _| index >= len);
        ctx.cancel_timer(Timer::AppendTimeout);
        for (index, client) in confirmed {
            let value = self.log[index as usize].value;
            ctx.send(client, Msg::Ack { value, index });
        }
        if self.log.len() as u64 > len {
            self.replicate(ctx);
        }
        Ok(())
    }

    /// The primary state, if this replica leads `epoch`.
    fn primary_in(&mut self, epoch: u32) -> Option<&mut Primary> {
        if epoch == self.epoch {
            self.primary.as_mut()
        } else {
            None
        }
    }

    /// Sends the backup everything from where it is believed to match.
    fn replicate(&mut self, ctx: &mut Ctx<'_, PbNode>) {
        let primary = self.primary.as_mut().expect("only a primary replicates");
        debug_assert!(!primary.in_flight);
        let prev = primary.next_len as usize;
        let prev_epoch = prev.checked_sub(1).map_or(0, |i| self.log[i].epoch);
        primary.in_flight = true;
        let msg = Msg::Append {
            epoch: self.epoch,
            prev_len: prev as u64,
            prev_epoch,
            entries: self.log[prev..].to_vec(),
        };
        ctx.send(self.backup(), msg);
        ctx.set_timer(Timer::AppendTimeout, APPEND_TIMEOUT_MS);
    }

    /// The election timeout fired: lead the next epoch of this replica's parity, unless
    /// this replica lacks data.
    fn take_over(&mut self, ctx: &mut Ctx<'_, PbNode>) -> Result<(), Halted> {
        if self.catching_up || self.primary.is_some() {
            self.arm_election(ctx);
            return Ok(());
        }
        let next = self.epoch + 1;
        let epoch = if next % 2 == self.parity() {
            next
        } else {
            next + 1
        };
        storage::store_epoch(ctx.disk(), epoch).map_err(|error| halt(ctx, error))?;
        self.epoch = epoch;
        self.primary = Some(Primary {
            next_len: self.log.len() as u64,
            in_flight: false,
            pending: BTreeMap::new(),
        });
        ctx.observe(Obs::BecamePrimary { epoch });
        ctx.cancel_timer(Timer::Election);
        ctx.set_timer(Timer::Heartbeat, HEARTBEAT_MS);
        self.replicate(ctx);
        Ok(())
    }

    /// A higher epoch exists: persist it and follow.
    fn adopt(&mut self, ctx: &mut Ctx<'_, PbNode>, epoch: u32) -> Result<(), Halted> {
        debug_assert!(epoch > self.epoch);
        storage::store_epoch(ctx.disk(), epoch).map_err(|error| halt(ctx, error))?;
        self.epoch = epoch;
        if let Some(primary) = self.primary.take() {
            for client in primary.pending.into_values() {
                ctx.send(client, Msg::NotPrimary);
            }
            ctx.cancel_timer(Timer::Heartbeat);
            ctx.cancel_timer(Timer::AppendTimeout);
        }
        self.arm_election(ctx);
        Ok(())
    }

    fn arm_election(&mut self, ctx: &mut Ctx<'_, PbNode>) {
        ctx.set_timer_jittered(Timer::Election, ELECTION_MS, ELECTION_JITTER_MS - 1);
    }
}

/// The replica halted: the handler must stop touching its disk and state. Handlers
/// return it up to `on_*`, which drop it.
struct Halted;

/// The disk failed in a way the replica cannot reason about (a failed sync above all):
/// stop, and let recovery start from what the disk holds.
fn halt(ctx: &mut Ctx<'_, PbNode>, error: DiskError) -> Halted {
    ctx.observe(Obs::Halted {
        reason: error.to_string(),
    });
    ctx.halt();
    Halted
}
