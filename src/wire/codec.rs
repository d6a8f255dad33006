//! Kafka's primitive types on the wire (big-endian integers, `int16`-prefixed strings,
//! `int32`-prefixed bytes and arrays, -1 for null) and the one error type of the codec.
//!
//! The reader never trusts a length: a string, bytes or array length is checked against
//! the bytes that remain before anything is allocated, so a hostile frame costs at most
//! its own size in memory (an array of `n` elements is allocated only when `n` times the
//! element's smallest encoding fits in what remains).

use bytes::{BufMut, Bytes};

/// What was wrong with a frame. Every variant names the field being read.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum WireError {
    /// The frame ended inside a field.
    #[error("{field}: needs {needed} more bytes, {remaining} remain")]
    Truncated {
        /// The field.
        field: &'static str,
        /// Bytes the field needs.
        needed: usize,
        /// Bytes left in the frame.
        remaining: usize,
    },
    /// A length below -1, or -1 where null is not allowed.
    #[error("{field}: invalid length {len}")]
    InvalidLength {
        /// The field.
        field: &'static str,
        /// The length read.
        len: i64,
    },
    /// A string that is not UTF-8.
    #[error("{field}: not UTF-8")]
    NotUtf8 {
        /// The field.
        field: &'static str,
    },
    /// Bytes left over after the last field of the request.
    #[error("{extra} bytes after the end of the request")]
    Trailing {
        /// How many.
        extra: usize,
    },
    /// An API key this broker does not serve.
    #[error("unknown API key {key}")]
    UnknownApi {
        /// The key.
        key: i16,
    },
    /// A version outside the advertised range of a known API.
    #[error("{api} v{version} is not supported (supported: {min}-{max})")]
    UnsupportedVersion {
        /// The API's name.
        api: &'static str,
        /// The version asked for.
        version: i16,
        /// Lowest supported.
        min: i16,
        /// Highest supported.
        max: i16,
    },
    /// A frame size below zero or above `socket.request.max.bytes`.
    #[error("frame of {size} bytes (the limit is {max})")]
    FrameSize {
        /// The size prefix read.
        size: i64,
        /// The limit.
        max: usize,
    },
}

/// Reads Kafka primitives from one frame, in order.
#[derive(Debug)]
pub struct Reader {
    buf: Bytes,
    at: usize,
}

impl Reader {
    /// A reader of `frame` from its first byte.
    pub fn new(frame: Bytes) -> Self {
        Self { buf: frame, at: 0 }
    }

    /// Bytes not read yet.
    pub fn remaining(&self) -> usize {
        self.buf.len() - self.at
    }

    /// Fails unless every byte was read.
    pub fn finish(&self) -> Result<(), WireError> {
        match self.remaining() {
            0 => Ok(()),
            extra => Err(WireError::Trailing { extra }),
        }
    }

    fn take(&mut self, field: &'static str, n: usize) -> Result<&[u8], WireError> {
        if n > self.remaining() {
            return Err(WireError::Truncated {
                field,
                needed: n,
                remaining: self.remaining(),
            });
        }
        let out = &self.buf[self.at..self.at + n];
        self.at += n;
        Ok(out)
    }

    fn array_of<const N: usize>(&mut self, field: &'static str) -> Result<[u8; N], WireError> {
        let bytes = self.take(field, N)?;
        Ok(bytes.try_into().expect("took exactly N bytes"))
    }

    /// An `int8`.
    pub fn i8(&mut self, field: &'static str) -> Result<i8, WireError> {
        Ok(i8::from_be_bytes(self.array_of(field)?))
    }

    /// A `boolean`: any byte but 0 is true, as Kafka reads it.
    pub fn bool(&mut self, field: &'static str) -> Result<bool, WireError> {
        Ok(self.i8(field)? != 0)
    }

    /// An `int16`.
    pub fn i16(&mut self, field: &'static str) -> Result<i16, WireError> {
        Ok(i16::from_be_bytes(self.array_of(field)?))
    }

    /// An `int32`.
    pub fn i32(&mut self, field: &'static str) -> Result<i32, WireError> {
        Ok(i32::from_be_bytes(self.array_of(field)?))
    }

    /// An `int64`.
    pub fn i64(&mut self, field: &'static str) -> Result<i64, WireError> {
        Ok(i64::from_be_bytes(self.array_of(field)?))
    }

    /// A `string` (`int16` length, never null).
    pub fn string(&mut self, field: &'static str) -> Result<String, WireError> {
        self.nullable_string(field)?
            .ok_or(WireError::InvalidLength { field, len: -1 })
    }

    /// A `nullable_string` (`int16` length, -1 for null).
    pub fn nullable_string(&mut self, field: &'static str) -> Result<Option<String>, WireError> {
        let len = self.i16(field)?;
        let Some(len) = Self::length(field, i64::from(len))? else {
            return Ok(None);
        };
        let bytes = self.take(field, len)?;
        let text = std::str::from_utf8(bytes).map_err(|_| WireError::NotUtf8 { field })?;
        Ok(Some(text.to_owned()))
    }

    /// `nullable_bytes` (`int32` length, -1 for null), shared with the frame, not copied.
    pub fn nullable_bytes(&mut self, field: &'static str) -> Result<Option<Bytes>, WireError> {
        let len = self.i32(field)?;
        let Some(len) = Self::length(field, i64::from(len))? else {
            return Ok(None);
        };
        self.take(field, len)?;
        Ok(Some(self.buf.slice(self.at - len..self.at)))
    }

    /// An array (`int32` count, never null) of elements at least `min_size` bytes each.
    pub fn array<T>(
        &mut self,
        field: &'static str,
        min_size: usize,
        element: impl FnMut(&mut Self) -> Result<T, WireError>,
    ) -> Result<Vec<T>, WireError> {
        self.nullable_array(field, min_size, element)?
            .ok_or(WireError::InvalidLength { field, len: -1 })
    }

    /// An array that may be null (count -1).
    pub fn nullable_array<T>(
        &mut self,
        field: &'static str,
        min_size: usize,
        mut element: impl FnMut(&mut Self) -> Result<T, WireError>,
    ) -> Result<Option<Vec<T>>, WireError> {
        let count = self.i32(field)?;
        let Some(count) = Self::length(field, i64::from(count))? else {
            return Ok(None);
        };
        let needed = count.saturating_mul(min_size.max(1));
        if needed > self.remaining() {
            return Err(WireError::Truncated {
                field,
                needed,
                remaining: self.remaining(),
            });
        }
        let mut out = Vec::with_capacity(count);
        for _ in 0..count {
            out.push(element(self)?);
        }
        Ok(Some(out))
    }

    fn length(field: &'static str, len: i64) -> Result<Option<usize>, WireError> {
        match len {
            -1 => Ok(None),
            len if len < -1 => Err(WireError::InvalidLength { field, len }),
            len => Ok(Some(usize::try_from(len).expect("non-negative"))),
        }
    }
}

/// Writes Kafka primitives into a response body.
#[derive(Debug, Default)]
pub struct Writer {
    buf: Vec<u8>,
}

impl Writer {
    /// The bytes written.
    pub fn into_bytes(self) -> Vec<u8> {
        self.buf
    }

    /// An `int8`.
    pub fn i8(&mut self, v: i8) -> &mut Self {
        self.buf.put_i8(v);
        self
    }

    /// A `boolean`.
    pub fn bool(&mut self, v: bool) -> &mut Self {
        self.i8(i8::from(v))
    }

    /// An `int16`.
    pub fn i16(&mut self, v: i16) -> &mut Self {
        self.buf.put_i16(v);
        self
    }

    /// An `int32`.
    pub fn i32(&mut self, v: i32) -> &mut Self {
        self.buf.put_i32(v);
        self
    }

    /// An `int64`.
    pub fn i64(&mut self, v: i64) -> &mut Self {
        self.buf.put_i64(v);
        self
    }

    /// A `string`. Names longer than `i16::MAX` bytes are cut there: every string this
    /// broker writes is a name or address it was given or made, far shorter.
    pub fn string(&mut self, v: &str) -> &mut Self {
        let len = v.len().min(i16::MAX as usize);
        self.i16(len as i16);
        self.buf.put_slice(&v.as_bytes()[..len]);
        self
    }

    /// A `nullable_string`.
    pub fn nullable_string(&mut self, v: Option<&str>) -> &mut Self {
        match v {
            Some(v) => self.string(v),
            None => self.i16(-1),
        }
    }

    /// `nullable_bytes`.
    pub fn nullable_bytes(&mut self, v: Option<&[u8]>) -> &mut Self {
        match v {
            Some(v) => {
                self.i32(i32::try_from(v.len()).expect("a response under 2 GiB"));
                self.buf.put_slice(v);
                self
            }
            None => self.i32(-1),
        }
    }

    /// An array, each element written by `element`.
    pub fn array<T>(&mut self, items: &[T], mut element: impl FnMut(&mut Self, &T)) -> &mut Self {
        self.i32(i32::try_from(items.len()).expect("fewer than 2^31 elements"));
        for item in items {
            element(self, item);
        }
        self
    }
}
