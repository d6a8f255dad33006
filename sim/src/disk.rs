//! The storage interface nodes see: a small synchronous file API over one directory.
//!
//! Names are flat strings (`"t-0/00000000000000000000.log"` is one name); `list` returns
//! them in order. The semantics are those of a POSIX file system with a page cache: a
//! write is visible at once but durable only after `sync` of its file, and a create,
//! rename or remove is durable only after `sync_dir`. `SimDisk` implements this trait with
//! a crash model; `FileDisk` on a real directory.

use std::fmt;

/// A synchronous file API with explicit durability points.
pub trait Disk {
    /// Creates an empty file. Fails if the name exists.
    fn create(&mut self, name: &str) -> Result<(), DiskError>;
    /// Writes `data` at `offset`, extending the file (with zeros in any gap) as needed.
    fn write_at(&mut self, name: &str, offset: u64, data: &[u8]) -> Result<(), DiskError>;
    /// Fills `buf` from `offset`; a read past the end of the file is an error.
    fn read_at(&self, name: &str, offset: u64, buf: &mut [u8]) -> Result<(), DiskError>;
    /// The file's current length in bytes.
    fn len(&self, name: &str) -> Result<u64, DiskError>;
    /// Truncates or extends (with zeros) the file to `len` bytes.
    fn set_len(&mut self, name: &str, len: u64) -> Result<(), DiskError>;
    /// Makes the file's data and length durable.
    fn sync(&mut self, name: &str) -> Result<(), DiskError>;
    /// Makes every create, rename and remove so far durable.
    fn sync_dir(&mut self) -> Result<(), DiskError>;
    /// Renames `from` to `to`, atomically replacing any file named `to`.
    fn rename(&mut self, from: &str, to: &str) -> Result<(), DiskError>;
    /// Removes the file.
    fn remove(&mut self, name: &str) -> Result<(), DiskError>;
    /// Every file name, in ascending order.
    fn list(&self) -> Vec<String>;

    /// Whether a file of that name exists.
    fn exists(&self, name: &str) -> bool {
        self.len(name).is_ok()
    }

    /// Reads `len` bytes from `offset` into a new vector.
    fn read_vec(&self, name: &str, offset: u64, len: usize) -> Result<Vec<u8>, DiskError> {
        let mut buf = vec![0; len];
        self.read_at(name, offset, &mut buf)?;
        Ok(buf)
    }

    /// Reads the whole file.
    fn read_all(&self, name: &str) -> Result<Vec<u8>, DiskError> {
        let len = self.len(name)?;
        let len = usize::try_from(len).map_err(|_| DiskError::TooLarge {
            name: name.to_owned(),
            len,
        })?;
        self.read_vec(name, 0, len)
    }
}

/// Why a disk operation failed.
#[derive(Debug, Clone, PartialEq, Eq, Hash, thiserror::Error)]
pub enum DiskError {
    /// No file has that name.
    #[error("no such file. name={name}")]
    NotFound {
        /// The missing name.
        name: String,
    },
    /// `create` or `rename` met a name that must not exist.
    #[error("file already exists. name={name}")]
    AlreadyExists {
        /// The existing name.
        name: String,
    },
    /// A read asked for bytes beyond the end of the file.
    #[error("read past end of file. name={name} offset={offset} len={len} file_len={file_len}")]
    ReadPastEnd {
        /// The file read.
        name: String,
        /// First byte asked for.
        offset: u64,
        /// Bytes asked for.
        len: u64,
        /// The file's length.
        file_len: u64,
    },
    /// The device failed to read (an injected media error).
    #[error("i/o error reading. name={name} offset={offset} len={len}")]
    ReadFailed {
        /// The file read.
        name: String,
        /// First byte of the failed read.
        offset: u64,
        /// Bytes asked for.
        len: u64,
    },
    /// `sync` failed: the data written since the last sync is readable but not durable,
    /// and a later `sync` will not retry it (Linux after fsyncgate). Halt.
    #[error("fsync failed; unsynced data will not become durable. name={name}")]
    SyncFailed {
        /// The file whose sync failed.
        name: String,
    },
    /// The write would take the disk past its capacity; nothing was written.
    #[error("no space left on device. name={name} needed={needed} capacity={capacity}")]
    Full {
        /// The file written.
        name: String,
        /// Bytes the disk would hold after the operation.
        needed: u64,
        /// The disk's capacity in bytes.
        capacity: u64,
    },
    /// The operating system refused the operation (a real disk's error, or a name that
    /// would leave the disk's directory).
    #[error("i/o error. name={name} error={error}")]
    Io {
        /// The file, or directory, concerned.
        name: String,
        /// The error as the operating system put it.
        error: String,
    },
    /// A file too large to read into memory at once.
    #[error("file too large to read whole. name={name} len={len}")]
    TooLarge {
        /// The file.
        name: String,
        /// Its length.
        len: u64,
    },
}

/// A half-open byte range `[start, end)` in one file.
#[derive(
    Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord, serde::Serialize, serde::Deserialize,
)]
pub struct ByteRange {
    /// First byte.
    pub start: u64,
    /// One past the last byte.
    pub end: u64,
}

impl ByteRange {
    /// The range `[start, end)`.
    pub fn new(start: u64, end: u64) -> Self {
        debug_assert!(start <= end);
        Self { start, end }
    }

    /// Whether the two ranges share a byte.
    pub fn overlaps(&self, other: &ByteRange) -> bool {
        self.start < other.end && other.start < self.end
    }

    /// Whether `offset` lies in the range.
    pub fn contains(&self, offset: u64) -> bool {
        self.start <= offset && offset < self.end
    }
}

impl fmt::Debug for ByteRange {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "{}..{}", self.start, self.end)
    }
}
