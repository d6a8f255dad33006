//! `SimDisk`: an in-memory disk with a page cache, a crash model and injected faults.
//!
//! Fault model. Each file has a durable image (what the platters hold) and the operations
//! written since its last `sync` (the dirty page cache); reads see the durable image with
//! those operations applied. The directory likewise has a durable namespace and the
//! creates, renames and removes since the last `sync_dir`, persisted in journal order.
//!
//! - A process crash changes nothing here: the page cache belongs to the OS and survives.
//! - A power loss applies one [`PowerLoss`] mode to everything pending, with every
//!   choice (how many operations, which blocks) asked of a [`Chooser`].
//! - A failed `sync` drops the file's pending operations from the writeback queue while
//!   reads still see them (Linux after fsyncgate); the next `sync` succeeds. A node must
//!   halt on the first failure, because the dropped data will never become durable.
//! - Read errors cover a byte range of a file until healed; bit flips change stored bytes;
//!   a capacity makes writes past it fail with nothing written.
//!
//! Recovery stays possible because nothing already durable is ever changed by a power loss:
//! only bit flips touch synced bytes, and every fault reports the byte ranges it touched
//! (drained with [`SimDisk::take_reports`]), so a test can demand that everything synced
//! outside them survives.
//!
//! `SimDisk` is plain data, `Clone + Eq + Hash`: file contents sit behind `Arc`, so a clone
//! costs one reference count per file, and the explorer can fingerprint whole worlds.

use std::collections::{BTreeMap, BTreeSet};
use std::sync::Arc;

use serde::{Deserialize, Serialize};

use crate::chooser::Chooser;
use crate::disk::{ByteRange, Disk, DiskError};

/// Block size used when none is given: the page size of a typical Linux system.
const BLOCK_SIZE_DEFAULT: u64 = 4096;

/// How a power loss treats what was pending (written but not synced).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord, Serialize, Deserialize)]
pub enum PowerLoss {
    /// Every pending operation is lost.
    LoseAll,
    /// Every pending operation persists.
    KeepAll,
    /// Per file, a chosen prefix of its pending operations persists whole, as does a
    /// chosen prefix of the directory operations.
    Prefix,
    /// Per file, any chosen subset of the blocks its pending writes dirtied persists (page
    /// caches write back out of order), with either the old or the new length.
    Subset,
    /// Per file, the new length persists but none of the pending data: a file that grew
    /// reads zeros where its new bytes should be.
    SizeOnly,
    /// Per file, a chosen prefix of pending operations persists whole and the next write is
    /// torn: only a chosen proper prefix of its blocks persists.
    Torn,
}

impl PowerLoss {
    /// Every mode, for the simulation driver.
    pub const ALL: [PowerLoss; 6] = [
        PowerLoss::LoseAll,
        PowerLoss::KeepAll,
        PowerLoss::Prefix,
        PowerLoss::Subset,
        PowerLoss::SizeOnly,
        PowerLoss::Torn,
    ];

    /// The small set the explorer enumerates (DESIGN: all lost, all kept, each prefix at
    /// write boundaries); the other modes multiply outcomes by the number of blocks.
    pub const EXPLORER: [PowerLoss; 3] =
        [PowerLoss::LoseAll, PowerLoss::KeepAll, PowerLoss::Prefix];
}

/// What kind of fault touched a byte range.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord, Serialize, Deserialize)]
pub enum FaultKind {
    /// A power loss changed or removed these bytes relative to what reads saw before it.
    PowerLoss(PowerLoss),
    /// Reads of these bytes fail until healed.
    ReadError,
    /// A bit in these bytes was flipped.
    BitFlip,
    /// A failed sync dropped these bytes from writeback: readable now, lost at power loss.
    SyncFailed,
}

/// One fault's footprint: which bytes of which file it touched.
#[derive(Debug, Clone, PartialEq, Eq, Hash, PartialOrd, Ord, Serialize, Deserialize)]
pub struct FaultReport {
    /// The file's name when the fault happened.
    pub name: String,
    /// The bytes touched. A file lost whole reports its former length.
    pub range: ByteRange,
    /// What happened to them.
    pub kind: FaultKind,
}

/// Fixed properties of a simulated disk.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize)]
pub struct SimDiskOptions {
    /// Granularity of torn writes and of out-of-order writeback, in bytes.
    pub block_size: u64,
}

impl Default for SimDiskOptions {
    fn default() -> Self {
        Self {
            block_size: BLOCK_SIZE_DEFAULT,
        }
    }
}

/// Identifies a file's contents independently of its names, so a rename that is not yet
/// durable can be undone by a power loss without copying data.
type Inode = u32;

#[derive(Debug, Clone, PartialEq, Eq, Hash)]
enum FileOp {
    Write { offset: u64, data: Vec<u8> },
    SetLen(u64),
}

impl FileOp {
    fn apply(&self, image: &mut Vec<u8>) {
        match self {
            FileOp::Write { offset, data } => write_into(image, *offset, data),
            FileOp::SetLen(len) => image.resize(to_usize(*len), 0),
        }
    }
}

#[derive(Debug, Clone, PartialEq, Eq, Hash)]
enum DirOp {
    Create { name: String, inode: Inode },
    Rename { from: String, to: String },
    Remove { name: String },
}

impl DirOp {
    fn apply(&self, names: &mut BTreeMap<String, Inode>) {
        match self {
            DirOp::Create { name, inode } => {
                names.insert(name.clone(), *inode);
            }
            DirOp::Rename { from, to } => {
                if let Some(inode) = names.remove(from) {
                    names.insert(to.clone(), inode);
                }
            }
            DirOp::Remove { name } => {
                names.remove(name);
            }
        }
    }
}

#[derive(Debug, Clone, Default, PartialEq, Eq, Hash)]
struct File {
    /// What survives any power loss.
    durable: Vec<u8>,
    /// Operations since the last sync, in order; replayed over `durable` they give what a
    /// sync would make durable.
    pending: Vec<FileOp>,
    /// What reads see. Equals `durable` + `pending` unless a failed sync orphaned data.
    live: Vec<u8>,
}

impl File {
    /// `durable` with the first `count` pending operations replayed.
    fn replay(&self, count: usize) -> Vec<u8> {
        let mut image = self.durable.clone();
        for op in &self.pending[..count] {
            op.apply(&mut image);
        }
        image
    }

    /// Byte ranges the pending operations wrote, merged.
    fn pending_ranges(&self) -> Vec<ByteRange> {
        let ranges = self.pending.iter().filter_map(|op| match op {
            FileOp::Write { offset, data } => {
                Some(ByteRange::new(*offset, offset + data.len() as u64))
            }
            FileOp::SetLen(_) => None,
        });
        merge_ranges(ranges.collect())
    }

    /// Blocks dirtied by pending writes, ascending.
    fn dirty_blocks(&self, block_size: u64) -> BTreeSet<u64> {
        let mut blocks = BTreeSet::new();
        for range in self.pending_ranges() {
            if range.start < range.end {
                blocks.extend(range.start / block_size..=(range.end - 1) / block_size);
            }
        }
        blocks
    }

    /// The image a power loss in `mode` leaves, with choices asked of `chooser`.
    fn after_power_loss(
        &self,
        mode: PowerLoss,
        block_size: u64,
        chooser: &mut dyn Chooser,
    ) -> Vec<u8> {
        let count = self.pending.len();
        if count == 0 {
            return self.durable.clone();
        }
        match mode {
            PowerLoss::LoseAll => self.durable.clone(),
            PowerLoss::KeepAll => self.replay(count),
            PowerLoss::Prefix => self.replay(chooser.choose(count + 1)),
            PowerLoss::Subset => self.subset(block_size, chooser),
            PowerLoss::SizeOnly => {
                let mut image = self.durable.clone();
                image.resize(self.replay(count).len(), 0);
                image
            }
            PowerLoss::Torn => self.torn(block_size, chooser),
        }
    }

    fn subset(&self, block_size: u64, chooser: &mut dyn Chooser) -> Vec<u8> {
        let full = self.replay(self.pending.len());
        let len = if full.len() != self.durable.len() && chooser.choose(2) == 1 {
            full.len()
        } else {
            self.durable.len()
        };
        let mut image = self.durable.clone();
        image.resize(len, 0);
        for block in self.dirty_blocks(block_size) {
            if chooser.choose(2) == 0 {
                continue;
            }
            let start = to_usize(block * block_size);
            let end = to_usize((block + 1) * block_size).min(len).min(full.len());
            if start < end {
                image[start..end].copy_from_slice(&full[start..end]);
            }
        }
        image
    }

    fn torn(&self, block_size: u64, chooser: &mut dyn Chooser) -> Vec<u8> {
        let torn_index = chooser.choose(self.pending.len());
        let mut image = self.replay(torn_index);
        if let FileOp::Write { offset, data } = &self.pending[torn_index] {
            let end = offset + data.len() as u64;
            if data.is_empty() {
                return image;
            }
            let first_block = offset / block_size;
            let blocks = (end - 1) / block_size - first_block + 1;
            let kept_blocks = chooser.choose(to_usize(blocks)) as u64;
            let kept_end = ((first_block + kept_blocks) * block_size).clamp(*offset, end);
            write_into(&mut image, *offset, &data[..to_usize(kept_end - offset)]);
        }
        image
    }
}

/// An in-memory [`Disk`] with durable and pending state, a crash model and faults.
#[derive(Debug, Clone, PartialEq, Eq, Hash)]
pub struct SimDisk {
    options: SimDiskOptions,
    /// The namespace reads see.
    names: BTreeMap<String, Inode>,
    /// The namespace as of the last `sync_dir`.
    durable_names: BTreeMap<String, Inode>,
    /// Directory operations since the last `sync_dir`, in journal order.
    dir_pending: Vec<DirOp>,
    /// Every file either namespace refers to.
    files: BTreeMap<Inode, Arc<File>>,
    read_errors: BTreeMap<Inode, Vec<ByteRange>>,
    sync_failures_armed: u32,
    capacity: Option<u64>,
    reports: Vec<FaultReport>,
}

impl Default for SimDisk {
    fn default() -> Self {
        Self::new(SimDiskOptions::default())
    }
}

impl SimDisk {
    /// An empty disk.
    pub fn new(options: SimDiskOptions) -> Self {
        assert!(options.block_size > 0, "block size must be positive");
        Self {
            options,
            names: BTreeMap::new(),
            durable_names: BTreeMap::new(),
            dir_pending: Vec::new(),
            files: BTreeMap::new(),
            read_errors: BTreeMap::new(),
            sync_failures_armed: 0,
            capacity: None,
            reports: Vec::new(),
        }
    }

    /// The disk's fixed properties.
    pub fn options(&self) -> SimDiskOptions {
        self.options
    }

    /// Loses power: applies `mode` to every pending file and directory operation. Reports
    /// every byte range whose content reads differently afterwards.
    pub fn power_loss(&mut self, mode: PowerLoss, chooser: &mut dyn Chooser) {
        let before: BTreeMap<String, Arc<File>> = self
            .names
            .iter()
            .map(|(name, inode)| (name.clone(), Arc::clone(&self.files[inode])))
            .collect();

        let kept_dir_ops = match mode {
            _ if self.dir_pending.is_empty() => 0,
            PowerLoss::LoseAll => 0,
            PowerLoss::KeepAll => self.dir_pending.len(),
            _ => chooser.choose(self.dir_pending.len() + 1),
        };
        for op in &self.dir_pending[..kept_dir_ops] {
            op.apply(&mut self.durable_names);
        }
        self.dir_pending.clear();
        self.names = self.durable_names.clone();
        self.collect_garbage();

        let block_size = self.options.block_size;
        for file in self.files.values_mut() {
            if file.pending.is_empty() && file.live == file.durable {
                continue;
            }
            let image = file.after_power_loss(mode, block_size, chooser);
            *file = Arc::new(File {
                durable: image.clone(),
                pending: Vec::new(),
                live: image,
            });
        }

        for (name, old) in before {
            let new_live = self.names.get(&name).map(|inode| &self.files[inode].live);
            let ranges = match new_live {
                Some(new_live) => diff_ranges(&old.live, new_live),
                None if old.live.is_empty() => vec![ByteRange::new(0, 0)],
                None => vec![ByteRange::new(0, old.live.len() as u64)],
            };
            for range in ranges {
                self.reports.push(FaultReport {
                    name: name.clone(),
                    range,
                    kind: FaultKind::PowerLoss(mode),
                });
            }
        }
    }

    /// Makes reads of `range` in file `name` fail until [`SimDisk::heal`].
    pub fn inject_read_error(&mut self, name: &str, range: ByteRange) -> Result<(), DiskError> {
        let inode = self.inode(name)?;
        self.read_errors.entry(inode).or_default().push(range);
        self.reports.push(FaultReport {
            name: name.to_owned(),
            range,
            kind: FaultKind::ReadError,
        });
        Ok(())
    }

    /// Flips one chosen bit of one chosen non-empty file, in the cache and on the media
    /// alike. Returns false when every file is empty.
    pub fn flip_bit(&mut self, chooser: &mut dyn Chooser) -> bool {
        let candidates: Vec<(String, u64)> = self
            .names
            .iter()
            .map(|(name, inode)| (name.clone(), self.files[inode].live.len() as u64))
            .filter(|(_, len)| *len > 0)
            .collect();
        if candidates.is_empty() {
            return false;
        }
        let (name, len) = &candidates[chooser.choose(candidates.len())];
        let offset = chooser.choose(to_usize(*len)) as u64;
        let bit = chooser.choose(8) as u8;
        self.flip_bit_at(name, offset, bit)
            .expect("candidate offsets lie inside their files");
        true
    }

    /// Flips bit `bit` (0 = least significant) of the byte at `offset` of file `name`.
    pub fn flip_bit_at(&mut self, name: &str, offset: u64, bit: u8) -> Result<(), DiskError> {
        let inode = self.inode(name)?;
        let file = Arc::make_mut(self.files.get_mut(&inode).expect("named inodes exist"));
        let len = file.live.len() as u64;
        if offset >= len || bit >= 8 {
            return Err(DiskError::ReadPastEnd {
                name: name.to_owned(),
                offset,
                len: 1,
                file_len: len,
            });
        }
        let mask = 1u8 << bit;
        let at = to_usize(offset);
        file.live[at] ^= mask;
        if let Some(byte) = file.durable.get_mut(at) {
            *byte ^= mask;
        }
        for op in &mut file.pending {
            if let FileOp::Write {
                offset: start,
                data,
            } = op
            {
                if let Some(byte) = offset
                    .checked_sub(*start)
                    .and_then(|i| data.get_mut(to_usize(i)))
                {
                    *byte ^= mask;
                }
            }
        }
        self.reports.push(FaultReport {
            name: name.to_owned(),
            range: ByteRange::new(offset, offset + 1),
            kind: FaultKind::BitFlip,
        });
        Ok(())
    }

    /// Makes the next `sync` (of any file) fail, with Linux's semantics.
    pub fn fail_next_sync(&mut self) {
        self.sync_failures_armed += 1;
    }

    /// Limits the bytes all files may hold together; `None` removes the limit.
    pub fn set_capacity(&mut self, capacity: Option<u64>) {
        self.capacity = capacity;
    }

    /// Removes read errors, armed sync failures and the capacity limit. Data already
    /// damaged stays damaged.
    pub fn heal(&mut self) {
        self.read_errors.clear();
        self.sync_failures_armed = 0;
        self.capacity = None;
    }

    /// Takes the reports of every fault since the last call.
    pub fn take_reports(&mut self) -> Vec<FaultReport> {
        std::mem::take(&mut self.reports)
    }

    /// The content a power loss that loses everything pending would leave in `name`, or
    /// `None` if the name itself is not durable.
    pub fn durable_content(&self, name: &str) -> Option<&[u8]> {
        let inode = self.durable_names.get(name)?;
        Some(&self.files[inode].durable)
    }

    /// Whether `name` has data or a length not yet made durable by `sync`.
    pub fn has_pending(&self, name: &str) -> bool {
        self.names
            .get(name)
            .is_some_and(|inode| !self.files[inode].pending.is_empty())
    }

    /// Bytes all files hold together, as reads see them.
    pub fn used_bytes(&self) -> u64 {
        self.names
            .values()
            .map(|inode| self.files[inode].live.len() as u64)
            .sum()
    }

    fn inode(&self, name: &str) -> Result<Inode, DiskError> {
        self.names
            .get(name)
            .copied()
            .ok_or_else(|| DiskError::NotFound {
                name: name.to_owned(),
            })
    }

    fn file_mut(&mut self, name: &str) -> Result<&mut File, DiskError> {
        let inode = self.inode(name)?;
        Ok(Arc::make_mut(
            self.files.get_mut(&inode).expect("named inodes exist"),
        ))
    }

    /// The smallest free inode number, so equal histories of names give equal states.
    fn free_inode(&self) -> Inode {
        let mut candidate = 0;
        for &inode in self.files.keys() {
            if inode != candidate {
                break;
            }
            candidate += 1;
        }
        candidate
    }

    /// Drops files that neither namespace, nor a pending create a power loss may keep,
    /// can reach any more.
    fn collect_garbage(&mut self) {
        let created = self.dir_pending.iter().filter_map(|op| match op {
            DirOp::Create { inode, .. } => Some(inode),
            _ => None,
        });
        let reachable: BTreeSet<Inode> = self
            .names
            .values()
            .chain(self.durable_names.values())
            .chain(created)
            .copied()
            .collect();
        self.files.retain(|inode, _| reachable.contains(inode));
        self.read_errors
            .retain(|inode, _| reachable.contains(inode));
    }

    fn check_capacity(&self, name: &str, old_len: u64, new_len: u64) -> Result<(), DiskError> {
        let Some(capacity) = self.capacity else {
            return Ok(());
        };
        let needed = self.used_bytes() - old_len + new_len;
        if new_len > old_len && needed > capacity {
            return Err(DiskError::Full {
                name: name.to_owned(),
                needed,
                capacity,
            });
        }
        Ok(())
    }

    fn push_dir_op(&mut self, op: DirOp) {
        op.apply(&mut self.names);
        self.dir_pending.push(op);
        self.collect_garbage();
    }
}

impl Disk for SimDisk {
    fn create(&mut self, name: &str) -> Result<(), DiskError> {
        if self.names.contains_key(name) {
            return Err(DiskError::AlreadyExists {
                name: name.to_owned(),
            });
        }
        let inode = self.free_inode();
        self.files.insert(inode, Arc::new(File::default()));
        self.push_dir_op(DirOp::Create {
            name: name.to_owned(),
            inode,
        });
        Ok(())
    }

    fn write_at(&mut self, name: &str, offset: u64, data: &[u8]) -> Result<(), DiskError> {
        let old_len = self.len(name)?;
        let end = offset
            .checked_add(data.len() as u64)
            .ok_or_else(|| DiskError::Full {
                name: name.to_owned(),
                needed: u64::MAX,
                capacity: self.capacity.unwrap_or(u64::MAX),
            })?;
        self.check_capacity(name, old_len, old_len.max(end))?;
        let file = self.file_mut(name)?;
        let op = FileOp::Write {
            offset,
            data: data.to_vec(),
        };
        op.apply(&mut file.live);
        file.pending.push(op);
        Ok(())
    }

    fn read_at(&self, name: &str, offset: u64, buf: &mut [u8]) -> Result<(), DiskError> {
        let inode = self.inode(name)?;
        let live = &self.files[&inode].live;
        let file_len = live.len() as u64;
        let len = buf.len() as u64;
        let end = offset.checked_add(len).filter(|end| *end <= file_len);
        let Some(end) = end else {
            return Err(DiskError::ReadPastEnd {
                name: name.to_owned(),
                offset,
                len,
                file_len,
            });
        };
        let wanted = ByteRange::new(offset, end);
        let failing = self.read_errors.get(&inode).into_iter().flatten();
        if len > 0 && failing.into_iter().any(|bad| bad.overlaps(&wanted)) {
            return Err(DiskError::ReadFailed {
                name: name.to_owned(),
                offset,
                len,
            });
        }
        buf.copy_from_slice(&live[to_usize(offset)..to_usize(end)]);
        Ok(())
    }

    fn len(&self, name: &str) -> Result<u64, DiskError> {
        let inode = self.inode(name)?;
        Ok(self.files[&inode].live.len() as u64)
    }

    fn set_len(&mut self, name: &str, len: u64) -> Result<(), DiskError> {
        let old_len = self.len(name)?;
        self.check_capacity(name, old_len, len)?;
        let file = self.file_mut(name)?;
        let op = FileOp::SetLen(len);
        op.apply(&mut file.live);
        file.pending.push(op);
        Ok(())
    }

    fn sync(&mut self, name: &str) -> Result<(), DiskError> {
        let inode = self.inode(name)?;
        if self.sync_failures_armed > 0 {
            self.sync_failures_armed -= 1;
            let file = Arc::make_mut(self.files.get_mut(&inode).expect("named inodes exist"));
            let dropped = file.pending_ranges();
            file.pending.clear();
            for range in dropped {
                self.reports.push(FaultReport {
                    name: name.to_owned(),
                    range,
                    kind: FaultKind::SyncFailed,
                });
            }
            return Err(DiskError::SyncFailed {
                name: name.to_owned(),
            });
        }
        let file = Arc::make_mut(self.files.get_mut(&inode).expect("named inodes exist"));
        // In place: a sync costs what was written since the last one, not the file's size.
        for op in file.pending.drain(..) {
            op.apply(&mut file.durable);
        }
        Ok(())
    }

    fn sync_dir(&mut self) -> Result<(), DiskError> {
        self.durable_names = self.names.clone();
        self.dir_pending.clear();
        self.collect_garbage();
        Ok(())
    }

    fn rename(&mut self, from: &str, to: &str) -> Result<(), DiskError> {
        self.inode(from)?;
        if from != to {
            self.push_dir_op(DirOp::Rename {
                from: from.to_owned(),
                to: to.to_owned(),
            });
        }
        Ok(())
    }

    fn remove(&mut self, name: &str) -> Result<(), DiskError> {
        self.inode(name)?;
        self.push_dir_op(DirOp::Remove {
            name: name.to_owned(),
        });
        Ok(())
    }

    fn list(&self) -> Vec<String> {
        self.names.keys().cloned().collect()
    }
}

fn to_usize(value: u64) -> usize {
    usize::try_from(value).expect("simulated files fit in memory")
}

fn write_into(image: &mut Vec<u8>, offset: u64, data: &[u8]) {
    let start = to_usize(offset);
    let end = start + data.len();
    if image.len() < end {
        image.resize(end, 0);
    }
    image[start..end].copy_from_slice(data);
}

/// Sorts and merges overlapping or touching ranges.
fn merge_ranges(mut ranges: Vec<ByteRange>) -> Vec<ByteRange> {
    ranges.sort();
    let mut merged: Vec<ByteRange> = Vec::with_capacity(ranges.len());
    for range in ranges {
        match merged.last_mut() {
            Some(last) if range.start <= last.end => last.end = last.end.max(range.end),
            _ => merged.push(range),
        }
    }
    merged
}

/// The ranges where `new` differs from `old`, bytes past either end included.
fn diff_ranges(old: &[u8], new: &[u8]) -> Vec<ByteRange> {
    let common = old.len().min(new.len());
    let mut ranges = Vec::new();
    let mut start = None;
    for i in 0..common {
        match (old[i] != new[i], start) {
            (true, None) => start = Some(i),
            (false, Some(s)) => {
                ranges.push(ByteRange::new(s as u64, i as u64));
                start = None;
            }
            _ => {}
        }
    }
    let tail_end = old.len().max(new.len());
    match start {
        Some(s) => ranges.push(ByteRange::new(s as u64, tail_end as u64)),
        None if tail_end > common => ranges.push(ByteRange::new(common as u64, tail_end as u64)),
        None => {}
    }
    ranges
}
