//! Kafka's wire protocol, the subset real clients need, for the real mode: the APIs and
//! versions this broker advertises (non-flexible versions only, so every frame is the
//! classic encoding with header v1 requests and header v0 responses), requests decoded
//! into plain values and responses encoded from them.
//!
//! Written for this subset rather than taken from a general codec crate: the one on
//! crates.io allocates from lengths read off the wire before checking them against the
//! frame, and a broker must survive any frame. Here no length is trusted
//! ([`codec::Reader`]), a frame over `socket.request.max.bytes` is refused before it is
//! buffered ([`frame::Frames`]), and a request that does not decode is an error the shell
//! answers by closing that connection, as Kafka does.

pub mod codec;
pub mod frame;
pub mod request;
pub mod response;

pub use codec::{Reader, WireError, Writer};
pub use frame::{framed, Frames, REQUEST_MAX_BYTES_DEFAULT};
pub use request::{decode_request, Request, RequestHeader};
pub use response::{encode_response, Response};

/// An API this broker serves, with Kafka's key.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub enum ApiKey {
    /// Produce (0).
    Produce,
    /// Fetch (1).
    Fetch,
    /// ListOffsets (2).
    ListOffsets,
    /// Metadata (3).
    Metadata,
    /// OffsetCommit (8).
    OffsetCommit,
    /// OffsetFetch (9).
    OffsetFetch,
    /// FindCoordinator (10).
    FindCoordinator,
    /// ApiVersions (18).
    ApiVersions,
    /// InitProducerId (22).
    InitProducerId,
    /// OffsetForLeaderEpoch (23).
    OffsetForLeaderEpoch,
}

impl ApiKey {
    /// Every API served, in key order: what ApiVersions advertises.
    pub const ALL: [ApiKey; 10] = [
        ApiKey::Produce,
        ApiKey::Fetch,
        ApiKey::ListOffsets,
        ApiKey::Metadata,
        ApiKey::OffsetCommit,
        ApiKey::OffsetFetch,
        ApiKey::FindCoordinator,
        ApiKey::ApiVersions,
        ApiKey::InitProducerId,
        ApiKey::OffsetForLeaderEpoch,
    ];

    /// Kafka's number for the API.
    pub fn key(self) -> i16 {
        match self {
            ApiKey::Produce => 0,
            ApiKey::Fetch => 1,
            ApiKey::ListOffsets => 2,
            ApiKey::Metadata => 3,
            ApiKey::OffsetCommit => 8,
            ApiKey::OffsetFetch => 9,
            ApiKey::FindCoordinator => 10,
            ApiKey::ApiVersions => 18,
            ApiKey::InitProducerId => 22,
            ApiKey::OffsetForLeaderEpoch => 23,
        }
    }

    /// The API with Kafka's number `key`.
    pub fn from_key(key: i16) -> Option<ApiKey> {
        Self::ALL.into_iter().find(|api| api.key() == key)
    }

    /// Kafka's name for the API.
    pub fn name(self) -> &'static str {
        match self {
            ApiKey::Produce => "Produce",
            ApiKey::Fetch => "Fetch",
            ApiKey::ListOffsets => "ListOffsets",
            ApiKey::Metadata => "Metadata",
            ApiKey::OffsetCommit => "OffsetCommit",
            ApiKey::OffsetFetch => "OffsetFetch",
            ApiKey::FindCoordinator => "FindCoordinator",
            ApiKey::ApiVersions => "ApiVersions",
            ApiKey::InitProducerId => "InitProducerId",
            ApiKey::OffsetForLeaderEpoch => "OffsetForLeaderEpoch",
        }
    }

    /// The versions advertised: each API's non-flexible versions that real clients
    /// (librdkafka 2.x, kafka-python) use, from the oldest whose fields this broker can
    /// answer truthfully.
    pub fn versions(self) -> (i16, i16) {
        match self {
            ApiKey::Produce => (3, 8),
            ApiKey::Fetch => (4, 11),
            ApiKey::ListOffsets => (1, 5),
            ApiKey::Metadata => (0, 8),
            ApiKey::OffsetCommit => (2, 7),
            ApiKey::OffsetFetch => (1, 5),
            ApiKey::FindCoordinator => (0, 2),
            ApiKey::ApiVersions => (0, 2),
            ApiKey::InitProducerId => (0, 1),
            ApiKey::OffsetForLeaderEpoch => (2, 3),
        }
    }
}

/// Kafka's UNSUPPORTED_VERSION error code, which the wire layer answers itself.
pub const UNSUPPORTED_VERSION: i16 = 35;
