//! `odradek check`: the explorer on the real controller, brokers and test client, breadth
//! first by default, so the first violation found is a shortest counterexample; depth
//! first on request, for bounds whose frontier does not fit in memory.

use odradek::cluster::check::{CheckOptions, Search, ACKED, BOOTED};
use odradek::cluster::Counterexample;

use super::Exit;

/// The model's defaults are stated here and in the report's first line.
#[derive(Debug, clap::Args)]
pub(crate) struct Args {
    /// A bug-zoo switch of the controller or brokers to turn on (see `odradek bugs`);
    /// repeatable.
    #[arg(long = "bug", value_name = "NAME")]
    bugs: Vec<String>,
    /// Brokers, every one a replica of the one partition.
    #[arg(long, default_value_t = 2)]
    replicas: u16,
    /// Records the test client writes, acks=all, one at a time.
    #[arg(long, default_value_t = 1)]
    records: u64,
    /// `min.insync.replicas` (1 lets the ISR shrink to the leader, as the TLA+ specs do).
    #[arg(long, default_value_t = 1)]
    min_insync: usize,
    /// The highest leader epoch the controller may commit, a model constraint (the boot's
    /// election is epoch 1); unbounded if not given.
    #[arg(long)]
    epochs: Option<i32>,
    /// The most partition changes (leader, ISR or ELR) the controller may commit, a model
    /// constraint; unbounded if not given.
    #[arg(long)]
    isr_changes: Option<i32>,
    /// Crashes along a path, each followed by at most one restart.
    #[arg(long, default_value_t = 1)]
    crashes: u8,
    /// Crashes lose the page cache (power losses); by default they are process crashes,
    /// which keep it.
    #[arg(long)]
    power_loss: bool,
    /// The search's depth bound (steps from boot).
    #[arg(long, default_value_t = 16)]
    depth: usize,
    /// The search's budget of distinct states.
    #[arg(long)]
    states: Option<u64>,
    /// Threads searching (breadth first only).
    #[arg(long, default_value_t = 1)]
    threads: usize,
    /// `bfs`: breadth first, counterexamples the shortest, the frontier in memory; `dfs`:
    /// depth first, fingerprints only, so deeper bounds fit, counterexamples not proven
    /// shortest.
    #[arg(long, value_enum, default_value_t = SearchArg::Bfs)]
    search: SearchArg,
    /// Write the first counterexample as a seed file of the explorer form, which
    /// `odradek replay` runs in the simulator.
    #[arg(long, value_name = "FILE")]
    save: Option<std::path::PathBuf>,
    /// Run the timers that re-arm forever: broker heartbeats, the controller's session
    /// expiry (which, with time abstracted, may fence a live broker at any moment) and
    /// high-watermark checkpoints.
    #[arg(long)]
    timers: bool,
    /// Search from boot, not from the world a deterministic run reaches once a leader is
    /// elected with the full ISR.
    #[arg(long)]
    from_boot: bool,
    /// Search from the world a deterministic run reaches once the client's first record
    /// is acked: every state searched holds an acked record, so durability is judged after
    /// each crash, deeper than a search from boot reaches.
    #[arg(long, conflicts_with = "from_boot")]
    from_ack: bool,
}

/// The search order, as the command line spells it.
#[derive(Debug, Clone, Copy, clap::ValueEnum)]
pub(crate) enum SearchArg {
    Bfs,
    Dfs,
}

pub(crate) fn check(args: &Args) -> Exit {
    let bugs = match super::parse_bugs(&args.bugs) {
        Ok(bugs) => bugs,
        Err(message) => {
            eprintln!("{message}");
            return Exit::BadInput;
        }
    };
    let client = [
        odradek::bugs::Bug::ReassignSequenceOnRetry,
        odradek::bugs::Bug::AcksAllAtLeaderAppend,
    ];
    if let Some(bug) = bugs.iter().find(|b| client.contains(b)) {
        eprintln!(
            "odradek: {bug} is a producer switch; check runs the test client, not the producer"
        );
        return Exit::BadInput;
    }
    let options = CheckOptions {
        replicas: args.replicas,
        records: args.records,
        min_insync_replicas: args.min_insync,
        crashes: args.crashes,
        power_loss: args.power_loss,
        epochs_max: args.epochs,
        partition_epochs_max: args.isr_changes,
        bugs,
        depth_max: Some(args.depth),
        states_max: args.states,
        threads: args.threads,
        search: match args.search {
            SearchArg::Bfs => Search::Bfs,
            SearchArg::Dfs => Search::Dfs,
        },
        periodic_timers: args.timers,
        from_boot: args.from_boot,
        from_ack: args.from_ack,
        ..CheckOptions::default()
    };
    if options.replicas == 0 || options.min_insync_replicas > usize::from(options.replicas) {
        eprintln!("odradek: --replicas must be at least 1 and at least --min-insync");
        return Exit::BadInput;
    }
    let crash = if options.power_loss {
        "power loss"
    } else {
        "process crash"
    };
    let start = match (options.from_ack, options.from_boot) {
        (true, _) => format!("the world a run from boot reaches once {ACKED}"),
        (false, true) => "boot".to_string(),
        (false, false) => format!("the world a run from boot reaches once {BOOTED}"),
    };
    let bound = |name: &str, max: Option<i32>| match max {
        Some(max) => format!(", {name} at most {max}"),
        None => String::new(),
    };
    println!(
        "model: {} replicas, {} record(s) acks=all, min.insync.replicas {}, up to {} {crash}(es) \
         of any broker, one message in flight per stream{}{}, periodic timers {}; from {start}",
        options.replicas,
        options.records,
        options.min_insync_replicas,
        options.crashes,
        bound("leader epochs", options.epochs_max),
        bound("partition epochs", options.partition_epochs_max),
        if options.periodic_timers { "on" } else { "off" }
    );
    let (model, report) = match options.model().and_then(|m| Ok((m, options.run()?))) {
        Ok(found) => found,
        Err(error) => {
            eprintln!("odradek: {error}");
            return Exit::BadInput;
        }
    };
    println!("{report}");
    let mut violated = false;
    for discovery in report.violations() {
        let shortest = match options.search {
            Search::Bfs => "the shortest",
            Search::Dfs => "depth first: shortest not proven",
        };
        println!(
            "\nviolation: {} ({} steps, {shortest}):\n{}",
            discovery.property,
            discovery.path.len(),
            discovery.path.describe(&model)
        );
        if let (Some(path), false) = (&args.save, violated) {
            let about = format!(
                "odradek check{}: {} in {} steps from {start}",
                super::bug_flags(&options.bugs),
                discovery.property,
                discovery.path.len()
            );
            let steps = model.steps(&discovery.path);
            let file = Counterexample::new(about, &options, discovery.property, steps);
            if let Err(error) = file.save(path) {
                eprintln!("odradek: {error}");
                return Exit::BadInput;
            }
            println!("saved: {}", path.display());
            println!("replay: odradek replay {}", path.display());
        }
        violated = true;
    }
    match violated {
        true => Exit::Violation,
        false => Exit::Clean,
    }
}
