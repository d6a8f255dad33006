//! Roles that stand alone: two roles, each with its own timers and observations, composed
//! into one node type, run by the simulation and by a hand-written driver that builds its
//! own `RoleCtx`, as a real-mode shell does.

use odradek_sim::{
    Channel, Command, Ctx, Message, Node, NodeId, Observed, Peer, RoleCtx, Scenario, SimDisk,
    SimDiskOptions, Simulation,
};
use serde::{Deserialize, Serialize};

const CH: Channel = Channel(0);
const SERVER: NodeId = NodeId(0);
const CLIENT: NodeId = NodeId(1);

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

/// The counter role's only timer.
#[derive(Debug, Clone, PartialEq, Eq, Hash, PartialOrd, Ord, Serialize, Deserialize)]
enum CounterTimer {
    Flush,
}

/// Counts pings, answers each, and writes the count to its disk on a timer; observes each
/// count it made durable.
#[derive(Debug, Clone, PartialEq, Eq, Hash)]
struct Counter {
    pings: u32,
}

type CounterCtx<'a> = RoleCtx<'a, Msg, CounterTimer, u32>;

impl Counter {
    fn on_start(&mut self, ctx: &mut CounterCtx<'_>) {
        let mut bytes = [0; 4];
        if ctx.disk().read_at("count", 0, &mut bytes).is_ok() {
            self.pings = u32::from_le_bytes(bytes);
        }
        ctx.set_timer(CounterTimer::Flush, 50);
    }

    fn on_message(&mut self, ctx: &mut CounterCtx<'_>, from: Peer, msg: Msg) {
        if let Msg::Ping(x) = msg {
            self.pings += 1;
            ctx.send(from, Msg::Pong(x));
        }
    }

    fn on_timer(&mut self, ctx: &mut CounterCtx<'_>, CounterTimer::Flush: CounterTimer) {
        let disk = ctx.disk();
        let _ = disk.create("count");
        let synced = disk
            .write_at("count", 0, &self.pings.to_le_bytes())
            .and_then(|()| disk.sync("count"));
        match synced {
            Ok(()) => ctx.observe(self.pings),
            Err(_) => ctx.halt(),
        }
        ctx.set_timer(CounterTimer::Flush, 50);
    }
}

/// The pinger role's timers: `Ping` comes before `GiveUp`, so when both are due at once
/// the ping goes first.
#[derive(Debug, Clone, PartialEq, Eq, Hash, PartialOrd, Ord, Serialize, Deserialize)]
enum PingerTimer {
    Ping,
    GiveUp,
}

/// Sends a ping every 10 ms until `pings_max`; observes every pong as text.
#[derive(Debug, Clone, PartialEq, Eq, Hash)]
struct Pinger {
    next: u32,
    pings_max: u32,
}

type PingerCtx<'a> = RoleCtx<'a, Msg, PingerTimer, String>;

impl Pinger {
    fn on_start(&mut self, ctx: &mut PingerCtx<'_>) {
        ctx.set_timer(PingerTimer::Ping, 10);
        ctx.set_timer(PingerTimer::GiveUp, 10_000);
    }

    fn on_message(&mut self, ctx: &mut PingerCtx<'_>, _from: Peer, msg: Msg) {
        if let Msg::Pong(x) = msg {
            ctx.observe(format!("pong {x}"));
        }
    }

    fn on_timer(&mut self, ctx: &mut PingerCtx<'_>, timer: PingerTimer) {
        match timer {
            PingerTimer::Ping if self.next < self.pings_max => {
                ctx.send(Peer::server(SERVER, CH), Msg::Ping(self.next));
                self.next += 1;
                ctx.set_timer(PingerTimer::Ping, 10);
            }
            PingerTimer::Ping => ctx.cancel_timer(PingerTimer::GiveUp),
            PingerTimer::GiveUp => ctx.halt(),
        }
    }
}

/// The one composition point: the only code that names both roles.
#[derive(Debug, Clone, PartialEq, Eq, Hash)]
enum Pair {
    Counter(Counter),
    Pinger(Pinger),
}

#[derive(Debug, Clone, PartialEq, Eq, Hash, PartialOrd, Ord, Serialize, Deserialize)]
enum PairTimer {
    Counter(CounterTimer),
    Pinger(PingerTimer),
}

#[derive(Debug, Clone, PartialEq, Eq, Hash)]
enum PairObs {
    Count(u32),
    Pong(String),
}

#[derive(Debug, Clone)]
enum PairConfig {
    Counter,
    Pinger { pings_max: u32 },
}

impl Node for Pair {
    type Msg = Msg;
    type Timer = PairTimer;
    type Obs = PairObs;
    type Config = PairConfig;

    fn new(_id: NodeId, config: &PairConfig) -> Self {
        match *config {
            PairConfig::Counter => Pair::Counter(Counter { pings: 0 }),
            PairConfig::Pinger { pings_max } => Pair::Pinger(Pinger { next: 0, pings_max }),
        }
    }

    fn on_start(&mut self, ctx: &mut Ctx<'_, Self>) {
        match self {
            Pair::Counter(role) => {
                ctx.within(PairTimer::Counter, PairObs::Count, |ctx| role.on_start(ctx))
            }
            Pair::Pinger(role) => {
                ctx.within(PairTimer::Pinger, PairObs::Pong, |ctx| role.on_start(ctx))
            }
        }
    }

    fn on_message(&mut self, ctx: &mut Ctx<'_, Self>, from: Peer, msg: Msg) {
        match self {
            Pair::Counter(role) => ctx.within(PairTimer::Counter, PairObs::Count, |ctx| {
                role.on_message(ctx, from, msg)
            }),
            Pair::Pinger(role) => ctx.within(PairTimer::Pinger, PairObs::Pong, |ctx| {
                role.on_message(ctx, from, msg)
            }),
        }
    }

    fn on_timer(&mut self, ctx: &mut Ctx<'_, Self>, timer: PairTimer) {
        match (self, timer) {
            (Pair::Counter(role), PairTimer::Counter(timer)) => {
                ctx.within(PairTimer::Counter, PairObs::Count, |ctx| {
                    role.on_timer(ctx, timer)
                })
            }
            (Pair::Pinger(role), PairTimer::Pinger(timer)) => {
                ctx.within(PairTimer::Pinger, PairObs::Pong, |ctx| {
                    role.on_timer(ctx, timer)
                })
            }
            (node, timer) => panic!("{timer:?} was never set by {node:?}"),
        }
    }

    fn on_disconnect(&mut self, _ctx: &mut Ctx<'_, Self>, _peer: Peer) {}
}

fn configs(pings_max: u32) -> Vec<PairConfig> {
    vec![PairConfig::Counter, PairConfig::Pinger { pings_max }]
}

#[test]
fn composed_roles_run_under_the_simulation_with_their_timers_wrapped() {
    let scenario = Scenario {
        faults_ms: 1_000,
        settle_ms: 0,
        schedule: Some(Vec::new()),
        ..Scenario::default()
    };
    let mut sim = Simulation::<Pair>::new(configs(20), &scenario, 7).expect("valid");
    sim.run(&mut |_| Ok(())).expect("runs");
    let observed: Vec<&PairObs> = (sim.log().iter())
        .filter_map(|o| match &o.what {
            Observed::Node(obs) => Some(obs),
            _ => None,
        })
        .collect();
    let pongs = observed
        .iter()
        .filter(|o| matches!(o, PairObs::Pong(_)))
        .count();
    assert_eq!(pongs, 20, "every ping answered: {observed:?}");
    assert!(
        observed.contains(&&PairObs::Count(20)),
        "the count reached disk"
    );
    // The pinger's timers live in the composite's type, wrapped: after its last ping it
    // cancelled `GiveUp` through its own type, so nothing of it stays armed.
    let armed: Vec<&PairTimer> = sim.world().timers(CLIENT).collect();
    assert!(armed.is_empty(), "{armed:?}");
    let armed: Vec<&PairTimer> = sim.world().timers(SERVER).collect();
    assert_eq!(armed, [&PairTimer::Counter(CounterTimer::Flush)]);
}

#[test]
fn a_driver_outside_the_engine_builds_a_role_context_and_carries_out_its_commands() {
    // A hand-written driver, as a real-mode shell is: its own disk, its own chooser, its
    // own command buffer, and the role's own timer type.
    let mut disk = SimDisk::new(SimDiskOptions::default());
    let mut chooser = |_: usize| 0;
    let mut counter = Counter { pings: 0 };
    let mut commands: Vec<Command<Msg, CounterTimer, u32>> = Vec::new();
    let client = Peer::client(CLIENT, CH);
    {
        let mut ctx = RoleCtx::new(SERVER, &mut disk, &mut chooser, 0, &mut commands);
        counter.on_start(&mut ctx);
        counter.on_message(&mut ctx, client, Msg::Ping(4));
        counter.on_timer(&mut ctx, CounterTimer::Flush);
    }
    let flush = Command::SetTimer {
        timer: CounterTimer::Flush,
        delay_ms: 50,
        jitter_ms: 0,
    };
    assert_eq!(
        commands,
        [
            flush.clone(),
            Command::Send(client, Msg::Pong(4)),
            Command::Observe(1),
            flush,
        ]
    );
    // The role wrote through the disk it was lent; a fresh value recovers from it alone.
    let mut recovered = Counter { pings: 0 };
    let mut ctx = RoleCtx::new(SERVER, &mut disk, &mut chooser, 0, &mut commands);
    recovered.on_start(&mut ctx);
    assert_eq!(recovered.pings, 1);
}

#[test]
fn within_wraps_every_command_in_issue_order() {
    let mut disk = SimDisk::new(SimDiskOptions::default());
    let mut chooser = |n: usize| n - 1;
    let mut commands: Vec<Command<Msg, PairTimer, PairObs>> = Vec::new();
    let mut ctx = RoleCtx::new(
        CLIENT,
        &mut disk,
        &mut chooser,
        1_700_000_000_000,
        &mut commands,
    );
    let mut pinger = Pinger {
        next: 0,
        pings_max: 1,
    };
    let chose = ctx.within(PairTimer::Pinger, PairObs::Pong, |ctx| {
        assert_eq!((ctx.me(), ctx.wall_clock_ms()), (CLIENT, 1_700_000_000_000));
        pinger.on_timer(ctx, PingerTimer::Ping);
        pinger.on_message(ctx, Peer::server(SERVER, CH), Msg::Pong(0));
        pinger.on_timer(ctx, PingerTimer::Ping);
        pinger.on_timer(ctx, PingerTimer::GiveUp);
        ctx.choose(3)
    });
    assert_eq!(chose, 2, "the role asks the driver's chooser");
    let ping = PairTimer::Pinger(PingerTimer::Ping);
    assert_eq!(
        commands,
        [
            Command::Send(Peer::server(SERVER, CH), Msg::Ping(0)),
            Command::SetTimer {
                timer: ping,
                delay_ms: 10,
                jitter_ms: 0
            },
            Command::Observe(PairObs::Pong("pong 0".into())),
            Command::CancelTimer(PairTimer::Pinger(PingerTimer::GiveUp)),
            Command::Halt,
        ]
    );
}
