//! The `odradek` command line as a user runs it: the default Kafka swarm, its summary
//! independent of `--jobs`, a bug caught with its replay line, the bug zoo's list, and bad
//! usage exiting 2.

use std::process::{Command, Output};

fn odradek(args: &[&str]) -> Output {
    Command::new(env!("CARGO_BIN_EXE_odradek"))
        .args(args)
        .output()
        .expect("the binary runs")
}

fn stdout(output: &Output) -> String {
    String::from_utf8_lossy(&output.stdout).into_owned()
}

#[test]
fn swarm_summaries_do_not_depend_on_the_number_of_threads() {
    let without_wall = |output: &Output| {
        let text = stdout(output);
        text.lines()
            .map(|line| line.split("   wall:").next().unwrap_or(line).to_string())
            .collect::<Vec<_>>()
    };
    let one = odradek(&["swarm", "--seeds", "3", "--start", "11", "--jobs", "1"]);
    let two = odradek(&["swarm", "--seeds", "3", "--start", "11", "--jobs", "2"]);
    assert!(one.status.success(), "{}", stdout(&one));
    assert_eq!(without_wall(&one), without_wall(&two));
    let text = stdout(&one);
    assert!(
        text.contains("seeds: 3") && text.contains("violations: none"),
        "{text}"
    );
    let acked: u64 = (text.split("acked: ").nth(1))
        .and_then(|rest| rest.split_whitespace().next())
        .and_then(|n| n.parse().ok())
        .expect("the summary counts acks");
    assert!(acked >= 3 * 1_000, "the runs did something: {text}");
}

#[test]
fn coverage_names_the_hazards_no_seed_reached_and_can_gate_the_exit() {
    // Three seeds reach some hazards, never all of them: the summary counts seeds per
    // reached hazard and names the rest; --require-coverage turns those into exit 1.
    let args = ["swarm", "--seeds", "3", "--start", "11", "--jobs", "1"];
    let plain = odradek(&args);
    assert!(plain.status.success(), "{}", stdout(&plain));
    let text = stdout(&plain);
    let line = |prefix: &str| {
        (text.lines())
            .find_map(|l| l.strip_prefix(prefix).map(str::to_string))
            .unwrap_or_else(|| panic!("a line {prefix}: {text}"))
    };
    let coverage = line("coverage: ");
    let unreached = line("unreached: ");
    assert!(coverage.contains("failover "), "{coverage}");
    assert_ne!(unreached, "none", "three seeds cannot reach every hazard");
    for hazard in unreached.split(", ") {
        assert!(
            odradek::cluster::hazards().iter().any(|h| h == hazard),
            "{hazard}"
        );
        assert!(!coverage.contains(&format!(" {hazard} ")), "{hazard}");
    }
    let gated = odradek(&[&args[..], &["--require-coverage"]].concat());
    assert_eq!(gated.status.code(), Some(1), "{}", stdout(&gated));
    let without_wall = |text: &str| {
        (text.lines())
            .map(|line| line.split("   wall:").next().unwrap_or(line).to_string())
            .filter(|line| !line.starts_with("coverage required:"))
            .collect::<Vec<_>>()
    };
    let gated_text = stdout(&gated);
    assert!(gated_text.contains("coverage required:"), "{gated_text}");
    assert_eq!(without_wall(&gated_text), without_wall(&text));
}

#[test]
fn a_bug_switch_is_caught_and_printed_with_its_replay_line() {
    let output = odradek(&[
        "swarm",
        "--seeds",
        "3",
        "--bug",
        "reassign_sequence_on_retry",
    ]);
    assert_eq!(output.status.code(), Some(1), "{}", stdout(&output));
    let text = stdout(&output);
    assert!(text.contains("violation: duplicate:"), "{text}");
    let replay = (text.lines())
        .find_map(|line| line.strip_prefix("replay: odradek "))
        .expect("a replay line");
    let args: Vec<&str> = replay.split_whitespace().collect();
    let replayed = odradek(&args);
    assert_eq!(replayed.status.code(), Some(1));
    assert!(
        stdout(&replayed).contains("violation: duplicate:"),
        "{}",
        stdout(&replayed)
    );
    assert!(stdout(&replayed).contains("trace-hash: "));
}

#[test]
fn bugs_lists_every_switch_with_its_invariant() {
    let output = odradek(&["bugs"]);
    assert!(output.status.success());
    let text = stdout(&output);
    for bug in odradek::bugs::Bug::ALL {
        let line = text.lines().find(|l| l.starts_with(bug.name()));
        let line = line.unwrap_or_else(|| panic!("{bug} listed: {text}"));
        assert!(line.contains(bug.expected().name()), "{line}");
    }
}

#[test]
fn bad_usage_exits_2() {
    assert_eq!(
        odradek(&["swarm", "--bug", "no_such_bug"]).status.code(),
        Some(2)
    );
    assert_eq!(
        odradek(&["swarm", "--seeds", "many"]).status.code(),
        Some(2)
    );
    assert_eq!(odradek(&["frobnicate"]).status.code(), Some(2));
}

#[test]
fn the_printed_default_scenario_runs_as_the_default() {
    let printed = odradek(&["scenario"]);
    assert!(printed.status.success());
    let path = std::env::temp_dir().join(format!("odradek-scenario-{}.toml", std::process::id()));
    std::fs::write(&path, &printed.stdout).expect("written");
    let from_file = odradek(&[
        "run",
        "--seed",
        "5",
        "--scenario",
        path.to_str().expect("utf-8"),
    ]);
    let default = odradek(&["run", "--seed", "5"]);
    let hash = |o: &Output| {
        stdout(o)
            .lines()
            .find(|l| l.starts_with("trace-hash:"))
            .map(str::to_owned)
    };
    assert!(hash(&default).is_some(), "{}", stdout(&default));
    assert_eq!(hash(&from_file), hash(&default));
    let broken =
        String::from_utf8_lossy(&printed.stdout).replace("linger_ms = 5", "linger_ms = \"five\"");
    std::fs::write(&path, broken).expect("written");
    let bad = odradek(&[
        "run",
        "--seed",
        "5",
        "--scenario",
        path.to_str().expect("utf-8"),
    ]);
    assert_eq!(bad.status.code(), Some(2));
    let message = String::from_utf8_lossy(&bad.stderr);
    assert!(
        message.contains("line") && message.contains("linger_ms"),
        "{message}"
    );
    std::fs::remove_file(&path).expect("cleaned up");
}

#[test]
fn sharded_swarms_merge_into_the_whole_swarms_summary() {
    let dir = std::env::temp_dir().join(format!("odradek-shards-{}", std::process::id()));
    std::fs::create_dir_all(&dir).expect("a temporary directory");
    let report = |i: u32| {
        dir.join(format!("shard-{i}.jsonl"))
            .to_str()
            .expect("utf-8")
            .to_owned()
    };
    for i in 1..=2 {
        let shard = format!("{i}/2");
        let out = odradek(&[
            "swarm",
            "--seeds",
            "4",
            "--start",
            "30",
            "--shard",
            &shard,
            "--json",
            &report(i),
        ]);
        assert!(out.status.success(), "{}", stdout(&out));
    }
    let merged = odradek(&["merge", &report(1), &report(2)]);
    let whole = odradek(&["swarm", "--seeds", "4", "--start", "30"]);
    let counts = |o: &Output| {
        let text = stdout(o);
        let lines: Vec<String> = text
            .lines()
            .map(|l| l.split("   wall:").next().unwrap_or(l).to_owned())
            .collect();
        lines
    };
    assert!(stdout(&merged).contains("seeds: 4"), "{}", stdout(&merged));
    assert_eq!(counts(&merged), counts(&whole));
    std::fs::remove_dir_all(&dir).expect("cleaned up");
}

#[test]
fn bench_prints_the_kafka_figures_in_order() {
    let output = odradek(&["bench", "--seeds", "2"]);
    assert!(output.status.success(), "{}", stdout(&output));
    let text = stdout(&output);
    let lines: Vec<&str> = text.lines().collect();
    let figure = |line: &str, prefix: &str, suffix: &str| {
        let number = (line.strip_prefix(prefix))
            .and_then(|rest| rest.split_once(suffix))
            .and_then(|(n, _)| n.parse::<f64>().ok());
        assert!(number.is_some_and(|n| n > 0.0), "{prefix}: {text}");
    };
    figure(
        lines[0],
        "default scenario, faults on: ",
        " simulated s per wall s",
    );
    figure(
        lines[1],
        "default scenario, faults off: ",
        " simulated s per wall s",
    );
    figure(lines[2], "swarm: ", " seeds per wall minute");
}

#[test]
fn run_writes_its_trace_as_versioned_json_lines() {
    let path = std::env::temp_dir().join(format!("odradek-trace-{}.jsonl", std::process::id()));
    let path_text = path.to_str().expect("a UTF-8 path");
    let output = odradek(&["run", "--seed", "3", "--trace", path_text]);
    assert!(output.status.success(), "{}", stdout(&output));
    let printed_hash = (stdout(&output).lines())
        .find_map(|l| l.strip_prefix("trace-hash: ").map(str::to_string))
        .expect("the trace hash");
    let text = std::fs::read_to_string(&path).expect("the trace was written");
    std::fs::remove_file(&path).expect("removed");
    let lines: Vec<serde_json::Value> = (text.lines())
        .map(|l| serde_json::from_str(l).expect("every line is JSON"))
        .collect();
    let header = &lines[0];
    assert_eq!(header["format"], "odradek-trace");
    assert_eq!(header["version"], 1);
    assert_eq!(header["trace_hash"], printed_hash.as_str());
    let of_type = |t: &str| lines.iter().filter(|l| l["type"] == t).count() as u64;
    assert_eq!(of_type("event"), header["events"].as_u64().expect("events"));
    assert!(
        of_type("history") >= 3_000,
        "every send's invoke and completion"
    );
    assert!(of_type("observation") > 0 && of_type("engine") > 0);
    // An event's observations follow it, at its time.
    let mut time = 0;
    for line in &lines[1..] {
        let t = line["time_us"].as_u64().expect("a time");
        match line["type"] == "event" {
            true => assert!(t >= time, "events in time order"),
            false => assert_eq!(t, time, "logged at its event's time: {line}"),
        }
        time = t;
    }
}

#[test]
fn output_into_a_closed_pipe_ends_quietly() {
    use std::process::Stdio;
    let mut child = Command::new(env!("CARGO_BIN_EXE_odradek"))
        .args(["run", "--seed", "1"])
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .spawn()
        .expect("odradek starts");
    drop(child.stdout.take());
    let output = child.wait_with_output().expect("odradek ends");
    let stderr = String::from_utf8_lossy(&output.stderr);
    assert!(!stderr.contains("panicked"), "{stderr}");
    assert_ne!(output.status.code(), Some(101), "{stderr}");
}

#[test]
fn check_reports_a_depth_bounded_search_as_bounded_and_refuses_bad_bounds() {
    let output = odradek(&["check", "--depth", "6"]);
    let out = stdout(&output);
    assert_eq!(output.status.code(), Some(0), "{out}");
    assert!(out.starts_with("model: 2 replicas, 1 record(s)"), "{out}");
    assert!(out.contains("bounded: the depth bound (6)"), "{out}");
    assert!(!out.contains("exhausted"), "{out}");
    for bad in [
        vec!["check", "--replicas", "0"],
        vec!["check", "--bug", "no_such_bug"],
        vec!["check", "--bug", "acks_all_at_leader_append"],
    ] {
        assert_eq!(odradek(&bad).status.code(), Some(2), "{bad:?}");
    }
}

#[test]
fn shrink_writes_a_smaller_case_that_replay_reproduces() {
    let dir = std::env::temp_dir().join(format!("odradek-cli-shrink-{}", std::process::id()));
    std::fs::create_dir_all(&dir).expect("a temporary directory");
    let out = dir.join("shrunk.toml");
    let out_arg = out.to_string_lossy().into_owned();
    let output = odradek(&[
        "shrink",
        "--seed",
        "1",
        "--bug",
        "reassign_sequence_on_retry",
        "--out",
        &out_arg,
    ]);
    let text = stdout(&output);
    assert_eq!(output.status.code(), Some(0), "{text}");
    assert!(text.contains("violation: duplicate:"), "{text}");
    let faults = |prefix: &str| -> usize {
        let line = text.lines().find_map(|l| l.strip_prefix(prefix));
        let line = line.unwrap_or_else(|| panic!("a line {prefix}: {text}"));
        let count = line.split_whitespace().next().expect("a count");
        count.parse().expect("a number of faults")
    };
    assert!(faults("after:  ") < faults("before: "), "{text}");
    let replay = (text.lines())
        .find_map(|line| line.strip_prefix("replay: odradek "))
        .expect("a replay line");
    let args: Vec<&str> = replay.split_whitespace().collect();
    let replayed = odradek(&args);
    assert_eq!(replayed.status.code(), Some(0), "{}", stdout(&replayed));
    assert!(stdout(&replayed).contains("ok: expected duplicate, got duplicate"));
    let clean = env!("CARGO_MANIFEST_DIR").to_string() + "/seeds/clean-1.toml";
    assert_eq!(odradek(&["shrink", &clean]).status.code(), Some(2));
    let missing = dir.join("missing.toml");
    let missing = missing.to_string_lossy();
    assert_eq!(odradek(&["shrink", &missing]).status.code(), Some(2));
    std::fs::remove_dir_all(&dir).ok();
}

#[test]
fn view_and_run_write_the_page_of_a_run() {
    let dir = std::env::temp_dir().join(format!("odradek-cli-view-{}", std::process::id()));
    std::fs::create_dir_all(&dir).expect("a temporary directory");
    let case = env!("CARGO_MANIFEST_DIR").to_string() + "/seeds/no_idempotent_dedup-1.toml";
    let page = dir.join("case.html");
    let page_arg = page.to_string_lossy().into_owned();
    let output = odradek(&["view", &case, "--html", &page_arg]);
    assert_eq!(output.status.code(), Some(0), "{}", stdout(&output));
    let html = std::fs::read_to_string(&page).expect("the page");
    assert!(html.contains(r#"id="odradek-data""#) && html.contains(r#""outcome":"duplicate""#));
    let run_page = dir.join("run.html");
    let run_arg = run_page.to_string_lossy().into_owned();
    let output = odradek(&["run", "--seed", "3", "--html", &run_arg]);
    assert_eq!(output.status.code(), Some(0), "{}", stdout(&output));
    assert!(std::fs::read_to_string(&run_page).is_ok_and(|h| h.contains(r#""seed":3"#)));
    let missing = dir.join("missing.toml").to_string_lossy().into_owned();
    assert_eq!(
        odradek(&["view", &missing, "--html", &page_arg])
            .status
            .code(),
        Some(2)
    );
    std::fs::remove_dir_all(&dir).ok();
}

#[test]
fn check_saves_its_counterexample_for_replay_in_the_simulator() {
    let dir = std::env::temp_dir().join(format!("odradek-cli-cex-{}", std::process::id()));
    std::fs::create_dir_all(&dir).expect("a temporary directory");
    let file = dir.join("cex.toml").to_string_lossy().into_owned();
    let output = odradek(&["check", "--bug", "hw_over_proposed_isr", "--save", &file]);
    let text = stdout(&output);
    assert_eq!(output.status.code(), Some(1), "{text}");
    assert!(
        text.contains("violation: strong-isr (8 steps, the shortest)"),
        "{text}"
    );
    let replayed = odradek(&["replay", &file]);
    assert_eq!(replayed.status.code(), Some(0), "{}", stdout(&replayed));
    assert!(stdout(&replayed).contains("the oracle found strong-isr"));
    let bad = dir.join("bad.toml");
    std::fs::write(
        &bad,
        "format = 3\nabout = \"x\"\nexpect = \"strong-isr\"\nsteps = 1\n",
    )
    .expect("written");
    let bad = bad.to_string_lossy().into_owned();
    let refused = odradek(&["replay", &bad]);
    assert_eq!(refused.status.code(), Some(2));
    let message = String::from_utf8_lossy(&refused.stderr);
    assert!(
        message.contains("bad.toml") && message.contains("line"),
        "{message}"
    );
    std::fs::remove_dir_all(&dir).ok();
}
