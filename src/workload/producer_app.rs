//! The producer application node. See [`ProducerApp`].

use std::collections::BTreeSet;

use odradek_invariants::{Completion, HistoryEvent, Observation, Operation, PartitionRef};
use odradek_sim::{Ctx, Node, NodeId, Peer};
use serde::{Deserialize, Serialize};

use super::Routes;
use crate::producer::{
    JsonSerializer, Partitioner, ProducerConfig, RecordSerializer, SendId, SendOutcome, Sender,
    SenderCommand, SenderTimer, StringSerializer, TopicPartition,
};
use crate::protocol::{broker_id, Msg};

type KCtx<'a> = Ctx<'a, ProducerApp>;

/// What the producer application sends and how.
#[derive(Debug, Clone, PartialEq, Eq, Hash)]
pub struct ProducerAppConfig {
    /// The controller, which hands out producer ids.
    pub controller: NodeId,
    /// The brokers to bootstrap metadata from.
    pub brokers: Vec<NodeId>,
    /// The topic written.
    pub topic: String,
    /// The producer's settings; they must pass [`ProducerConfig::validate`].
    pub producer: ProducerConfig,
    /// With `Some(n)`, value `v` gets the key `v % n` (as text), so the partitioner hashes
    /// it (murmur2); with `None` records have no key and the partitioner spreads them.
    pub key_space: Option<u64>,
    /// The values sent are `1..=values_max`, each once.
    pub values_max: u64,
    /// Values sent at each tick.
    pub values_per_tick: u64,
    /// Between ticks, in virtual ms of the node's monotonic clock.
    pub tick_ms: u64,
}

/// The producer application's timers: its own pacing, then its Sender's.
#[derive(Debug, Clone, PartialEq, Eq, Hash, PartialOrd, Ord, Serialize, Deserialize)]
pub enum ProducerAppTimer {
    /// Hand the next values to the Sender.
    ProduceTick,
    /// One of the Sender's timers.
    Sender(SenderTimer),
}

/// A producer application: every `tick_ms` it hands the next `values_per_tick` unique
/// values to its [`Sender`], one ProducerRecord each (value as JSON, key as a string),
/// and records each send's invoke and its one completion in the history.
///
/// It owns the Sender, the [`Partitioner`] and the serializers; it reads no clock but the
/// wall clock that stamps records, and it never completes a send itself: the Sender does,
/// exactly once, and the node asserts it. Before the first metadata answer it has no
/// partition count and skips its ticks.
#[derive(Debug, Clone, PartialEq, Eq, Hash)]
pub struct ProducerApp {
    config: ProducerAppConfig,
    routes: Routes,
    sender: Sender,
    partitioner: Partitioner,
    serializer: RecordSerializer<StringSerializer, JsonSerializer>,
    /// The next value to send.
    value_next: u64,
    /// Values invoked and not yet completed.
    open: BTreeSet<u64>,
}

impl Node for ProducerApp {
    type Msg = Msg;
    type Timer = ProducerAppTimer;
    type Obs = Observation;
    type Config = ProducerAppConfig;

    /// A producer application that has sent nothing. Panics if the producer config does not
    /// validate: a test that builds one has a bug.
    fn new(_me: NodeId, config: &ProducerAppConfig) -> ProducerApp {
        let bootstrap = config.brokers.iter().map(|&n| broker_id(n));
        let sender = Sender::new(config.producer.clone(), bootstrap.collect())
            .expect("the workload's producer config validates");
        ProducerApp {
            routes: Routes {
                controller: Some(config.controller),
            },
            sender,
            partitioner: Partitioner::new(config.producer.partitioner, config.producer.batch_size),
            serializer: RecordSerializer::default(),
            value_next: 1,
            open: BTreeSet::new(),
            config: config.clone(),
        }
    }

    /// Starts the Sender and the ticks.
    fn on_start(&mut self, ctx: &mut KCtx<'_>) {
        let commands = self.sender.start();
        self.carry_out(ctx, commands);
        ctx.set_timer(ProducerAppTimer::ProduceTick, self.config.tick_ms);
    }

    /// A response from the controller or a broker.
    fn on_message(&mut self, ctx: &mut KCtx<'_>, from: Peer, msg: Msg) {
        let commands = self
            .sender
            .handle_response(self.routes.destination(from), msg);
        self.carry_out(ctx, commands);
    }

    /// A tick or one of the Sender's timers.
    fn on_timer(&mut self, ctx: &mut KCtx<'_>, timer: ProducerAppTimer) {
        match timer {
            ProducerAppTimer::ProduceTick => self.tick(ctx),
            ProducerAppTimer::Sender(timer) => {
                let commands = self.sender.handle_timer(timer);
                self.carry_out(ctx, commands);
            }
        }
    }

    /// A connection was reset: the Sender decides what its requests' outcomes are.
    fn on_disconnect(&mut self, ctx: &mut KCtx<'_>, peer: Peer) {
        let commands = self.sender.handle_disconnect(self.routes.destination(peer));
        self.carry_out(ctx, commands);
    }
}

impl ProducerApp {
    /// Whether every value was sent and every send completed: the liveness a run's end
    /// checks beside the history.
    pub fn done(&self) -> bool {
        self.value_next > self.config.values_max && self.open.is_empty()
    }

    fn tick(&mut self, ctx: &mut KCtx<'_>) {
        if self.value_next > self.config.values_max {
            return;
        }
        ctx.set_timer(ProducerAppTimer::ProduceTick, self.config.tick_ms);
        let Some(partitions) = self.sender.metadata().partition_count(&self.config.topic) else {
            return;
        };
        for _ in 0..self.config.values_per_tick {
            if self.value_next > self.config.values_max {
                break;
            }
            self.send(ctx, self.value_next, partitions);
            self.value_next += 1;
        }
    }

    fn send(&mut self, ctx: &mut KCtx<'_>, value: u64, partitions: i32) {
        let key = self.config.key_space.map(|n| (value % n).to_string());
        let record = self
            .serializer
            .record(&self.config.topic, key.as_deref(), Some(&value))
            .expect("a string key and a u64 as JSON always serialize");
        let mut chooser = |n: usize| ctx.choose(n);
        let partition = self
            .partitioner
            .partition(&record, partitions, &mut chooser)
            .expect("metadata counts at least one partition");
        let tp = TopicPartition::new(self.config.topic.clone(), partition);
        self.open.insert(value);
        let invoke = Operation::Send {
            value,
            partition: PartitionRef {
                topic: tp.topic.as_str().into(),
                partition,
            },
            acks: self.config.producer.acks.code(),
        };
        ctx.observe(Observation::History(HistoryEvent::Invoke(invoke)));
        let commands = self
            .sender
            .send(SendId(value), tp, record, ctx.wall_clock_ms());
        self.carry_out(ctx, commands);
    }

    fn carry_out(&mut self, ctx: &mut KCtx<'_>, commands: Vec<SenderCommand>) {
        let open = &mut self.open;
        let complete = |ctx: &mut KCtx<'_>, (send, outcome): (SendId, SendOutcome)| {
            assert!(
                open.remove(&send.0),
                "send completed twice or never invoked. value={}",
                send.0
            );
            let completion = Completion {
                value: send.0,
                outcome: outcome.to_history(),
            };
            ctx.observe(Observation::History(HistoryEvent::Complete(completion)));
        };
        self.routes
            .carry_out(ctx, commands, ProducerAppTimer::Sender, complete);
    }
}
