//! `SimDisk` against an independent model: the page cache, each power-loss mode and each
//! injected fault do exactly what DESIGN's "Disk semantics" says, no more.

use std::collections::BTreeMap;

use odradek_sim::{
    ByteRange, Disk, DiskError, FaultKind, FaultReport, PowerLoss, SimDisk, SimDiskOptions,
};
use proptest::prelude::*;

/// Small blocks, so short writes span several and torn writes and subsets have choices.
const BLOCK: u64 = 64;
const NAMES: [&str; 3] = ["a", "b", "c"];
const CASES: u32 = 512;

#[derive(Debug, Clone)]
enum Op {
    Create(usize),
    Write {
        file: usize,
        offset: u64,
        len: usize,
        fill: u8,
    },
    SetLen {
        file: usize,
        len: u64,
    },
    Sync(usize),
    SyncDir,
    Rename(usize, usize),
    Remove(usize),
    Read {
        file: usize,
        offset: u64,
        len: u64,
    },
    FlipBit {
        file: usize,
        offset: u64,
        bit: u8,
    },
    FailNextSync,
    ReadError {
        file: usize,
        offset: u64,
        len: u64,
    },
}

fn op(faults: bool) -> impl Strategy<Value = Op> {
    let file = 0..NAMES.len();
    let plain = prop_oneof![
        3 => file.clone().prop_map(Op::Create),
        6 => (file.clone(), 0..400u64, 0..200usize, any::<u8>())
            .prop_map(|(file, offset, len, fill)| Op::Write { file, offset, len, fill }),
        1 => (file.clone(), 0..400u64).prop_map(|(file, len)| Op::SetLen { file, len }),
        3 => file.clone().prop_map(Op::Sync),
        2 => Just(Op::SyncDir),
        1 => (file.clone(), file.clone()).prop_map(|(from, to)| Op::Rename(from, to)),
        1 => file.clone().prop_map(Op::Remove),
        2 => (file.clone(), 0..400u64, 0..100u64).prop_map(|(file, offset, len)| Op::Read { file, offset, len }),
    ];
    if !faults {
        return plain.boxed();
    }
    prop_oneof![
        12 => plain,
        1 => (file.clone(), any::<u64>(), 0..8u8).prop_map(|(file, offset, bit)| Op::FlipBit { file, offset, bit }),
        1 => Just(Op::FailNextSync),
        1 => (file, 0..400u64, 1..50u64).prop_map(|(file, offset, len)| Op::ReadError { file, offset, len }),
    ]
    .boxed()
}

fn mode() -> impl Strategy<Value = PowerLoss> {
    prop::sample::select(PowerLoss::ALL.to_vec())
}

#[derive(Debug, Clone)]
enum FileOp {
    Write(u64, Vec<u8>),
    SetLen(u64),
}

fn apply(image: &mut Vec<u8>, op: &FileOp) {
    match op {
        FileOp::Write(offset, data) => {
            let start = *offset as usize;
            if image.len() < start + data.len() {
                image.resize(start + data.len(), 0);
            }
            image[start..start + data.len()].copy_from_slice(data);
        }
        FileOp::SetLen(len) => image.resize(*len as usize, 0),
    }
}

#[derive(Debug, Clone, Default)]
struct ModelFile {
    durable: Vec<u8>,
    ops: Vec<FileOp>,
    live: Vec<u8>,
    /// Content as of the last successful sync, untouched by bit flips: what the user
    /// believes durable.
    oracle: Vec<u8>,
    /// Whether anything was written or resized since that sync (those bytes are not
    /// "synced" in the user's sense).
    dirty: Vec<ByteRange>,
    read_errors: Vec<ByteRange>,
}

impl ModelFile {
    fn replay(&self, count: usize) -> Vec<u8> {
        let mut image = self.durable.clone();
        self.ops[..count]
            .iter()
            .for_each(|op| apply(&mut image, op));
        image
    }
}

#[derive(Debug, Clone)]
enum DirOp {
    Create(String, usize),
    Rename(String, String),
    Remove(String),
}

fn apply_dir(names: &mut BTreeMap<String, usize>, op: &DirOp) {
    match op {
        DirOp::Create(name, id) => {
            names.insert(name.clone(), *id);
        }
        DirOp::Rename(from, to) => {
            let id = names.remove(from).expect("model renames existing names");
            names.insert(to.clone(), id);
        }
        DirOp::Remove(name) => {
            names.remove(name);
        }
    }
}

/// An independent model of the disk: names map to file ids that are never reused.
#[derive(Debug, Default)]
struct Model {
    files: Vec<ModelFile>,
    names: BTreeMap<String, usize>,
    durable_names: BTreeMap<String, usize>,
    dir_ops: Vec<DirOp>,
    failing_syncs: u32,
}

impl Model {
    fn id(&self, name: &str) -> Option<usize> {
        self.names.get(name).copied()
    }

    fn dir(&mut self, op: DirOp) {
        apply_dir(&mut self.names, &op);
        self.dir_ops.push(op);
    }

    /// Applies `op` to the disk and the model alike and checks they agree.
    fn step(&mut self, disk: &mut SimDisk, op: &Op) {
        match op {
            Op::Create(f) => {
                let name = NAMES[*f];
                let result = disk.create(name);
                if self.id(name).is_some() {
                    assert!(matches!(result, Err(DiskError::AlreadyExists { .. })));
                } else {
                    result.unwrap();
                    self.files.push(ModelFile::default());
                    self.dir(DirOp::Create(name.to_owned(), self.files.len() - 1));
                }
            }
            Op::Write {
                file,
                offset,
                len,
                fill,
            } => {
                let data: Vec<u8> = (0..*len).map(|i| fill.wrapping_add(i as u8) | 1).collect();
                let result = disk.write_at(NAMES[*file], *offset, &data);
                self.file_op(NAMES[*file], result, FileOp::Write(*offset, data));
            }
            Op::SetLen { file, len } => {
                let result = disk.set_len(NAMES[*file], *len);
                self.file_op(NAMES[*file], result, FileOp::SetLen(*len));
            }
            Op::Sync(f) => self.sync(disk, NAMES[*f]),
            Op::SyncDir => {
                disk.sync_dir().unwrap();
                self.durable_names = self.names.clone();
                self.dir_ops.clear();
            }
            Op::Rename(from, to) => {
                let result = disk.rename(NAMES[*from], NAMES[*to]);
                match self.id(NAMES[*from]) {
                    None => assert!(matches!(result, Err(DiskError::NotFound { .. }))),
                    Some(_) => {
                        result.unwrap();
                        if from != to {
                            self.dir(DirOp::Rename(
                                NAMES[*from].to_owned(),
                                NAMES[*to].to_owned(),
                            ));
                        }
                    }
                }
            }
            Op::Remove(f) => {
                let result = disk.remove(NAMES[*f]);
                match self.id(NAMES[*f]) {
                    None => assert!(matches!(result, Err(DiskError::NotFound { .. }))),
                    Some(_) => {
                        result.unwrap();
                        self.dir(DirOp::Remove(NAMES[*f].to_owned()));
                    }
                }
            }
            Op::Read { file, offset, len } => self.read(disk, NAMES[*file], *offset, *len),
            Op::FlipBit { file, offset, bit } => {
                let name = NAMES[*file];
                let Some(id) = self.id(name) else {
                    assert!(disk.flip_bit_at(name, *offset, *bit).is_err());
                    return;
                };
                let model = &mut self.files[id];
                if model.live.is_empty() {
                    return;
                }
                let at = *offset % model.live.len() as u64;
                disk.flip_bit_at(name, at, *bit).unwrap();
                let mask = 1u8 << bit;
                model.live[at as usize] ^= mask;
                if let Some(byte) = model.durable.get_mut(at as usize) {
                    *byte ^= mask;
                }
                for op in &mut model.ops {
                    if let FileOp::Write(start, data) = op {
                        if let Some(byte) = at
                            .checked_sub(*start)
                            .and_then(|i| data.get_mut(i as usize))
                        {
                            *byte ^= mask;
                        }
                    }
                }
            }
            Op::FailNextSync => {
                disk.fail_next_sync();
                self.failing_syncs += 1;
            }
            Op::ReadError { file, offset, len } => {
                let name = NAMES[*file];
                let range = ByteRange::new(*offset, offset + len);
                let result = disk.inject_read_error(name, range);
                match self.id(name) {
                    None => assert!(matches!(result, Err(DiskError::NotFound { .. }))),
                    Some(id) => {
                        result.unwrap();
                        self.files[id].read_errors.push(range);
                    }
                }
            }
        }
    }

    fn file_op(&mut self, name: &str, result: Result<(), DiskError>, op: FileOp) {
        let Some(id) = self.id(name) else {
            assert!(
                matches!(result, Err(DiskError::NotFound { .. })),
                "{result:?}"
            );
            return;
        };
        result.unwrap();
        let file = &mut self.files[id];
        apply(&mut file.live, &op);
        file.dirty.push(match &op {
            FileOp::Write(offset, data) => ByteRange::new(*offset, offset + data.len() as u64),
            FileOp::SetLen(len) => ByteRange::new(*len, u64::MAX),
        });
        file.ops.push(op);
    }

    fn sync(&mut self, disk: &mut SimDisk, name: &str) {
        let result = disk.sync(name);
        let Some(id) = self.id(name) else {
            assert!(matches!(result, Err(DiskError::NotFound { .. })));
            return;
        };
        let file = &mut self.files[id];
        if self.failing_syncs > 0 {
            self.failing_syncs -= 1;
            assert!(
                matches!(result, Err(DiskError::SyncFailed { .. })),
                "{result:?}"
            );
            file.ops.clear();
            // Dropped data stays readable: the live view is unchanged.
            return;
        }
        result.unwrap();
        file.durable = file.replay(file.ops.len());
        file.ops.clear();
        file.oracle = file.live.clone();
        file.dirty.clear();
        if file.durable != file.live {
            // An earlier failed sync orphaned data: the user must not count it as synced.
            let orphaned = ranges_where(&file.durable, &file.live);
            file.dirty.extend(orphaned);
        }
    }

    fn read(&self, disk: &SimDisk, name: &str, offset: u64, len: u64) {
        let result = disk.read_vec(name, offset, len as usize);
        let Some(id) = self.id(name) else {
            assert!(matches!(result, Err(DiskError::NotFound { .. })));
            return;
        };
        let file = &self.files[id];
        let wanted = ByteRange::new(offset, offset + len);
        if offset + len > file.live.len() as u64 {
            assert!(
                matches!(result, Err(DiskError::ReadPastEnd { .. })),
                "{result:?}"
            );
        } else if len > 0 && file.read_errors.iter().any(|bad| bad.overlaps(&wanted)) {
            assert!(
                matches!(result, Err(DiskError::ReadFailed { .. })),
                "{result:?}"
            );
        } else {
            assert_eq!(
                result.unwrap(),
                &file.live[offset as usize..(offset + len) as usize]
            );
        }
    }

    /// Checks every file reads as the model's live view.
    fn assert_live(&self, disk: &SimDisk) {
        assert_eq!(disk.list(), self.names.keys().cloned().collect::<Vec<_>>());
        for (name, id) in &self.names {
            assert_eq!(
                disk.read_all(name).unwrap(),
                self.files[*id].live,
                "file {name}"
            );
        }
    }
}

fn ranges_where(a: &[u8], b: &[u8]) -> Vec<ByteRange> {
    let len = a.len().max(b.len());
    (0..len)
        .filter(|&i| a.get(i) != b.get(i))
        .map(|i| ByteRange::new(i as u64, i as u64 + 1))
        .collect()
}

/// Answers choices from a fixed list, cycling, each reduced into range.
struct Script {
    answers: Vec<usize>,
    next: usize,
}

impl Script {
    fn chooser(&mut self) -> impl FnMut(usize) -> usize + '_ {
        move |n| {
            let answer = self.answers[self.next % self.answers.len()] % n;
            self.next += 1;
            answer
        }
    }
}

fn run(ops: &[Op]) -> (SimDisk, Model) {
    let mut disk = SimDisk::new(SimDiskOptions { block_size: BLOCK });
    let mut model = Model::default();
    for op in ops {
        model.step(&mut disk, op);
        model.assert_live(&disk);
    }
    (disk, model)
}

/// Whether `image` is one of the states `mode` may leave of `file`.
fn allowed(file: &ModelFile, mode: PowerLoss, image: &[u8]) -> bool {
    let n = file.ops.len();
    let full = file.replay(n);
    match mode {
        PowerLoss::LoseAll => image == file.durable,
        PowerLoss::KeepAll => image == full,
        PowerLoss::Prefix => (0..=n).any(|k| image == file.replay(k)),
        PowerLoss::SizeOnly => {
            let mut expected = file.durable.clone();
            expected.resize(full.len(), 0);
            image == expected || n == 0 && image == file.durable
        }
        PowerLoss::Subset => subset_allowed(file, &full, image),
        PowerLoss::Torn => {
            n == 0 && image == file.durable || (0..n).any(|k| torn_allowed(file, k, image))
        }
    }
}

fn subset_allowed(file: &ModelFile, full: &[u8], image: &[u8]) -> bool {
    if image.len() != file.durable.len() && image.len() != full.len() {
        return false;
    }
    let old = |i: usize| file.durable.get(i).copied().unwrap_or(0);
    let new = |i: usize| full.get(i).copied().unwrap_or_else(|| old(i));
    image
        .chunks(BLOCK as usize)
        .enumerate()
        .all(|(block, bytes)| {
            let start = block * BLOCK as usize;
            let is =
                |f: &dyn Fn(usize) -> u8| bytes.iter().enumerate().all(|(i, b)| *b == f(start + i));
            is(&old) || is(&new)
        })
}

fn torn_allowed(file: &ModelFile, k: usize, image: &[u8]) -> bool {
    let before = file.replay(k);
    let FileOp::Write(offset, data) = &file.ops[k] else {
        return image == before;
    };
    if data.is_empty() {
        return image == before;
    }
    let end = offset + data.len() as u64;
    let first = offset / BLOCK;
    let blocks = (end - 1) / BLOCK - first + 1;
    (0..blocks).any(|kept| {
        let kept_end = ((first + kept) * BLOCK).clamp(*offset, end);
        let mut expected = before.clone();
        apply(
            &mut expected,
            &FileOp::Write(*offset, data[..(kept_end - offset) as usize].to_vec()),
        );
        image == expected
    })
}

proptest! {
    #![proptest_config(ProptestConfig::with_cases(CASES))]

    /// After any operations and a power loss in any mode, the namespace is the durable one
    /// plus a prefix of the directory journal, and each file is its durable content plus
    /// exactly what the mode keeps.
    #[test]
    fn power_loss_keeps_durable_state_plus_what_the_mode_allows(
        ops in prop::collection::vec(op(false), 1..60),
        mode in mode(),
        answers in prop::collection::vec(0usize..1000, 1..40),
    ) {
        let (mut disk, model) = run(&ops);
        let mut script = Script { answers, next: 0 };
        disk.power_loss(mode, &mut script.chooser());

        // Several journal prefixes may give the same names (a rename over a file): one of
        // them must explain both the names and every file's content.
        let explained = (0..=model.dir_ops.len()).any(|k| {
            let mut names = model.durable_names.clone();
            model.dir_ops[..k].iter().for_each(|op| apply_dir(&mut names, op));
            names.keys().cloned().collect::<Vec<_>>() == disk.list()
                && match mode {
                    PowerLoss::LoseAll => k == 0,
                    PowerLoss::KeepAll => k == model.dir_ops.len(),
                    _ => true,
                }
                && names.iter().all(|(name, id)| {
                    allowed(&model.files[*id], mode, &disk.read_all(name).unwrap())
                })
        });
        prop_assert!(explained, "mode {:?} left {:?}", mode, disk.list());
        for name in disk.list() {
            prop_assert!(!disk.has_pending(&name));
        }
        // A second power loss finds nothing pending and changes nothing.
        let before: Vec<_> = disk.list().iter().map(|name| disk.read_all(name).unwrap()).collect();
        disk.take_reports();
        disk.power_loss(PowerLoss::KeepAll, &mut |_| 0);
        let after: Vec<_> = disk.list().iter().map(|name| disk.read_all(name).unwrap()).collect();
        prop_assert_eq!(before, after);
        prop_assert!(disk.take_reports().is_empty());
    }

    /// A power loss that drops everything pending undoes unsynced truncations, renames,
    /// removals and writes: the disk reads exactly as at the last syncs.
    #[test]
    fn unsynced_changes_vanish_when_power_loss_drops_all_pending(
        contents in prop::collection::vec(prop::collection::vec(any::<u8>(), 0..300), NAMES.len()),
        later in prop::collection::vec(op(false).prop_filter("no syncs", |op| !matches!(op, Op::Sync(_) | Op::SyncDir)), 1..40),
    ) {
        let mut disk = SimDisk::new(SimDiskOptions { block_size: BLOCK });
        for (name, content) in NAMES.iter().zip(&contents) {
            disk.create(name).unwrap();
            disk.write_at(name, 0, content).unwrap();
            disk.sync(name).unwrap();
        }
        disk.sync_dir().unwrap();
        let snapshot = disk.clone();
        let mut model = Model::default();
        // The model starts from the same synced files.
        for (name, content) in NAMES.iter().zip(&contents) {
            let file = ModelFile { durable: content.clone(), live: content.clone(), oracle: content.clone(), ..Default::default() };
            model.files.push(file);
            model.names.insert((*name).to_owned(), model.files.len() - 1);
        }
        model.durable_names = model.names.clone();
        for op in &later {
            model.step(&mut disk, op);
        }
        disk.power_loss(PowerLoss::LoseAll, &mut |_| unreachable!("LoseAll asks nothing"));
        disk.take_reports();
        prop_assert_eq!(&disk, &snapshot);
        for (name, content) in NAMES.iter().zip(&contents) {
            prop_assert_eq!(&disk.read_all(name).unwrap(), content);
        }
    }

    /// Whatever faults fire, every byte the user synced (and has not overwritten since)
    /// reads back after a power loss unless a reported fault range covers it.
    #[test]
    fn synced_bytes_outside_reported_fault_ranges_survive(
        ops in prop::collection::vec(op(true), 1..80),
        mode in mode(),
        answers in prop::collection::vec(0usize..1000, 1..40),
    ) {
        let mut disk = SimDisk::new(SimDiskOptions { block_size: BLOCK });
        let mut model = Model::default();
        // Reports name files as they were named when the fault fired; track them by id.
        let mut damage: Vec<(usize, ByteRange)> = Vec::new();
        let mut collect = |disk: &mut SimDisk, model: &Model| {
            for report in disk.take_reports() {
                damage.push((model.names[&report.name], report.range));
            }
        };
        for op in &ops {
            model.step(&mut disk, op);
            collect(&mut disk, &model);
        }
        let mut script = Script { answers, next: 0 };
        disk.power_loss(mode, &mut script.chooser());
        collect(&mut disk, &model);
        disk.heal();

        // Only files whose names are durable and untouched by pending directory operations.
        let touched_names: Vec<&str> = model.dir_ops.iter().flat_map(|op| match op {
            DirOp::Create(name, _) | DirOp::Remove(name) => vec![name.as_str()],
            DirOp::Rename(from, to) => vec![from.as_str(), to.as_str()],
        }).collect();
        for (name, id) in &model.durable_names {
            if touched_names.contains(&name.as_str()) || model.names.get(name) != Some(id) {
                continue;
            }
            let file = &model.files[*id];
            let image = disk.read_all(name).unwrap();
            let damaged = |i: u64| damage.iter().any(|(at, range)| at == id && range.contains(i))
                || file.dirty.iter().any(|d| d.contains(i));
            for (i, expected) in file.oracle.iter().enumerate() {
                if !damaged(i as u64) {
                    prop_assert_eq!(image.get(i), Some(expected), "file {} byte {} mode {:?}", name, i, mode);
                }
            }
        }
    }
}

#[test]
fn failed_sync_keeps_data_readable_but_not_durable_and_next_sync_succeeds() {
    let mut disk = SimDisk::default();
    disk.create("f").unwrap();
    disk.sync_dir().unwrap();
    disk.write_at("f", 0, b"synced").unwrap();
    disk.sync("f").unwrap();
    disk.write_at("f", 6, b" lost").unwrap();
    disk.fail_next_sync();
    assert_eq!(
        disk.sync("f"),
        Err(DiskError::SyncFailed { name: "f".into() })
    );
    assert_eq!(
        disk.take_reports(),
        vec![FaultReport {
            name: "f".into(),
            range: ByteRange::new(6, 11),
            kind: FaultKind::SyncFailed
        }]
    );
    assert_eq!(disk.read_all("f").unwrap(), b"synced lost");
    assert_eq!(disk.sync("f"), Ok(()));
    disk.power_loss(PowerLoss::KeepAll, &mut |_| 0);
    assert_eq!(disk.read_all("f").unwrap(), b"synced");
}

#[test]
fn full_disk_rejects_growth_and_writes_nothing() {
    let mut disk = SimDisk::default();
    disk.create("f").unwrap();
    disk.set_capacity(Some(8));
    disk.write_at("f", 0, b"12345678").unwrap();
    let err = disk.write_at("f", 8, b"9").unwrap_err();
    assert_eq!(
        err,
        DiskError::Full {
            name: "f".into(),
            needed: 9,
            capacity: 8
        }
    );
    assert_eq!(disk.read_all("f").unwrap(), b"12345678");
    // Overwrites in place and shrinking still work on a full disk.
    disk.write_at("f", 0, b"abc").unwrap();
    disk.set_len("f", 4).unwrap();
    assert_eq!(disk.read_all("f").unwrap(), b"abc4");
    disk.heal();
    disk.write_at("f", 4, b"more").unwrap();
}

#[test]
fn reads_past_end_and_of_missing_files_are_errors() {
    let mut disk = SimDisk::default();
    assert_eq!(
        disk.read_vec("nope", 0, 1),
        Err(DiskError::NotFound {
            name: "nope".into()
        })
    );
    disk.create("f").unwrap();
    disk.write_at("f", 0, b"abc").unwrap();
    assert!(matches!(
        disk.read_vec("f", 2, 2),
        Err(DiskError::ReadPastEnd { file_len: 3, .. })
    ));
    assert!(matches!(
        disk.read_vec("f", u64::MAX, 2),
        Err(DiskError::ReadPastEnd { .. })
    ));
    assert_eq!(disk.read_vec("f", 3, 0).unwrap(), b"");
}

#[test]
fn power_loss_reports_an_undurable_file_lost_whole() {
    let mut disk = SimDisk::default();
    disk.create("new").unwrap();
    disk.write_at("new", 0, b"hello").unwrap();
    disk.sync("new").unwrap();
    disk.power_loss(PowerLoss::LoseAll, &mut |_| 0);
    assert!(
        disk.list().is_empty(),
        "the create was never made durable by sync_dir"
    );
    assert_eq!(
        disk.take_reports(),
        vec![FaultReport {
            name: "new".into(),
            range: ByteRange::new(0, 5),
            kind: FaultKind::PowerLoss(PowerLoss::LoseAll)
        }]
    );
}

#[test]
fn bit_flip_changes_one_bit_and_reports_its_byte() {
    let mut disk = SimDisk::default();
    disk.create("f").unwrap();
    disk.write_at("f", 0, &[0u8; 10]).unwrap();
    let mut answers = [0usize, 7, 3].into_iter();
    assert!(disk.flip_bit(&mut |_| answers.next().unwrap()));
    let mut expected = [0u8; 10];
    expected[7] = 1 << 3;
    assert_eq!(disk.read_all("f").unwrap(), expected);
    assert_eq!(disk.take_reports()[0].range, ByteRange::new(7, 8));
    // The flip reached the pending write too: it survives the sync and a power loss.
    disk.sync("f").unwrap();
    disk.sync_dir().unwrap();
    disk.power_loss(PowerLoss::LoseAll, &mut |_| 0);
    assert_eq!(disk.read_all("f").unwrap(), expected);
}

#[test]
fn clones_share_file_contents_until_written() {
    let mut disk = SimDisk::default();
    disk.create("f").unwrap();
    disk.write_at("f", 0, &[7u8; 1 << 16]).unwrap();
    let mut copy = disk.clone();
    assert_eq!(copy, disk);
    copy.write_at("f", 0, b"x").unwrap();
    assert_ne!(copy, disk);
    assert_eq!(disk.read_vec("f", 0, 1).unwrap(), [7]);
}
