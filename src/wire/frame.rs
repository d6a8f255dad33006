//! Frames on a Kafka connection: an `int32` size, then that many bytes. A frame over
//! `socket.request.max.bytes` or with a negative size is an error before any of it is
//! buffered, so the connection can be closed as Kafka closes it.

use bytes::{Buf, Bytes, BytesMut};

use super::codec::WireError;

/// Kafka's default `socket.request.max.bytes` (100 MiB).
pub const REQUEST_MAX_BYTES_DEFAULT: usize = 104_857_600;

/// Splits a connection's byte stream into frames.
#[derive(Debug)]
pub struct Frames {
    buf: BytesMut,
    max: usize,
}

impl Frames {
    /// A splitter refusing frames over `max` bytes.
    pub fn new(max: usize) -> Self {
        Self {
            buf: BytesMut::new(),
            max,
        }
    }

    /// Bytes read from the connection.
    pub fn extend(&mut self, data: &[u8]) {
        self.buf.extend_from_slice(data);
    }

    /// The next whole frame, without its size prefix; `None` until one has arrived.
    pub fn next_frame(&mut self) -> Result<Option<Bytes>, WireError> {
        if self.buf.len() < 4 {
            return Ok(None);
        }
        let size = i32::from_be_bytes(self.buf[..4].try_into().expect("four bytes"));
        let size = usize::try_from(size)
            .ok()
            .filter(|&size| size <= self.max)
            .ok_or(WireError::FrameSize {
                size: i64::from(size),
                max: self.max,
            })?;
        if self.buf.len() < 4 + size {
            // Buffer grows with what arrives, never ahead of it to the size announced.
            return Ok(None);
        }
        self.buf.advance(4);
        Ok(Some(self.buf.split_to(size).freeze()))
    }
}

/// `body` with its size prefix: one frame ready to write.
pub fn framed(body: &[u8]) -> Vec<u8> {
    let mut out = Vec::with_capacity(4 + body.len());
    out.extend_from_slice(&(i32::try_from(body.len()).expect("under 2 GiB")).to_be_bytes());
    out.extend_from_slice(body);
    out
}
