//! The engine's semantics on a tiny echo system: streams, resets, crashes, cuts, holds,
//! pauses, timers, clocks, supervision, schedules, bad input and the harness.

use odradek_sim::harness::{self, FailureKind};
use odradek_sim::{
    fnv64, Channel, ConnId, CrashMode, Ctx, Direction, Effect, Event, EventError, Fault, Message,
    Node, NodeId, Observed, Peer, PowerLoss, RunError, Scenario, ScenarioError, SimDiskOptions,
    Simulation, Status, StreamId, Timed, World,
};
use serde::{Deserialize, Serialize};

const CH: Channel = Channel(0);
const N0: NodeId = NodeId(0);
const N1: NodeId = NodeId(1);

#[derive(Debug, Clone, PartialEq, Eq, Hash)]
enum Msg {
    Ping(u32),
    Pong(u32),
}

impl Message for Msg {
    fn kind(&self) -> &'static str {
        match self {
            Msg::Ping(_) => "ping",
            Msg::Pong(_) => "pong",
        }
    }
}

#[derive(Debug, Clone, PartialEq, Eq, Hash, PartialOrd, Ord, Serialize, Deserialize)]
enum Tick {
    Tick,
    Never,
}

/// What an echo node does: send `script` to n1 at start, tick every `tick_ms`, panic or
/// halt on a chosen ping.
#[derive(Debug, Clone, Default, PartialEq, Eq, Hash)]
struct Cfg {
    script: Vec<Msg>,
    tick_ms: Option<u64>,
    panic_on: Option<u32>,
    halt_on: Option<u32>,
    /// Added to every tick count the node observes: changes what it reports, not what it
    /// does.
    observed_offset: u32,
}

/// Answers every ping with a pong and remembers everything that happened to it.
#[derive(Debug, Clone, PartialEq, Eq, Hash)]
struct Echo {
    cfg: Cfg,
    got: Vec<(Peer, Msg)>,
    disconnects: Vec<Peer>,
    ticks: u32,
}

impl Node for Echo {
    type Msg = Msg;
    type Timer = Tick;
    type Obs = u32;
    type Config = Cfg;

    fn new(_id: NodeId, cfg: &Cfg) -> Self {
        Self {
            cfg: cfg.clone(),
            got: Vec::new(),
            disconnects: Vec::new(),
            ticks: 0,
        }
    }

    fn on_start(&mut self, ctx: &mut Ctx<'_, Self>) {
        for msg in self.cfg.script.clone() {
            ctx.send(Peer::server(N1, CH), msg);
        }
        if let Some(tick_ms) = self.cfg.tick_ms {
            ctx.set_timer(Tick::Tick, tick_ms);
        }
    }

    fn on_message(&mut self, ctx: &mut Ctx<'_, Self>, from: Peer, msg: Msg) {
        self.got.push((from, msg.clone()));
        if let Msg::Ping(x) = msg {
            assert_ne!(self.cfg.panic_on, Some(x), "boom on ping {x}");
            if self.cfg.halt_on == Some(x) {
                ctx.halt();
            }
            ctx.send(from, Msg::Pong(x));
        }
    }

    fn on_timer(&mut self, ctx: &mut Ctx<'_, Self>, timer: Tick) {
        assert_eq!(timer, Tick::Tick);
        self.ticks += 1;
        ctx.observe(self.ticks + self.cfg.observed_offset);
        ctx.set_timer(Tick::Tick, self.cfg.tick_ms.expect("ticking"));
    }

    fn on_disconnect(&mut self, _ctx: &mut Ctx<'_, Self>, peer: Peer) {
        self.disconnects.push(peer);
    }
}

fn pings(count: u32) -> Cfg {
    Cfg {
        script: (0..count).map(Msg::Ping).collect(),
        ..Cfg::default()
    }
}

const REQUESTS: StreamId = StreamId {
    conn: ConnId {
        client: N0,
        server: N1,
        channel: CH,
    },
    direction: Direction::ToServer,
};
const REPLIES: StreamId = StreamId {
    direction: Direction::ToClient,
    ..REQUESTS
};

/// Applies an event at time 0 with every choice answered 0.
fn apply(world: &mut World<Echo>, event: Event<Tick>) -> Result<Vec<Effect<Echo>>, EventError> {
    let mut effects = Vec::new();
    world.apply(&event, 0, &mut |_: usize| 0, &mut effects)?;
    Ok(effects)
}

fn fault(world: &mut World<Echo>, fault: Fault) {
    apply(world, Event::Fault(fault)).expect("fault applies");
}

fn booted(configs: Vec<Cfg>) -> World<Echo> {
    let mut world = World::new(configs, SimDiskOptions::default());
    for node in world.ids().collect::<Vec<_>>() {
        fault(&mut world, Fault::Restart { node });
    }
    world
}

fn echo(world: &World<Echo>, id: NodeId) -> &Echo {
    world.node(id).expect("node up")
}

fn deliver(world: &mut World<Echo>, stream: StreamId) {
    apply(world, Event::Deliver(stream)).expect("deliverable");
}

#[test]
fn one_stream_delivers_in_send_order_and_replies_travel_back_on_the_connection() {
    let mut world = booted(vec![pings(3), Cfg::default()]);
    assert_eq!(world.in_flight(REQUESTS), 3);
    for _ in 0..3 {
        deliver(&mut world, REQUESTS);
    }
    let got: Vec<Msg> = echo(&world, N1)
        .got
        .iter()
        .map(|(_, m)| m.clone())
        .collect();
    assert_eq!(got, vec![Msg::Ping(0), Msg::Ping(1), Msg::Ping(2)]);
    assert_eq!(echo(&world, N1).got[0].0, Peer::client(N0, CH));
    assert_eq!(world.in_flight(REPLIES), 3);
    deliver(&mut world, REPLIES);
    assert_eq!(
        echo(&world, N0).got,
        vec![(Peer::server(N1, CH), Msg::Pong(0))]
    );
}

#[test]
fn enabled_lists_exactly_the_deliverable_heads_and_the_armed_timers_of_up_nodes() {
    let ticking = Cfg {
        tick_ms: Some(10),
        ..pings(2)
    };
    let mut world = booted(vec![ticking, Cfg::default()]);
    let mut enabled = Vec::new();
    world.enabled(&mut enabled);
    let fire = Event::Fire {
        node: N0,
        timer: Tick::Tick,
    };
    assert_eq!(enabled, vec![Event::Deliver(REQUESTS), fire.clone()]);
    fault(&mut world, Fault::Pause { node: N0 });
    enabled.clear();
    world.enabled(&mut enabled);
    assert_eq!(enabled, vec![Event::Deliver(REQUESTS)]);
    fault(&mut world, Fault::Resume { node: N0 });
    apply(&mut world, fire).expect("armed");
    assert_eq!(echo(&world, N0).ticks, 1);
    assert_eq!(world.timers(N0).collect::<Vec<_>>(), vec![&Tick::Tick]);
}

#[test]
fn refused_events_change_nothing() {
    let mut world = booted(vec![pings(1), Cfg::default()]);
    let before = world.clone();
    let not_enabled =
        |result: Result<_, EventError>| matches!(result, Err(EventError::NotEnabled { .. }));
    assert!(not_enabled(apply(&mut world, Event::Deliver(REPLIES))));
    let never = Event::Fire {
        node: N0,
        timer: Tick::Never,
    };
    assert!(not_enabled(apply(&mut world, never)));
    assert!(not_enabled(apply(
        &mut world,
        Event::Fault(Fault::Restart { node: N0 })
    )));
    assert!(not_enabled(apply(
        &mut world,
        Event::Fault(Fault::Resume { node: N0 })
    )));
    let unknown = Event::Fault(Fault::Crash {
        node: NodeId(9),
        mode: CrashMode::Process,
    });
    assert_eq!(
        apply(&mut world, unknown).err(),
        Some(EventError::UnknownNode {
            node: NodeId(9),
            nodes: 2
        })
    );
    assert_eq!(world, before);
}

#[test]
fn worlds_with_equal_histories_are_equal_and_fingerprint_alike() {
    let mut a = booted(vec![pings(2), Cfg::default()]);
    let mut b = booted(vec![pings(2), Cfg::default()]);
    assert_eq!(a, b);
    assert_eq!(fnv64(&a), fnv64(&b));
    deliver(&mut a, REQUESTS);
    assert_ne!(fnv64(&a), fnv64(&b));
    deliver(&mut b, REQUESTS);
    assert_eq!(fnv64(&a), fnv64(&b));
}

#[test]
fn process_crash_resets_the_connections_and_the_peer_gets_on_disconnect() {
    let mut world = booted(vec![pings(2), Cfg::default()]);
    let crash = Fault::Crash {
        node: N0,
        mode: CrashMode::Process,
    };
    let effects = apply(&mut world, Event::Fault(crash)).expect("up");
    assert!(matches!(
        effects[0],
        Effect::Crashed {
            node: N0,
            halted: false,
            ..
        }
    ));
    assert!(matches!(effects[1], Effect::Closed(conn) if conn == REQUESTS.conn));
    assert_eq!(world.in_flight(REQUESTS), 0);
    assert_eq!(world.status(N0), Status::Down);
    assert_eq!(echo(&world, N1).disconnects, vec![Peer::client(N0, CH)]);
}

#[test]
fn power_loss_leaves_the_peer_half_open_until_the_node_restarts() {
    let mut world = booted(vec![pings(2), Cfg::default()]);
    let power_loss = Fault::Crash {
        node: N1,
        mode: CrashMode::PowerLoss(PowerLoss::LoseAll),
    };
    fault(&mut world, power_loss);
    assert!(echo(&world, N0).disconnects.is_empty());
    assert_eq!(world.in_flight(REQUESTS), 2);
    assert!(!world.can_deliver(REQUESTS));
    fault(&mut world, Fault::Restart { node: N1 });
    assert_eq!(echo(&world, N0).disconnects, vec![Peer::server(N1, CH)]);
    assert_eq!(world.in_flight(REQUESTS), 0);
}

#[test]
fn reset_loses_everything_in_flight_and_tells_both_ends() {
    let mut world = booted(vec![pings(2), Cfg::default()]);
    deliver(&mut world, REQUESTS);
    fault(&mut world, Fault::Reset { a: N1, b: N0 });
    assert_eq!(world.in_flight(REQUESTS) + world.in_flight(REPLIES), 0);
    assert_eq!(echo(&world, N0).disconnects, vec![Peer::server(N1, CH)]);
    assert_eq!(echo(&world, N1).disconnects, vec![Peer::client(N0, CH)]);
    let again = apply(&mut world, Event::Fault(Fault::Reset { a: N0, b: N1 }));
    assert!(matches!(
        again,
        Err(EventError::NotEnabled {
            reason: "no connection",
            ..
        })
    ));
}

#[test]
fn partition_holds_messages_until_healed() {
    let mut world = booted(vec![pings(1), Cfg::default()]);
    fault(&mut world, Fault::Partition { side: vec![N0] });
    assert!(!world.can_deliver(REQUESTS));
    assert_eq!(world.in_flight(REQUESTS), 1);
    fault(&mut world, Fault::HealPartitions);
    deliver(&mut world, REQUESTS);
}

#[test]
fn one_way_partition_cuts_only_its_direction_and_bridge_keeps_the_middle_connected() {
    let mut world = booted(vec![pings(2), Cfg::default()]);
    deliver(&mut world, REQUESTS);
    let one_way = Fault::PartitionOneWay {
        from: vec![N0],
        to: vec![N1],
    };
    fault(&mut world, one_way);
    assert!(!world.can_deliver(REQUESTS));
    assert!(world.can_deliver(REPLIES));
    fault(&mut world, Fault::HealPartitions);
    let bridge = Fault::Bridge {
        left: vec![N0],
        bridge: NodeId(2),
        right: vec![N1],
    };
    let mut three = booted(vec![pings(1), Cfg::default(), Cfg::default()]);
    fault(&mut three, bridge);
    assert!(!three.can_deliver(REQUESTS));
}

#[test]
fn hold_kind_stops_a_stream_at_its_first_message_of_that_kind() {
    let script = Cfg {
        script: vec![Msg::Ping(0), Msg::Pong(1), Msg::Ping(2)],
        ..Cfg::default()
    };
    let mut world = booted(vec![script, Cfg::default()]);
    let hold = Fault::HoldKind {
        kind: "pong".into(),
        from: None,
        to: Some(N1),
    };
    fault(&mut world, hold);
    deliver(&mut world, REQUESTS);
    assert!(
        !world.can_deliver(REQUESTS),
        "the pong and the ping behind it wait"
    );
    assert_eq!(world.in_flight(REQUESTS), 2);
    let release = Fault::ReleaseKind {
        kind: "pong".into(),
        from: None,
        to: Some(N1),
    };
    fault(&mut world, release);
    deliver(&mut world, REQUESTS);
    deliver(&mut world, REQUESTS);
    let hold = Fault::Hold {
        from: N1,
        to: N0,
        channel: Some(CH),
    };
    fault(&mut world, hold);
    assert!(!world.can_deliver(REPLIES));
}

#[test]
fn paused_node_gets_the_disconnects_it_missed_when_resumed() {
    let mut world = booted(vec![pings(1), Cfg::default()]);
    fault(&mut world, Fault::Pause { node: N1 });
    assert!(!world.can_deliver(REQUESTS));
    let crash = Fault::Crash {
        node: N0,
        mode: CrashMode::Process,
    };
    fault(&mut world, crash);
    assert!(echo(&world, N1).disconnects.is_empty());
    fault(&mut world, Fault::Resume { node: N1 });
    assert_eq!(echo(&world, N1).disconnects, vec![Peer::client(N0, CH)]);
}

fn scenario(faults_ms: u64, schedule: Vec<Timed>) -> Scenario {
    Scenario {
        faults_ms,
        settle_ms: 0,
        schedule: Some(schedule),
        ..Scenario::default()
    }
}

fn ticks_by(sim: &Simulation<Echo>, time_us: u64) -> usize {
    let ticks = sim
        .log()
        .iter()
        .filter(|o| matches!(o.what, Observed::Node(_)));
    ticks.filter(|o| o.time_us <= time_us).count()
}

#[test]
fn drift_scales_how_fast_a_node_timers_run() {
    let ticking = Cfg {
        tick_ms: Some(100),
        ..Cfg::default()
    };
    let drift = Fault::Drift {
        node: N0,
        drift_ppm: 100_000,
    };
    let fast = scenario(
        3_000,
        vec![Timed {
            at_ms: 0,
            fault: drift,
        }],
    );
    let mut sims = [Scenario::default(), fast].map(|scenario| {
        let mut sim = Simulation::<Echo>::new(vec![ticking.clone()], &scenario, 1).expect("valid");
        sim.boot().expect("boots");
        sim.run_until(2_000_000, &mut |_| Ok(())).expect("runs");
        sim
    });
    assert_eq!(ticks_by(&sims[0], 2_000_000), 20);
    // The first tick was armed before the drift: 100 ms, then 20 of 90.9 ms.
    assert_eq!(ticks_by(&sims[1], 2_000_000), 21);
    let jump = Fault::Jump {
        node: N0,
        delta_ms: -60_000,
    };
    sims[0]
        .replay(Event::Fault(jump), &mut |_: usize| 0)
        .expect("jumps");
    assert_eq!(sims[0].world().clock(N0).offset_ms, -60_000);
}

#[test]
fn latency_jitter_never_reorders_a_stream() {
    let mut scenario = scenario(1_000, Vec::new());
    scenario.sim.latency.min_us = 0;
    scenario.sim.latency.max_us = 50_000;
    let mut sim =
        Simulation::<Echo>::new(vec![pings(50), Cfg::default()], &scenario, 3).expect("valid");
    sim.run(&mut |_| Ok(())).expect("runs");
    let got: Vec<Msg> = echo(sim.world(), N0)
        .got
        .iter()
        .map(|(_, m)| m.clone())
        .collect();
    assert_eq!(got, (0..50).map(Msg::Pong).collect::<Vec<_>>());
}

#[test]
fn halt_drops_later_outputs_and_the_supervisor_restarts_the_node() {
    let halting = Cfg {
        halt_on: Some(7),
        ..Cfg::default()
    };
    let mut sim = Simulation::<Echo>::new(vec![pings(8), halting], &scenario(2_000, Vec::new()), 1)
        .expect("valid");
    sim.run(&mut |_| Ok(())).expect("runs");
    assert_eq!(sim.stats().halts, 1);
    let client = echo(sim.world(), N0);
    assert!(
        client.got.iter().all(|(_, msg)| *msg != Msg::Pong(7)),
        "no pong after the halt"
    );
    assert_eq!(client.disconnects, vec![Peer::server(N1, CH)]);
    let what: Vec<&Observed<u32>> = sim.log().iter().map(|o| &o.what).collect();
    let halted = Observed::Crashed {
        mode: CrashMode::Process,
        halted: true,
    };
    let at = what.iter().position(|w| **w == halted).expect("halted");
    assert_eq!(*what[at + 1], Observed::Restarted);
    assert_eq!(sim.world().status(N1), Status::Up);
}

#[test]
fn scheduled_fault_that_is_not_enabled_is_skipped_and_traced() {
    let restart_up_node = Timed {
        at_ms: 10,
        fault: Fault::Restart { node: N0 },
    };
    let mut sim = Simulation::<Echo>::new(
        vec![Cfg::default()],
        &scenario(100, vec![restart_up_node]),
        1,
    )
    .expect("valid");
    sim.run(&mut |_| Ok(())).expect("runs");
    assert_eq!(sim.stats().skipped, 1);
    let skipped = sim.trace().entries().iter().find(|e| e.skipped.is_some());
    assert_eq!(skipped.map(|e| e.time_us), Some(10_000));
    assert_eq!(skipped.and_then(|e| e.skipped), Some("node not down"));
}

#[test]
fn replay_applies_given_events_and_refuses_disabled_ones() {
    let mut sim = Simulation::<Echo>::new(vec![pings(1), Cfg::default()], &Scenario::default(), 1)
        .expect("valid");
    sim.boot().expect("boots");
    sim.replay(Event::Deliver(REQUESTS), &mut |_: usize| 0)
        .expect("enabled");
    assert_eq!(sim.stats().deliveries, 1);
    let refused = sim.replay(Event::Deliver(REQUESTS), &mut |_: usize| 0);
    assert!(matches!(refused, Err(RunError::Event { .. })));
}

#[test]
fn node_panic_is_reported_as_a_failure_with_its_seed() {
    let failure = harness::run_seed(41, |seed| {
        let panicking = Cfg {
            panic_on: Some(0),
            ..Cfg::default()
        };
        let mut sim =
            Simulation::<Echo>::new(vec![pings(1), panicking], &Scenario::default(), seed)
                .expect("valid");
        sim.run(&mut |_| Ok(()))
    })
    .expect_err("the node panics");
    assert_eq!(failure.seed, 41);
    assert_eq!(failure.kind, FailureKind::Panic);
    assert!(failure.message.contains("boom on ping 0"), "{failure}");
}

#[test]
fn determinism_check_names_the_first_divergent_event() {
    let calls = std::cell::Cell::new(0u64);
    let run = |seed: u64| {
        calls.set(calls.get() + 1);
        let mut scenario = scenario(1_000, Vec::new());
        scenario.sim.latency.max_us = 50_000;
        let mut sim = Simulation::<Echo>::new(
            vec![pings(5), Cfg::default()],
            &scenario,
            seed + calls.get(),
        )
        .expect("valid");
        sim.run(&mut |_| Ok(())).expect("runs");
        sim.trace().clone()
    };
    let divergence = harness::check_determinism(1, run).expect_err("seeds differ");
    assert!(divergence.index > 0, "boot is identical: {divergence}");
    assert!(divergence.to_string().starts_with("runs diverge at event"));
}

#[test]
fn malformed_scenario_is_rejected_naming_the_field() {
    let path_of = |text: &str| match Scenario::from_json(text, 2) {
        Err(ScenarioError::Malformed { path, .. }) => path,
        other => panic!("expected a malformed scenario, got {other:?}"),
    };
    let bad_time = r#"{"schedule": [{"at_ms": "soon", "fault": "HealNetwork"}]}"#;
    assert_eq!(path_of(bad_time), "schedule[0].at_ms");
    assert_eq!(path_of(r#"{"nemesis": {"proces": {}}}"#), "nemesis.proces");
    assert_eq!(
        path_of(r#"{"nemesis": {"process": {"crash": 1.5}}}"#),
        "nemesis.process.crash"
    );
    let bad_fault = r#"{"schedule": [{"at_ms": 1, "fault": {"Explode": {}}}]}"#;
    assert_eq!(path_of(bad_fault), "schedule[0].fault");
    let message = Scenario::from_json(bad_time, 2).unwrap_err().to_string();
    assert!(
        message.starts_with("malformed scenario. field=schedule[0].at_ms"),
        "{message}"
    );
}

#[test]
fn fault_naming_an_unknown_node_is_an_error_not_a_panic() {
    let text = r#"{"faults_ms": 100, "schedule": [
        {"at_ms": 5, "fault": "HealNetwork"},
        {"at_ms": 6, "fault": {"Crash": {"node": 9, "mode": "Process"}}}
    ]}"#;
    let error = Scenario::from_json(text, 2).unwrap_err();
    assert_eq!(
        error,
        ScenarioError::UnknownNode {
            field: "schedule[1].fault".into(),
            node: NodeId(9),
            nodes: 2
        }
    );
    let late = r#"{"faults_ms": 100, "schedule": [{"at_ms": 100, "fault": "HealNetwork"}]}"#;
    assert!(matches!(
        Scenario::from_json(late, 2),
        Err(ScenarioError::Invalid { field, .. }) if field == "schedule[0].at_ms"
    ));
    let scenario: Scenario = odradek_sim::parse_json(text).expect("well-formed");
    assert!(Simulation::<Echo>::new(vec![Cfg::default()], &scenario, 1).is_err());
}

#[test]
fn scenario_round_trips_through_json() {
    let crash = Fault::Crash {
        node: N1,
        mode: CrashMode::PowerLoss(PowerLoss::Torn),
    };
    let scenario = scenario(
        500,
        vec![Timed {
            at_ms: 7,
            fault: crash,
        }],
    );
    let text = serde_json::to_string(&scenario).expect("serializes");
    assert_eq!(Scenario::from_json(&text, 2), Ok(scenario));
}

#[test]
fn the_trace_hash_covers_what_nodes_observe() {
    let run = |observed_offset| {
        let ticking = Cfg {
            tick_ms: Some(100),
            observed_offset,
            ..Cfg::default()
        };
        let mut sim =
            Simulation::<Echo>::new(vec![ticking], &scenario(1_000, Vec::new()), 1).expect("valid");
        sim.run(&mut |_| Ok(())).expect("runs");
        sim
    };
    let (plain, shifted) = (run(0), run(1_000));
    assert_eq!(plain.stats().events, shifted.stats().events);
    assert!(plain.stats().events >= 10, "the node ticked");
    let events = |sim: &Simulation<Echo>| {
        let entries = sim.trace().entries().iter();
        entries
            .map(|e| format!("{} {:?}", e.time_us, e.event))
            .collect::<Vec<_>>()
    };
    assert_eq!(events(&plain), events(&shifted), "the same events");
    assert_ne!(plain.trace().hash(), shifted.trace().hash());
}
