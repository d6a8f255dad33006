//! Histories generated from a small reference model of a correct partition log (one
//! leader, two followers, every record committed on all three before its ack, a consumer
//! polling in order in chunks, a final read) are always legal; the same histories mutated
//! are always flagged, with the right name.

mod common;

use common::*;
use odradek_invariants::*;
use proptest::prelude::*;

/// A correct run: `records` values written and committed, polled in chunks of the given
/// sizes (cycled), then read back whole.
#[derive(Debug, Clone)]
struct Run {
    records: i64,
    chunks: Vec<i64>,
}

fn runs() -> impl Strategy<Value = Run> {
    (3..24i64, proptest::collection::vec(1..6i64, 1..5))
        .prop_map(|(records, chunks)| Run { records, chunks })
}

impl Run {
    fn value(offset: i64) -> u64 {
        offset as u64 + 1
    }

    /// The reference model's history, with `polled` transforming the consumer's reads and
    /// `failed` the offsets whose sends definitely failed (still read: a mutation).
    fn history(
        &self,
        polled: impl Fn(Vec<(i64, u64)>) -> Vec<(i64, u64)>,
        failed: Option<i64>,
    ) -> H {
        let mut h = H::default();
        h.elected(1, 1, ElectionKind::Isr)
            .changed(Some(1), 1, 1, &[1, 2, 3], &[]);
        h.leads(1, 1, 0).follows(2, 1, 1).follows(3, 1, 1);
        for offset in 0..self.records {
            let value = Self::value(offset);
            h.send(value, -1).write(offset);
            match failed {
                Some(f) if f == offset => h.done(
                    value,
                    SendOutcome::Failed {
                        error: "NOT_ENOUGH_REPLICAS".into(),
                    },
                ),
                _ => h.ok(value, offset),
            };
        }
        h.hw(2, self.records, 1, false)
            .hw(3, self.records, 1, false);
        let all: Vec<(i64, u64)> = (0..self.records).map(|o| (o, Self::value(o))).collect();
        let reads = polled(all.clone());
        let mut at = 0;
        for size in self.chunks.iter().cycle() {
            if at >= reads.len() {
                break;
            }
            let end = (at + *size as usize).min(reads.len());
            h.poll(&reads[at..end]);
            at = end;
        }
        h.final_read(&all, self.records);
        h
    }

    fn at_rest(&self) -> Quiescence {
        let n = self.records;
        rest(&[(1, Ok((n, n, 7))), (2, Ok((n, n, 7))), (3, Ok((n, n, 7)))])
    }

    fn judge(&self, h: &H) -> Result<Verdict, Violation> {
        judge_with(h, config(), &self.at_rest())
    }
}

/// The invariants a judgement names, step violation included.
fn names(judged: Result<Verdict, Violation>) -> Vec<Invariant> {
    match judged {
        Ok(verdict) => verdict.violations.iter().map(|v| v.invariant).collect(),
        Err(violation) => vec![violation.invariant],
    }
}

proptest! {
    #![proptest_config(ProptestConfig::with_cases(256))]

    #[test]
    fn reference_histories_are_legal(run in runs()) {
        let judged = run.judge(&run.history(|reads| reads, None)).expect("no step violation");
        prop_assert!(judged.is_clean(), "{}", judged);
        prop_assert_eq!(judged.counts.polled, run.records as u64);
    }

    #[test]
    fn a_dropped_read_is_a_poll_skip(run in runs(), pick in 0..1000i64) {
        // Not the first (a consumer may start anywhere) nor the last (it may lag).
        let drop = 1 + pick % (run.records - 2);
        let h = run.history(|mut reads| { reads.remove(drop as usize); reads }, None);
        let found = names(run.judge(&h));
        prop_assert!(found.contains(&Invariant::PollSkip) && found.contains(&Invariant::Unseen), "{:?}", found);
    }

    #[test]
    fn swapped_offsets_are_out_of_order_polls(run in runs(), pick in 0..1000i64) {
        let a = (pick % (run.records - 1)) as usize;
        let h = run.history(|mut reads| { reads.swap(a, a + 1); reads }, None);
        let found = names(run.judge(&h));
        prop_assert!(found.contains(&Invariant::NonmonotonicPoll), "{:?}", found);
    }

    #[test]
    fn a_record_read_at_a_second_offset_is_a_duplicate(run in runs(), pick in 0..1000i64) {
        let o = pick % (run.records - 1);
        let h = run.history(|mut reads| { reads[(o + 1) as usize].1 = Run::value(o); reads }, None);
        let found = names(run.judge(&h));
        prop_assert!(found.contains(&Invariant::Duplicate), "{:?}", found);
        prop_assert!(found.contains(&Invariant::InconsistentOffsets), "{:?}", found);
    }

    #[test]
    fn a_read_of_a_failed_send_is_g1a(run in runs(), pick in 0..1000i64) {
        let h = run.history(|reads| reads, Some(pick % run.records));
        let found = names(run.judge(&h));
        prop_assert!(found.contains(&Invariant::G1a), "{:?}", found);
    }

    #[test]
    fn a_follower_past_its_leader_is_log_divergence(run in runs()) {
        let mut h = run.history(|reads| reads, None);
        let end = run.records;
        // n3 appends a batch of an epoch nobody led and claims it committed.
        h.append(3, end, end, 2, false).append(1, end, end, 1, true).append(2, end, end, 1, false);
        h.hw(1, end + 1, 1, true).hw(3, end + 1, 1, false);
        prop_assert_eq!(names(run.judge(&h)), vec![Invariant::LogDivergence]);
    }

    #[test]
    fn an_election_outside_the_isr_is_unclean_leader(run in runs()) {
        let mut h = run.history(|reads| reads, None);
        for broker in [1, 2, 3] {
            h.obs(0, Observation::BrokerFenced { broker });
        }
        // Fenced one by one, the last two stay eligible (ELR), but n1 left first while
        // two remained: it is in neither set, whatever the controller claims.
        h.elected(1, 2, ElectionKind::Elr);
        prop_assert_eq!(names(run.judge(&h)), vec![Invariant::UncleanLeader]);
    }
}
