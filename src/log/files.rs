//! The names of a partition directory's files, as Kafka lays them out: segments named
//! after their base offset in 20 digits (`00000000000000000000.log` and `.index`),
//! checkpoints, and the clean-shutdown marker.

/// Digits of a segment's base offset in its file names.
const SEGMENT_NAME_DIGITS: usize = 20;

// i64::MAX has 19 digits.
const _: () = assert!(i64::MAX.ilog10() < SEGMENT_NAME_DIGITS as u32);

/// Which of a segment's two files a name is.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub(super) enum SegmentFile {
    /// The batches.
    Log,
    /// The sparse offset index.
    Index,
}

impl SegmentFile {
    fn suffix(self) -> &'static str {
        match self {
            SegmentFile::Log => ".log",
            SegmentFile::Index => ".index",
        }
    }
}

/// One partition directory's file names.
#[derive(Debug, Clone, PartialEq, Eq, Hash)]
pub(super) struct LogFiles {
    dir: String,
}

impl LogFiles {
    pub(super) fn new(dir: &str) -> LogFiles {
        LogFiles {
            dir: dir.to_owned(),
        }
    }

    pub(super) fn dir(&self) -> &str {
        &self.dir
    }

    pub(super) fn segment(&self, base_offset: i64, file: SegmentFile) -> String {
        debug_assert!(base_offset >= 0);
        // By hand: this runs on every read and append, and `{:020}` pads one char at a time.
        let suffix = file.suffix();
        let mut name = String::with_capacity(self.dir.len() + 21 + suffix.len());
        name.push_str(&self.dir);
        name.push('/');
        let mut digits = [b'0'; 20];
        let mut rest = base_offset.unsigned_abs();
        for digit in digits.iter_mut().rev() {
            *digit = b'0' + (rest % 10) as u8;
            rest /= 10;
        }
        name.push_str(std::str::from_utf8(&digits).expect("ASCII digits"));
        name.push_str(suffix);
        name
    }

    pub(super) fn log(&self, base_offset: i64) -> String {
        self.segment(base_offset, SegmentFile::Log)
    }

    pub(super) fn index(&self, base_offset: i64) -> String {
        self.segment(base_offset, SegmentFile::Index)
    }

    pub(super) fn leader_epoch_checkpoint(&self) -> String {
        format!("{}/leader-epoch-checkpoint", self.dir)
    }

    pub(super) fn high_watermark_checkpoint(&self) -> String {
        format!("{}/high-watermark-checkpoint", self.dir)
    }

    pub(super) fn log_start_offset_checkpoint(&self) -> String {
        format!("{}/log-start-offset-checkpoint", self.dir)
    }

    /// Kafka's marker of a completed shutdown.
    pub(super) fn clean_shutdown_marker(&self) -> String {
        format!("{}/.kafka_cleanshutdown", self.dir)
    }

    /// The base offset and kind of a segment file of this directory; `None` for any other
    /// name.
    pub(super) fn parse_segment(&self, name: &str) -> Option<(i64, SegmentFile)> {
        let file = name.strip_prefix(&self.dir)?.strip_prefix('/')?;
        [SegmentFile::Log, SegmentFile::Index]
            .into_iter()
            .find_map(|kind| {
                let digits = file.strip_suffix(kind.suffix())?;
                let valid = digits.len() == SEGMENT_NAME_DIGITS
                    && digits.bytes().all(|byte| byte.is_ascii_digit());
                let base_offset: i64 = digits.parse().ok().filter(|_| valid)?;
                Some((base_offset, kind))
            })
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn segment_names_round_trip_and_strangers_are_ignored() {
        let files = LogFiles::new("t-0");
        assert_eq!(files.log(42), "t-0/00000000000000000042.log");
        assert_eq!(
            files.parse_segment(&files.log(42)),
            Some((42, SegmentFile::Log))
        );
        assert_eq!(
            files.parse_segment(&files.index(i64::MAX)),
            Some((i64::MAX, SegmentFile::Index))
        );
        for stranger in [
            "t-1/00000000000000000042.log",
            "t-0/0000000000000000042.log",
            "t-0/+0000000000000000042.log",
            "t-0/99999999999999999999.log",
            "t-0/leader-epoch-checkpoint",
            "t-00/00000000000000000042.log",
        ] {
            assert_eq!(files.parse_segment(stranger), None, "{stranger}");
        }
    }
}
