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
    std::fs::remove_dir_all(&dir).expect("cleaned up");
}
