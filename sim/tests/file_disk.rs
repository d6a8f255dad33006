//! `FileDisk` against `SimDisk` without faults: the same operations give the same results
//! (contents, lengths, listings, and the errors by kind), so node code that runs on the
//! simulated disk runs unchanged on real files; and what was synced is there after the
//! disk is dropped and opened again.
#![cfg(unix)]

use std::path::PathBuf;
use std::sync::atomic::{AtomicU64, Ordering};

use odradek_sim::{Disk, DiskError, FileDisk, SimDisk, SimDiskOptions};
use proptest::prelude::*;

/// Names in two directories and the root, as partition logs and checkpoints use them.
const NAMES: [&str; 4] = ["a", "t-0/log", "t-0/index", "t-1/log"];

#[derive(Debug, Clone)]
enum Op {
    Create(usize),
    Write(usize, u64, Vec<u8>),
    SetLen(usize, u64),
    Sync(usize),
    SyncDir,
    Rename(usize, usize),
    Remove(usize),
    Read(usize, u64, u64),
}

fn op() -> impl Strategy<Value = Op> {
    let file = 0..NAMES.len();
    prop_oneof![
        file.clone().prop_map(Op::Create),
        (
            file.clone(),
            0..200u64,
            prop::collection::vec(any::<u8>(), 0..64)
        )
            .prop_map(|(f, o, d)| Op::Write(f, o, d)),
        (file.clone(), 0..300u64).prop_map(|(f, l)| Op::SetLen(f, l)),
        file.clone().prop_map(Op::Sync),
        Just(Op::SyncDir),
        (file.clone(), file.clone()).prop_map(|(a, b)| Op::Rename(a, b)),
        file.clone().prop_map(Op::Remove),
        (file, 0..300u64, 0..64u64).prop_map(|(f, o, l)| Op::Read(f, o, l)),
    ]
}

/// A fresh directory under the system's temporary one, removed when dropped.
struct Scratch(PathBuf);

impl Scratch {
    fn new() -> Self {
        static NEXT: AtomicU64 = AtomicU64::new(0);
        let n = NEXT.fetch_add(1, Ordering::Relaxed);
        let dir =
            std::env::temp_dir().join(format!("odradek-file-disk-{}-{n}", std::process::id()));
        let _ = std::fs::remove_dir_all(&dir);
        Self(dir)
    }
}

impl Drop for Scratch {
    fn drop(&mut self) {
        let _ = std::fs::remove_dir_all(&self.0);
    }
}

/// An error by what it says happened, without the message of the operating system.
fn kind(result: &Result<impl std::fmt::Debug, DiskError>) -> String {
    match result {
        Ok(_) => "ok".into(),
        Err(DiskError::NotFound { name }) => format!("not found {name}"),
        Err(DiskError::AlreadyExists { name }) => format!("exists {name}"),
        Err(DiskError::ReadPastEnd { name, .. }) => format!("past end {name}"),
        Err(other) => format!("{other}"),
    }
}

fn apply(disk: &mut dyn Disk, op: &Op) -> String {
    match op {
        Op::Create(f) => kind(&disk.create(NAMES[*f])),
        Op::Write(f, offset, data) => kind(&disk.write_at(NAMES[*f], *offset, data)),
        Op::SetLen(f, len) => kind(&disk.set_len(NAMES[*f], *len)),
        Op::Sync(f) => kind(&disk.sync(NAMES[*f])),
        Op::SyncDir => kind(&disk.sync_dir()),
        Op::Rename(a, b) => kind(&disk.rename(NAMES[*a], NAMES[*b])),
        Op::Remove(f) => kind(&disk.remove(NAMES[*f])),
        Op::Read(f, offset, len) => {
            let read = disk.read_vec(NAMES[*f], *offset, *len as usize);
            match read {
                Ok(bytes) => format!("read {bytes:?}"),
                Err(_) => kind(&read),
            }
        }
    }
}

/// Every file with its contents.
fn contents(disk: &dyn Disk) -> Vec<(String, Vec<u8>)> {
    (disk.list().into_iter())
        .map(|name| {
            let bytes = disk.read_all(&name).expect("a listed file reads");
            (name, bytes)
        })
        .collect()
}

proptest! {
    #![proptest_config(ProptestConfig::with_cases(128))]

    #[test]
    fn file_disk_does_what_the_simulated_disk_does(ops in prop::collection::vec(op(), 1..40)) {
        let scratch = Scratch::new();
        let mut real = FileDisk::open(&scratch.0).expect("a scratch directory");
        let mut sim = SimDisk::new(SimDiskOptions::default());
        for op in &ops {
            let (got, want) = (apply(&mut real, op), apply(&mut sim, op));
            prop_assert_eq!(got, want, "{:?}", op);
        }
        prop_assert_eq!(contents(&real), contents(&sim));
    }
}

#[test]
fn what_was_written_and_synced_is_there_when_the_disk_is_opened_again() {
    let scratch = Scratch::new();
    let mut disk = FileDisk::open(&scratch.0).expect("a scratch directory");
    disk.create("t-0/00000000000000000000.log")
        .expect("created");
    disk.write_at("t-0/00000000000000000000.log", 0, b"batch")
        .expect("written");
    disk.sync("t-0/00000000000000000000.log").expect("synced");
    disk.create("tmp").expect("created");
    disk.rename("tmp", "t-0/checkpoint").expect("renamed");
    disk.sync_dir().expect("directories synced");
    drop(disk);
    let disk = FileDisk::open(&scratch.0).expect("opened again");
    assert_eq!(
        disk.list(),
        ["t-0/00000000000000000000.log", "t-0/checkpoint"]
    );
    assert_eq!(
        disk.read_all("t-0/00000000000000000000.log").expect("read"),
        b"batch"
    );
}

#[test]
fn a_name_outside_the_directory_is_refused() {
    let scratch = Scratch::new();
    let mut disk = FileDisk::open(&scratch.0).expect("a scratch directory");
    for name in [
        "",
        "/etc/passwd",
        "../escape",
        "t-0/../../escape",
        "a//b",
        "./a",
    ] {
        let error = disk.create(name).expect_err(name);
        assert!(matches!(error, DiskError::Io { .. }), "{name}: {error}");
    }
    assert!(disk.list().is_empty());
}
