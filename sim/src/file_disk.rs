//! `FileDisk`: the [`Disk`] trait on a real directory, for drivers outside the simulation
//! (the real mode). The node code that recovers from a `SimDisk` after a simulated power
//! loss recovers from these files after a real one.
//!
//! A name maps to the path of the same name under the root (`"t-0/0.log"` is the file
//! `0.log` in the directory `t-0`); directories are made as names need them and never
//! appear in [`Disk::list`]. Durability follows the trait: [`Disk::sync`] is
//! `File::sync_all` (fsync on Linux; on macOS the standard library issues `F_FULLFSYNC`,
//! since plain fsync there does not reach the platter), and [`Disk::sync_dir`] fsyncs every
//! directory whose entries changed since the last one, the root included, so a create,
//! rename or remove survives a power loss only once it returns. Errors of the operating
//! system come back as [`DiskError::Io`] with the name and the error; a name that would
//! leave the root (empty, absolute, `.` or `..` components) is refused the same way.

use std::cell::RefCell;
use std::collections::{BTreeMap, BTreeSet};
use std::fs::{self, File, OpenOptions};
use std::io::{self, ErrorKind};
use std::os::unix::fs::FileExt;
use std::path::{Path, PathBuf};

use crate::disk::{Disk, DiskError};

/// A [`Disk`] over the files of one directory.
#[derive(Debug)]
pub struct FileDisk {
    root: PathBuf,
    /// Open handles by name, so each operation does not reopen its file; dropped on rename
    /// and remove.
    open: RefCell<BTreeMap<String, File>>,
    /// Directories whose entries changed since the last `sync_dir`.
    dirty: BTreeSet<PathBuf>,
}

impl FileDisk {
    /// The disk over `root`, created (with its parents) if missing.
    pub fn open(root: impl Into<PathBuf>) -> Result<Self, DiskError> {
        let root = root.into();
        fs::create_dir_all(&root).map_err(|e| io_error(&root.display().to_string(), &e))?;
        Ok(Self {
            root,
            open: RefCell::default(),
            dirty: BTreeSet::new(),
        })
    }

    /// The directory the disk lives in.
    pub fn root(&self) -> &Path {
        &self.root
    }

    fn path(&self, name: &str) -> Result<PathBuf, DiskError> {
        let valid = !name.is_empty()
            && !name.starts_with('/')
            && name
                .split('/')
                .all(|c| !c.is_empty() && c != "." && c != "..");
        match valid {
            true => Ok(self.root.join(name)),
            false => Err(DiskError::Io {
                name: name.to_owned(),
                error: "not a relative name inside the disk".to_owned(),
            }),
        }
    }

    /// Makes the directories `name` needs, each marked to be synced with its parent.
    fn make_parents(&mut self, name: &str) -> Result<PathBuf, DiskError> {
        let path = self.path(name)?;
        let mut dir = path.parent().map(Path::to_path_buf);
        let mut missing = Vec::new();
        while let Some(d) = dir.filter(|d| *d != self.root && !d.is_dir()) {
            dir = d.parent().map(Path::to_path_buf);
            missing.push(d);
        }
        for d in missing.iter().rev() {
            fs::create_dir(d).map_err(|e| io_error(name, &e))?;
            self.dirty.insert(d.clone());
            self.dirty
                .insert(d.parent().unwrap_or(&self.root).to_path_buf());
        }
        Ok(path)
    }

    fn mark_parent(&mut self, path: &Path) {
        self.dirty
            .insert(path.parent().unwrap_or(&self.root).to_path_buf());
    }

    /// Runs `f` on the open handle of `name`, opening it (read and write) if needed.
    fn with_file<T>(
        &self,
        name: &str,
        f: impl FnOnce(&File) -> io::Result<T>,
    ) -> Result<T, DiskError> {
        let mut open = self.open.borrow_mut();
        if !open.contains_key(name) {
            let path = self.path(name)?;
            let file = OpenOptions::new()
                .read(true)
                .write(true)
                .open(&path)
                .map_err(|e| io_error(name, &e))?;
            open.insert(name.to_owned(), file);
        }
        f(&open[name]).map_err(|e| io_error(name, &e))
    }

    fn forget(&self, name: &str) {
        self.open.borrow_mut().remove(name);
    }

    fn walk(&self, dir: &Path, prefix: &str, names: &mut Vec<String>) {
        let Ok(entries) = fs::read_dir(dir) else {
            return;
        };
        for entry in entries.flatten() {
            let Some(file_name) = entry.file_name().to_str().map(str::to_owned) else {
                continue;
            };
            let name = format!("{prefix}{file_name}");
            match entry.file_type() {
                Ok(kind) if kind.is_dir() => self.walk(&entry.path(), &format!("{name}/"), names),
                Ok(kind) if kind.is_file() => names.push(name),
                _ => {}
            }
        }
    }
}

/// The error of the operating system for `name`, as the trait's errors name it.
fn io_error(name: &str, error: &io::Error) -> DiskError {
    match error.kind() {
        ErrorKind::NotFound => DiskError::NotFound {
            name: name.to_owned(),
        },
        ErrorKind::AlreadyExists => DiskError::AlreadyExists {
            name: name.to_owned(),
        },
        _ => DiskError::Io {
            name: name.to_owned(),
            error: error.to_string(),
        },
    }
}

impl Disk for FileDisk {
    fn create(&mut self, name: &str) -> Result<(), DiskError> {
        let path = self.make_parents(name)?;
        let file = OpenOptions::new()
            .read(true)
            .write(true)
            .create_new(true)
            .open(&path)
            .map_err(|e| io_error(name, &e))?;
        self.mark_parent(&path);
        self.open.borrow_mut().insert(name.to_owned(), file);
        Ok(())
    }

    fn write_at(&mut self, name: &str, offset: u64, data: &[u8]) -> Result<(), DiskError> {
        self.with_file(name, |file| match data.is_empty() {
            // The trait extends the file to `offset` even for no bytes; pwrite does not.
            true if file.metadata()?.len() < offset => file.set_len(offset),
            _ => file.write_all_at(data, offset),
        })
    }

    fn read_at(&self, name: &str, offset: u64, buf: &mut [u8]) -> Result<(), DiskError> {
        let file_len = self.len(name)?;
        let len = buf.len() as u64;
        if offset.checked_add(len).is_none_or(|end| end > file_len) {
            return Err(DiskError::ReadPastEnd {
                name: name.to_owned(),
                offset,
                len,
                file_len,
            });
        }
        self.with_file(name, |file| file.read_exact_at(buf, offset))
    }

    fn len(&self, name: &str) -> Result<u64, DiskError> {
        let path = self.path(name)?;
        let metadata = fs::metadata(&path).map_err(|e| io_error(name, &e))?;
        match metadata.is_file() {
            true => Ok(metadata.len()),
            false => Err(DiskError::NotFound {
                name: name.to_owned(),
            }),
        }
    }

    fn set_len(&mut self, name: &str, len: u64) -> Result<(), DiskError> {
        self.with_file(name, |file| file.set_len(len))
    }

    fn sync(&mut self, name: &str) -> Result<(), DiskError> {
        // Linux after a failed fsync forgets the dirty pages: the trait's `SyncFailed`.
        self.with_file(name, File::sync_all)
            .map_err(|error| match error {
                DiskError::Io { name, .. } => DiskError::SyncFailed { name },
                other => other,
            })
    }

    fn sync_dir(&mut self) -> Result<(), DiskError> {
        self.dirty.insert(self.root.clone());
        for dir in std::mem::take(&mut self.dirty) {
            let name = dir.display().to_string();
            let synced = File::open(&dir).and_then(|d| d.sync_all());
            match synced {
                Ok(()) => {}
                // Removed since it changed: its parent's sync covers the removal.
                Err(e) if e.kind() == ErrorKind::NotFound => {}
                Err(e) => return Err(io_error(&name, &e)),
            }
        }
        Ok(())
    }

    fn rename(&mut self, from: &str, to: &str) -> Result<(), DiskError> {
        let source = self.path(from)?;
        if !source.is_file() {
            return Err(DiskError::NotFound {
                name: from.to_owned(),
            });
        }
        let target = self.make_parents(to)?;
        fs::rename(&source, &target).map_err(|e| io_error(from, &e))?;
        self.forget(from);
        self.forget(to);
        self.mark_parent(&source);
        self.mark_parent(&target);
        Ok(())
    }

    fn remove(&mut self, name: &str) -> Result<(), DiskError> {
        let path = self.path(name)?;
        fs::remove_file(&path).map_err(|e| io_error(name, &e))?;
        self.forget(name);
        self.mark_parent(&path);
        Ok(())
    }

    fn list(&self) -> Vec<String> {
        let mut names = Vec::new();
        self.walk(&self.root, "", &mut names);
        names.sort();
        names
    }
}
