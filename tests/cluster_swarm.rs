//! The cluster under the engine's swarm nemesis, random fault kinds and rates per seed,
//! with a fault budget of one lossy node per run (`NemesisOptions::lossy_nodes_max`):
//! power losses, failed fsyncs, full disks, bit flips and read errors hit only one broker
//! the generator draws per seed (the controller is `lossless`: it holds the only copy of
//! the metadata). Every broker crash hits that broker too: without a controlled shutdown
//! a restart is unclean, and KIP-966 then drops the broker from the eligible replicas as
//! if it had lost data, so a crash elsewhere would spend a second unit of the budget (swarm
//! seeds 50585 and 51267 lost acked records that way). Direct checks:
//! every acked acks=all record at its offset in the final read and on the final leader;
//! replicas byte-identical after the settle phase; one leader per epoch.
//!
//! Replay one seed: `ODRADEK_SEED=S cargo test -p odradek --test cluster_swarm`; more
//! seeds: `ODRADEK_SEEDS=N`.

mod cluster_common;

use std::collections::BTreeMap;

use cluster_common::{configs, run, Outcome, BROKERS, CONTROLLER};
use odradek::protocol::HOLD_KINDS;
use odradek_sim::harness::{self, Seeds};
use odradek_sim::{nemesis, CrashMode, Fault, PowerLoss, RngStream, Scenario, SimRng, Timed};

const REPLAY: &str = "cargo test -p odradek --test cluster_swarm";
const FAULTS_MS: u64 = 6_000;
const SETTLE_MS: u64 = 4_000;
/// Nodes that may lose unsynced data or carry corruption in one run. A failed fsync or a
/// full disk halts a broker, whose restart is unclean (it leaves every ISR and ELR), so
/// they count too.
const LOSSY_NODES_MAX: usize = 1;

/// The seed's swarm schedule within the fault budget: one lossy node, drawn per seed.
fn scenario(seed: u64) -> Scenario {
    let mut rng = SimRng::for_stream(seed, RngStream::Swarm);
    let mut targets = vec![CONTROLLER];
    targets.extend(BROKERS);
    let kinds = HOLD_KINDS.iter().map(|k| k.to_string()).collect();
    let mut options = nemesis::swarm(&mut rng, targets, kinds);
    options.lossy_nodes_max = Some(LOSSY_NODES_MAX);
    // The single controller holds the only copy of the metadata; it syncs everything it
    // acts on, and a damaged state stops it for good (see `Controller::on_start`).
    options.lossless = vec![CONTROLLER];
    // Every broker crash is an unclean shutdown, which KIP-966 treats as possibly lossy
    // (the broker leaves the eligible replicas): a process crash elsewhere would be a
    // second lossy node.
    options.crashes_are_lossy = true;
    Scenario {
        faults_ms: FAULTS_MS,
        settle_ms: SETTLE_MS,
        nemesis: options,
        ..Scenario::default()
    }
}

fn run_seed(seed: u64) -> Result<Outcome, odradek_sim::RunError> {
    run(
        seed,
        &scenario(seed),
        configs(u64::MAX, Some(FAULTS_MS + SETTLE_MS / 2)),
    )
    .2
}

#[test]
fn acks_all_records_survive_random_swarm_seeds_with_one_lossy_node() {
    let seeds = Seeds::from_env(200).expect("seed variables");
    let replay =
        format!("{REPLAY} acks_all_records_survive_random_swarm_seeds_with_one_lossy_node");
    let outcomes = harness::check_seeds(seeds, &replay, run_seed);
    let total = |f: fn(&Outcome) -> u64| outcomes.iter().map(f).sum::<u64>();
    let mut faults: BTreeMap<&str, u64> = BTreeMap::new();
    for o in &outcomes {
        for (k, v) in &o.faults {
            *faults.entry(k).or_default() += v;
        }
    }
    let fired = total(|o| o.faults_injected);
    println!(
        "seeds {}..+{}: acked {}, failovers {}, truncations {}, isr shrinks {}, fenced {}, disk bytes lost {}, faults fired {fired} {faults:?}",
        seeds.start,
        seeds.count,
        total(|o| o.acked),
        total(|o| o.failovers),
        total(|o| o.truncations),
        total(|o| o.isr_shrinks),
        total(|o| o.fenced),
        total(|o| o.disk_bytes_lost),
    );
    for o in &outcomes {
        assert!(o.acked >= 20, "a run that did nothing: {o:?}");
    }
    // Floors summed over the seeds, none of which the boot alone meets (measured: 1,000
    // seeds from 50000 injected 8.8 faults, 0.56 failovers and 0.26 truncations each).
    let count = seeds.count;
    assert!(
        fired >= count * 4,
        "faults injected: {fired} in {count} seeds"
    );
    assert!(
        total(|o| o.failovers) >= count / 4,
        "leaders change under faults"
    );
    assert!(total(|o| o.truncations) >= count / 20, "replicas truncate");
    if count >= 100 {
        // Only crashes of the seed's one lossy broker may be power losses: about one
        // crash in eight over the swarm's rates.
        assert!(
            faults.get("power_loss").copied().unwrap_or(0) >= 3,
            "{faults:?}"
        );
    }
}

#[test]
fn same_seed_gives_the_same_trace_hash() {
    for seed in [1, 2] {
        let trace = |seed| {
            let (sim, _, _) = run(
                seed,
                &scenario(seed),
                configs(u64::MAX, Some(FAULTS_MS + SETTLE_MS / 2)),
            );
            sim.trace().clone()
        };
        if let Err(divergence) = harness::check_determinism(seed, trace) {
            panic!("seed {seed}: {divergence}");
        }
    }
}

#[test]
fn different_seeds_give_different_trace_hashes() {
    let hashes: std::collections::BTreeSet<u64> = (1..=8)
        .map(|seed| run_seed(seed).unwrap_or_else(|e| panic!("seed {seed}: {e}")))
        .map(|outcome| outcome.trace_hash)
        .collect();
    assert_eq!(hashes.len(), 8, "{hashes:x?}");
}

#[test]
fn replica_that_led_an_epoch_without_appending_reconverges_by_kip279_rounds() {
    // Found by this test's seeds: n3 led epoch 5 without appending, then followed n2,
    // whose epochs are 1, 3 and 7. Asked about epoch 5, n2 answers epoch 3, which n3 does
    // not hold; n3 must ask next about its epoch 1, not about 5 again forever.
    let seed = 1_001_894;
    let outcome = run_seed(seed).unwrap_or_else(|e| panic!("seed {seed}: {e}"));
    println!("{outcome:?}");
    assert_eq!(
        outcome.elections_by_kind.get("Elr"),
        Some(&1),
        "{outcome:?}"
    );
    assert!(
        outcome.acked >= 100 && outcome.final_read >= outcome.acked,
        "{outcome:?}"
    );
}

/// Beyond the fault budget: every broker loses its page cache to a power loss within a
/// few milliseconds of the others (Kafka acks without fsync), at a time drawn per seed,
/// and restarts unclean. Acked acks=all records are then lost on every replica; the
/// controller falls back to the last known leader. Every such loss must be an allowed loss
/// with its causal chain, and every other invariant must hold.
fn beyond_budget(seed: u64) -> Scenario {
    let mut rng = SimRng::for_stream(seed, RngStream::Schedule);
    let at_ms = rng.between(1_500, 4_000);
    let mut schedule = Vec::new();
    for (i, &broker) in BROKERS.iter().enumerate() {
        let i = i as u64;
        let mode = CrashMode::PowerLoss(PowerLoss::LoseAll);
        let crash = Fault::Crash { node: broker, mode };
        schedule.push(Timed {
            at_ms: at_ms + i * rng.between(0, 30),
            fault: crash,
        });
        let restart = Fault::Restart { node: broker };
        schedule.push(Timed {
            at_ms: at_ms + 400 + i * rng.between(50, 300),
            fault: restart,
        });
    }
    Scenario {
        faults_ms: FAULTS_MS,
        settle_ms: SETTLE_MS,
        schedule: Some(schedule),
        ..Scenario::default()
    }
}

#[test]
fn losses_beyond_the_fault_budget_are_allowed_only_with_their_causal_chain() {
    let seeds = Seeds {
        start: 1,
        count: 12,
    };
    let replay =
        format!("{REPLAY} losses_beyond_the_fault_budget_are_allowed_only_with_their_causal_chain");
    let configs = || configs(u64::MAX, Some(FAULTS_MS + SETTLE_MS / 2));
    let verdicts = harness::check_seeds(seeds, &replay, |seed| {
        let (_, checker, result) = run(seed, &beyond_budget(seed), configs());
        result.map(|outcome| (outcome, checker.verdict.expect("judged")))
    });
    let allowed: usize = verdicts.iter().map(|(_, v)| v.allowed_losses.len()).sum();
    let seeds_with_losses = verdicts
        .iter()
        .filter(|(_, v)| !v.allowed_losses.is_empty())
        .count();
    let consequences: usize = verdicts.iter().map(|(_, v)| v.consequences.len()).sum();
    let fallbacks: u64 = (verdicts.iter())
        .map(|(o, _)| {
            o.elections_by_kind
                .get("LastKnownLeader")
                .copied()
                .unwrap_or(0)
        })
        .sum();
    println!(
        "beyond the budget, {} seeds: {allowed} allowed losses in {seeds_with_losses} seeds, {consequences} consequences, {fallbacks} last-known-leader elections",
        seeds.count
    );
    let first = verdicts
        .iter()
        .find_map(|(_, v)| Some((v.allowed_losses.first()?, v.consequences.first())));
    if let Some((loss, consequence)) = first {
        println!("for instance: {loss}");
        if let Some(consequence) = consequence {
            println!("and its consequence: {consequence}");
        }
    }
    assert!(
        seeds_with_losses >= 3,
        "the budget was exceeded to some effect"
    );
    assert!(fallbacks >= seeds.count / 2, "the controller fell back");
    for (_, verdict) in &verdicts {
        for loss in &verdict.allowed_losses {
            assert_eq!(loss.chain.len(), 3, "{loss}");
        }
    }
}
