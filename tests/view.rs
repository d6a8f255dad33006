//! `odradek view`'s page: self-contained, its data section pinned for one small run, and
//! that data faithful to the run (an arrow per delivery, a band per fault, the violation).
//! The page's script is checked in a real browser by `.ci/run` (`.ci/check_view.py`).

use odradek::bugs::Bug;
use odradek::cluster::{KafkaRun, View, VIEW_FORMAT};
use odradek_sim::{CrashMode, Fault, NodeId, Scenario, Timed};

/// A run small enough to read whole: one partition, a record every 100 ms, a second of
/// faults with one broker crashed and restarted, half a second of settle.
fn small() -> (KafkaRun, Scenario) {
    let mut run = KafkaRun {
        faults_ms: 1_000,
        settle_ms: 500,
        record_interval_ms: 100,
        targeted: false,
        ..KafkaRun::default()
    };
    run.cluster.topics[0].partitions = 1;
    let schedule = vec![
        Timed {
            at_ms: 400,
            fault: Fault::Crash {
                node: NodeId(1),
                mode: CrashMode::Process,
            },
        },
        Timed {
            at_ms: 700,
            fault: Fault::Restart { node: NodeId(1) },
        },
    ];
    let scenario = Scenario {
        schedule: Some(schedule),
        ..run.scenario(1)
    };
    (run, scenario)
}

fn view_of(run: &KafkaRun, scenario: &Scenario) -> (View, odradek_sim::RunStats) {
    let (outcome, sim) = run
        .run_scenario(1, scenario)
        .expect("the scenario validates");
    let view = View::of_run(&outcome, &run.configs(1), &sim);
    (view, sim.stats().clone())
}

/// The data section as the page embeds it, pretty-printed.
fn data_section(html: &str) -> serde_json::Value {
    let open = r#"<script type="application/json" id="odradek-data">"#;
    let start = html.find(open).expect("a data section") + open.len();
    let end = start + html[start..].find("</script>").expect("its end");
    serde_json::from_str(&html[start..end].replace("<\\/", "</")).expect("JSON")
}

#[test]
fn the_data_section_of_a_small_run_is_pinned() {
    let (run, scenario) = small();
    let (view, _) = view_of(&run, &scenario);
    let data = data_section(&view.to_html());
    assert_eq!(data["format"], VIEW_FORMAT);
    let pretty = serde_json::to_string_pretty(&data).expect("JSON");
    insta::assert_snapshot!("small_run_view_data", pretty);
}

#[test]
fn the_page_is_self_contained() {
    let (run, scenario) = small();
    let html = view_of(&run, &scenario).0.to_html();
    for outside in ["<script src", "<link", "@import", "url(http", "https://"] {
        assert!(
            !html.contains(outside),
            "the page reaches outside: {outside}"
        );
    }
    // The one address is the SVG namespace, a name rather than a fetch.
    let addresses = html.matches("http://").count();
    assert_eq!(
        addresses,
        html.matches("http://www.w3.org/2000/svg").count()
    );
    assert!(html.contains("data-rendered") && html.contains("window.onerror"));
    assert!(!html.contains("{{DATA}}") && !html.contains("{{TITLE}}"));
}

#[test]
fn every_delivery_is_an_arrow_and_every_fault_a_band() {
    let (run, scenario) = small();
    let (view, stats) = view_of(&run, &scenario);
    assert_eq!(
        view.nodes.len(),
        6,
        "controller, three brokers, producer, consumer"
    );
    let delivered = (view.messages.iter())
        .filter(|m| m.fate == "delivered" || m.fate == "held")
        .count() as u64;
    assert_eq!(delivered, stats.deliveries);
    assert!(view.messages.iter().all(|m| m.end_us >= m.sent_us));
    let crash = (view.faults.iter())
        .find(|b| b.kind == "crash")
        .expect("the crash's band");
    assert_eq!((crash.start_us, crash.end_us), (400_000, 700_000));
    assert_eq!(crash.nodes, vec![1]);
    assert!(view.violation.is_none());
    assert_eq!(view.window_us, (0, view.end_us));
    assert!(
        view.partitions[0].states.len() >= 2,
        "{:?}",
        view.partitions
    );
}

#[test]
fn a_violation_is_marked_with_what_it_cites_and_the_view_opens_around_it() {
    let (run, _) = small();
    let run = run.with_bugs(&[Bug::AcksAllAtLeaderAppend].into_iter().collect());
    // n1 leads t-0; its answers to its followers' fetches are held, so records are acked
    // at its append only, and then it loses its page cache.
    let (n1, n2, n3) = (NodeId(1), NodeId(2), NodeId(3));
    let channel = Some(odradek::protocol::REPLICATION);
    let at = |at_ms, fault| Timed { at_ms, fault };
    let schedule = vec![
        at(
            400,
            Fault::Hold {
                from: n1,
                to: n2,
                channel,
            },
        ),
        at(
            400,
            Fault::Hold {
                from: n1,
                to: n3,
                channel,
            },
        ),
        at(
            700,
            Fault::Crash {
                node: n1,
                mode: CrashMode::PowerLoss(odradek_sim::PowerLoss::LoseAll),
            },
        ),
        at(
            700,
            Fault::Release {
                from: n1,
                to: n2,
                channel,
            },
        ),
        at(
            700,
            Fault::Release {
                from: n1,
                to: n3,
                channel,
            },
        ),
        at(900, Fault::Restart { node: n1 }),
    ];
    let scenario = Scenario {
        schedule: Some(schedule),
        ..run.scenario(1)
    };
    let (view, _) = view_of(&run, &scenario);
    let violation = view.violation.as_ref().expect("the switch is caught");
    assert_eq!(view.outcome, violation.invariant);
    assert!(violation.fields.iter().any(|(key, _)| key == "offset"));
    assert!(view.window_us.0 <= violation.time_us && violation.time_us <= view.window_us.1);
    let fates: std::collections::BTreeMap<&str, usize> =
        view.messages
            .iter()
            .fold(Default::default(), |mut fates, m| {
                *fates.entry(m.fate).or_default() += 1;
                fates
            });
    println!("{fates:?}");
    // What n1 sent its followers while held arrived late or was lost with n1's power.
    let held = |m: &&odradek::cluster::view::Arrow| m.from == 1 && (2..=3).contains(&m.to);
    let late = (view.messages.iter().filter(held))
        .filter(|m| m.sent_us >= 400_000 && m.sent_us < 700_000)
        .collect::<Vec<_>>();
    assert!(!late.is_empty());
    assert!(
        late.iter().all(|m| m.fate == "held" || m.fate == "reset"),
        "{late:?}"
    );
}
