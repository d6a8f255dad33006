//! Hostile frames: random bytes and mutations of valid requests never panic the decoder,
//! and decoding one never allocates more than a small multiple of the frame's own size,
//! whatever lengths it claims (a counting allocator measures each decode).

use std::alloc::{GlobalAlloc, Layout, System};
use std::cell::Cell;

use bytes::Bytes;
use odradek::wire::{decode_request, Frames, WireError};
use proptest::prelude::*;

struct Counting;

thread_local! {
    static LIVE: Cell<usize> = const { Cell::new(0) };
    static PEAK: Cell<usize> = const { Cell::new(0) };
}

unsafe impl GlobalAlloc for Counting {
    unsafe fn alloc(&self, layout: Layout) -> *mut u8 {
        let _ = LIVE.try_with(|live| {
            live.set(live.get() + layout.size());
            let _ = PEAK.try_with(|peak| peak.set(peak.get().max(live.get())));
        });
        unsafe { System.alloc(layout) }
    }

    unsafe fn dealloc(&self, ptr: *mut u8, layout: Layout) {
        let _ = LIVE.try_with(|live| live.set(live.get().saturating_sub(layout.size())));
        unsafe { System.dealloc(ptr, layout) }
    }
}

#[global_allocator]
static ALLOCATOR: Counting = Counting;

/// Bytes allocated at the peak of `f`, above what was live before it.
fn peak_of<T>(f: impl FnOnce() -> T) -> (T, usize) {
    let base = LIVE.with(Cell::get);
    PEAK.with(|peak| peak.set(base));
    let out = f();
    (out, PEAK.with(Cell::get) - base)
}

/// The bound: every allocation of a decode is a value read from the frame, at most a few
/// dozen bytes of structure per byte of wire it consumed.
fn limit(frame_len: usize) -> usize {
    24 * frame_len + 4096
}

fn vectors() -> Vec<Vec<u8>> {
    #[derive(serde::Deserialize)]
    struct Vector {
        request: String,
    }
    let vectors: Vec<Vector> =
        serde_json::from_str(include_str!("wire_vectors.json")).expect("valid vectors");
    (vectors.iter())
        .map(|v| {
            (0..v.request.len())
                .step_by(2)
                .map(|i| u8::from_str_radix(&v.request[i..i + 2], 16).expect("hex"))
                .collect()
        })
        .collect()
}

proptest! {
    #![proptest_config(ProptestConfig::with_cases(2000))]

    #[test]
    fn random_frames_fail_cleanly_within_the_memory_limit(frame in prop::collection::vec(any::<u8>(), 0..256)) {
        let len = frame.len();
        let (_, peak) = peak_of(|| decode_request(Bytes::from(frame)));
        prop_assert!(peak <= limit(len), "{peak} bytes for a {len}-byte frame");
    }

    #[test]
    fn mutated_requests_fail_cleanly_within_the_memory_limit(
        which in any::<prop::sample::Index>(),
        edits in prop::collection::vec((any::<prop::sample::Index>(), any::<u8>()), 1..6),
        cut in any::<prop::sample::Index>(),
    ) {
        let vectors = vectors();
        let mut frame = vectors[which.index(vectors.len())].clone();
        for (at, byte) in edits {
            let i = at.index(frame.len());
            frame[i] = byte;
        }
        frame.truncate(cut.index(frame.len() + 1).max(frame.len() / 2));
        let len = frame.len();
        let (_, peak) = peak_of(|| decode_request(Bytes::from(frame)));
        prop_assert!(peak <= limit(len), "{peak} bytes for a {len}-byte frame");
    }
}

#[test]
fn lengths_that_claim_more_than_the_frame_holds_are_refused_before_allocating() {
    // Metadata v1 asking for 2^31-1 topics in a 14-byte body.
    let mut frame = vec![0, 3, 0, 1, 0, 0, 0, 9, 0xff, 0xff];
    frame.extend_from_slice(&i32::MAX.to_be_bytes());
    let (result, peak) = peak_of(|| decode_request(Bytes::from(frame)));
    assert!(
        matches!(
            result,
            Err(WireError::Truncated {
                field: "topics",
                ..
            })
        ),
        "{result:?}"
    );
    assert!(peak < 1024, "{peak}");
}

#[test]
fn unknown_apis_and_versions_outside_the_range_are_named() {
    let frame = |key: i16, version: i16| {
        let mut f = key.to_be_bytes().to_vec();
        f.extend_from_slice(&version.to_be_bytes());
        f.extend_from_slice(&[0, 0, 0, 1, 0xff, 0xff]);
        Bytes::from(f)
    };
    assert_eq!(
        decode_request(frame(57, 0)),
        Err(WireError::UnknownApi { key: 57 })
    );
    let err = decode_request(frame(0, 9)).expect_err("Produce v9 is flexible");
    assert_eq!(
        err.to_string(),
        "Produce v9 is not supported (supported: 3-8)"
    );
    let (header, _) = decode_request(frame(18, 3)).expect("ApiVersions v3 is answered");
    assert_eq!(header.version, 3);
}

#[test]
fn a_frame_over_the_limit_is_refused_from_its_size_alone() {
    let mut frames = Frames::new(1024);
    frames.extend(&2048i32.to_be_bytes());
    assert_eq!(
        frames.next_frame(),
        Err(WireError::FrameSize {
            size: 2048,
            max: 1024
        })
    );
    let mut frames = Frames::new(1024);
    frames.extend(&(-5i32).to_be_bytes());
    assert!(frames.next_frame().is_err());
    let mut frames = Frames::new(1024);
    frames.extend(&[0, 0, 0, 3, 1, 2]);
    assert_eq!(frames.next_frame(), Ok(None));
    frames.extend(&[3, 0, 0]);
    assert_eq!(
        frames.next_frame(),
        Ok(Some(Bytes::from_static(&[1, 2, 3])))
    );
    assert_eq!(frames.next_frame(), Ok(None));
}
