//! The roles' typed messages between node processes.
//!
//! Encoding, version 1: every frame is a big-endian `u32` length, then that many bytes: a
//! version byte (1), then the value in postcard (serde's compact binary form). The first
//! frame on a connection is the [`Hello`] of the node that opened it, which says who it
//! is and which channel the connection carries, so the accepting node sees the same
//! `Peer` the simulation would give it. A frame of another version, or one that does not
//! decode, closes the connection.

use serde::{de::DeserializeOwned, Deserialize, Serialize};
use tokio::io::{AsyncReadExt, AsyncWriteExt};

use crate::protocol::Msg;

/// The encoding's version byte.
pub const VERSION: u8 = 1;

/// Frames larger than this close the connection: far above any message the roles send
/// (a fetch response carries at most a partition's `bytes_max`).
pub const FRAME_MAX: usize = 64 << 20;

/// Who opened a connection, and for which channel.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
pub struct Hello {
    /// The opening node.
    pub from: u16,
    /// The channel.
    pub channel: u16,
}

/// A frame that could not be read.
#[derive(Debug, thiserror::Error)]
pub enum PeerError {
    /// The socket failed or closed.
    #[error("{0}")]
    Io(#[from] std::io::Error),
    /// Over [`FRAME_MAX`].
    #[error("frame of {0} bytes")]
    TooLarge(usize),
    /// Another encoding version.
    #[error("encoding version {0}, expected {VERSION}")]
    Version(u8),
    /// Not a value of the expected type.
    #[error("malformed frame: {0}")]
    Malformed(#[from] postcard::Error),
}

/// One value framed for the wire.
pub fn encode<T: Serialize>(value: &T) -> Vec<u8> {
    let body = postcard::to_allocvec(value).expect("messages serialize");
    let mut out = Vec::with_capacity(5 + body.len());
    let len = u32::try_from(body.len() + 1).expect("a frame under 4 GiB");
    out.extend_from_slice(&len.to_be_bytes());
    out.push(VERSION);
    out.extend_from_slice(&body);
    out
}

/// Reads one framed value.
pub async fn read<T: DeserializeOwned>(
    socket: &mut (impl AsyncReadExt + Unpin),
) -> Result<T, PeerError> {
    let len = socket.read_u32().await? as usize;
    if len > FRAME_MAX {
        return Err(PeerError::TooLarge(len));
    }
    if len == 0 {
        return Err(PeerError::Version(0));
    }
    let mut frame = vec![0; len];
    socket.read_exact(&mut frame).await?;
    if frame[0] != VERSION {
        return Err(PeerError::Version(frame[0]));
    }
    Ok(postcard::from_bytes(&frame[1..])?)
}

/// Writes one message and flushes it (madsim's streams deliver on flush).
pub async fn write(
    socket: &mut (impl AsyncWriteExt + Unpin),
    msg: &Msg,
) -> Result<(), std::io::Error> {
    socket.write_all(&encode(msg)).await?;
    socket.flush().await
}
