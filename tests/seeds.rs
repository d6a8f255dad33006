//! The regression corpus: every case in `seeds/` replayed and held to its expectation (a
//! fixed bug stays fixed, a bug-zoo case stays caught), and bad case files rejected with
//! the file, line and field.

use std::path::{Path, PathBuf};

use odradek::cluster::{Case, CaseError};

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
    let mut caught = 0;
    for path in &files {
        let case = Case::load(path).unwrap_or_else(|e| panic!("{e}"));
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
    assert!(caught >= 9, "bug-zoo cases: {caught}");
}

#[test]
fn the_clean_cases_between_them_fire_every_fault_kind() {
    let mut fired = std::collections::BTreeSet::new();
    for path in cases() {
        let case = Case::load(&path).unwrap_or_else(|e| panic!("{e}"));
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
    for (from, to, field) in [
        ("format = 1", "format = 99", "field=format: version 99"),
        ("format = 1\n", "", "field=format missing"),
        (
            "hazards = [",
            "hazards = [\"no-such-hazard\", ",
            "field=hazards",
        ),
    ] {
        std::fs::write(&path, good.replacen(from, to, 1)).expect("written");
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
