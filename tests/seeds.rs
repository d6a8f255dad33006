//! The regression corpus: every case in `seeds/` replayed and held to its expectation (a
//! fixed bug stays fixed, a bug-zoo case stays caught), and bad case files rejected with
//! the file, line and field.

use std::path::{Path, PathBuf};

use odradek::cluster::{Case, CaseError, SeedFile};

fn cases() -> Vec<PathBuf> {
    let dir = Path::new(env!("CARGO_MANIFEST_DIR")).join("seeds");
    let mut files: Vec<PathBuf> = std::fs::read_dir(&dir)
        .expect("seeds/ exists")
        .map(|entry| entry.expect("a directory entry").path())
        .filter(|path| path.extension().is_some_and(|e| e == "toml"))
        .collect();
    files.sort();
    files
}

#[test]
fn every_case_in_the_corpus_meets_its_expectation() {
    let files = cases();
    assert!(files.len() >= 10, "the corpus holds its cases: {files:?}");
    let (mut caught, mut counterexamples) = (0, 0);
    for path in &files {
        match SeedFile::load(path).unwrap_or_else(|e| panic!("{e}")) {
            SeedFile::Case(case) => {
                let replayed = case.replay().unwrap_or_else(|e| panic!("{e}"));
                println!("{}: {replayed}", path.display());
                assert!(
                    replayed.met(),
                    "{}: {replayed} {:?}",
                    path.display(),
                    replayed.violation
                );
                caught += usize::from(case.expect != "clean");
            }
            SeedFile::Counterexample(counterexample) => {
                let replayed = counterexample.replay().unwrap_or_else(|e| panic!("{e}"));
                println!("{}: {replayed}", path.display());
                assert!(replayed.met(), "{}: {replayed}", path.display());
                counterexamples += 1;
            }
        }
    }
    assert!(caught >= 9, "bug-zoo cases: {caught}");
    assert!(
        counterexamples >= 1,
        "explorer counterexamples: {counterexamples}"
    );
}

#[test]
fn the_clean_cases_between_them_fire_every_fault_kind() {
    let mut fired = std::collections::BTreeSet::new();
    for path in cases() {
        let SeedFile::Case(case) = SeedFile::load(&path).unwrap_or_else(|e| panic!("{e}")) else {
            continue;
        };
        if case.expect == "clean" {
            fired.extend(case.hazards.into_iter().filter(|h| h.starts_with("fault:")));
        }
    }
    for kind in odradek_sim::Fault::INJECTORS {
        assert!(
            fired.contains(&format!("fault:{kind}")),
            "no clean case fires {kind}"
        );
    }
}

#[test]
fn a_malformed_case_names_its_file_line_and_field() {
    let dir = std::env::temp_dir().join(format!("odradek-seeds-{}", std::process::id()));
    std::fs::create_dir_all(&dir).expect("a temporary directory");
    let path = dir.join("bad.toml");
    let good = std::fs::read_to_string(&cases()[0]).expect("a case");
    std::fs::write(&path, good.replacen("seed = ", "seed = \"one\" # ", 1)).expect("written");
    let error = Case::load(&path).expect_err("rejected");
    let message = error.to_string();
    assert!(matches!(error, CaseError::Malformed { .. }), "{message}");
    assert!(
        message.contains("bad.toml") && message.contains("line") && message.contains("seed"),
        "{message}"
    );
    std::fs::write(
        &path,
        good.replacen("expect = \"", "expect = \"no-such-", 1),
    )
    .expect("written");
    let message = Case::load(&path).expect_err("rejected").to_string();
    assert!(message.contains("field=expect"), "{message}");
    let format = (good.lines())
        .find(|l| l.starts_with("format = "))
        .expect("a format line");
    for (from, to, field) in [
        (
            format.to_string(),
            "format = 99",
            "field=format: version 99",
        ),
        (format!("{format}\n"), "", "field=format missing"),
        (
            "hazards = [".to_string(),
            "hazards = [\"no-such-hazard\", ",
            "field=hazards",
        ),
    ] {
        std::fs::write(&path, good.replacen(&from, to, 1)).expect("written");
        let message = Case::load(&path).expect_err("rejected").to_string();
        assert!(message.contains(field), "{field}: {message}");
    }
    std::fs::remove_dir_all(&dir).expect("cleaned up");
}

#[test]
fn a_replay_that_misses_a_hazard_floor_fails_and_names_it() {
    // clean-1 never elects the last known leader: required, its replay fails for that.
    let path = cases().into_iter().find(|p| p.ends_with("clean-1.toml"));
    let mut case = Case::load(&path.expect("clean-1 is in the corpus")).expect("loads");
    assert!(!case.hazards.is_empty(), "the case keeps its floors");
    case.hazards.push("last-known-leader".into());
    let replayed = case.replay().expect("replays");
    assert_eq!(replayed.actual, "clean");
    assert!(!replayed.met(), "{replayed}");
    assert_eq!(replayed.unreached, vec!["last-known-leader".to_string()]);
    assert!(replayed
        .to_string()
        .contains("hazards not reached: last-known-leader"));
}

#[test]
fn a_run_with_targeted_faults_saves_as_a_plain_schedule_that_replays_to_its_trace_hash() {
    use odradek::cluster::KafkaRun;
    let run = KafkaRun::default();
    // The first seed whose targeted injectors fired at least twice.
    let (outcome, sim) = (1..50)
        .map(|seed| run.run(seed))
        .find(|(o, _)| o.targeted.values().sum::<u64>() >= 2)
        .expect("a seed among the first 49 fires its injectors");
    let drawn = run.scenario(outcome.seed);
    let drawn_len = odradek_sim::Simulation::<odradek::cluster::KafkaNode>::new(
        run.configs(outcome.seed),
        &drawn,
        outcome.seed,
    )
    .expect("valid")
    .schedule()
    .len();
    assert!(
        sim.schedule().len() > drawn_len,
        "the fired faults joined the schedule: {} of {drawn_len} drawn",
        sim.schedule().len()
    );
    let scenario = odradek_sim::Scenario {
        schedule: Some(sim.schedule().to_vec()),
        ..drawn
    };
    let anchored = odradek::cluster::anchored(&sim);
    assert_eq!(
        anchored.len(),
        sim.fired().len(),
        "every fired fault has its anchor"
    );
    let case = Case::of_run("targeted".into(), &run, &outcome, &scenario, anchored);
    // Its floors hold what the fired faults did, not the injectors, which a replay lacks.
    assert!(!case.hazards.iter().any(|h| h.starts_with("targeted:")));
    let replayed = case.replay().expect("replays");
    assert_eq!(replayed.trace_hash, case.trace_hash, "{replayed}");
    assert!(replayed.met() && !replayed.reanchored, "{replayed}");
    // The anchors alone rebuild the finding run: with the fired faults' concrete copies
    // gone from the schedule (as if the code's timing had moved them), re-anchoring
    // fires each after the same observation, and the run is the same run.
    let mut stripped = case.clone();
    let schedule = stripped.scenario.schedule.as_mut().expect("explicit");
    for fault in &case.anchored {
        let at = (schedule.iter())
            .position(|t| t.at_ms == fault.at_ms && t.fault == fault.fault)
            .expect("a fired fault is in the schedule at its time");
        schedule.remove(at);
    }
    assert_eq!(schedule.len(), drawn_len);
    let concrete = stripped.replay().expect("replays");
    assert!(concrete.reanchored || concrete.trace_hash != case.trace_hash);
    let again = stripped.replay_reanchored().expect("replays");
    assert_eq!(format!("{:016x}", again.trace_hash), case.trace_hash);
}
