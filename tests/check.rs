//! `odradek check`'s model: the real controller, brokers and test client under the
//! explorer, from the world a deterministic run reaches once a leader has the full ISR.
//!
//! Replay: `cargo run --release -- check --bug hw_over_proposed_isr --depth 14`.

use odradek::bugs::{Bug, Bugs};
use odradek::cluster::check::{CheckOptions, LOST_WRITE};

#[test]
fn hw_over_proposed_isr_loses_an_acked_record_in_13_steps_where_the_fixed_protocol_is_clean() {
    let buggy = CheckOptions {
        bugs: Bugs::only(Bug::HwOverProposedIsr),
        depth_max: Some(14),
        threads: 2,
        ..CheckOptions::default()
    };
    let report = buggy.run().expect("valid bounds");
    let path = (report.counterexample(LOST_WRITE)).unwrap_or_else(|| panic!("{report}"));
    // Breadth first: no shorter path violates it.
    assert_eq!(path.len(), 13, "{report}");
    let fixed = CheckOptions {
        bugs: Bugs::default(),
        depth_max: Some(13),
        ..buggy
    };
    let report = fixed.run().expect("valid bounds");
    assert_eq!(report.violations().count(), 0, "{report}");
    // Bounded, and said so: the depth bound cut the search.
    assert!(report.depth_cut && !report.exhausted(), "{report}");
}
