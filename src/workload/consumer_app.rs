//! The consumer application node. See [`ConsumerApp`].

use odradek_invariants::{HistoryEvent, Observation, ReadRecord};
use odradek_sim::{Ctx, Node, NodeId, Peer};

use super::Routes;
use crate::consumer::{Consumer, ConsumerCommand, ConsumerConfig, ConsumerTimer, PollEvent};
use crate::protocol::{broker_id, Msg, TopicPartition};

type KCtx<'a> = Ctx<'a, ConsumerApp>;

/// What the consumer application reads and how.
#[derive(Debug, Clone, PartialEq, Eq, Hash)]
pub struct ConsumerAppConfig {
    /// The brokers to bootstrap metadata from.
    pub brokers: Vec<NodeId>,
    /// The partitions assigned at start.
    pub partitions: Vec<TopicPartition>,
    /// The consumer's settings.
    pub consumer: ConsumerConfig,
    /// Records one poll hands out at most (Kafka's `max.poll.records`).
    pub max_poll_records: usize,
}

/// A consumer application: assigns its partitions at start and polls after every input
/// (a response, a timer, a reset), until a poll gives nothing, so no buffered record waits
/// for a later input. Each poll's records of a partition become one
/// [`HistoryEvent::Poll`] and each reset a [`HistoryEvent::Reset`].
///
/// A record's value is the workload's value as JSON; a value that does not parse as one
/// (never written by the workload) is recorded as 0, which no workload value is.
#[derive(Debug, Clone, PartialEq, Eq, Hash)]
pub struct ConsumerApp {
    config: ConsumerAppConfig,
    consumer: Consumer,
}

const ROUTES: Routes = Routes { controller: None };

impl Node for ConsumerApp {
    type Msg = Msg;
    type Timer = ConsumerTimer;
    type Obs = Observation;
    type Config = ConsumerAppConfig;

    /// A consumer application with nothing assigned yet.
    fn new(_me: NodeId, config: &ConsumerAppConfig) -> ConsumerApp {
        let bootstrap = config.brokers.iter().map(|&n| broker_id(n));
        ConsumerApp {
            consumer: Consumer::new(config.consumer.clone(), bootstrap.collect()),
            config: config.clone(),
        }
    }

    /// Assigns the partitions.
    fn on_start(&mut self, ctx: &mut KCtx<'_>) {
        let commands = self.consumer.assign(&self.config.partitions);
        self.carry_out(ctx, commands);
        self.poll(ctx);
    }

    /// A response from a broker.
    fn on_message(&mut self, ctx: &mut KCtx<'_>, from: Peer, msg: Msg) {
        let commands = self.consumer.handle_response(ROUTES.destination(from), msg);
        self.carry_out(ctx, commands);
        self.poll(ctx);
    }

    /// One of the consumer's timers.
    fn on_timer(&mut self, ctx: &mut KCtx<'_>, timer: ConsumerTimer) {
        let commands = self.consumer.handle_timer(timer);
        self.carry_out(ctx, commands);
        self.poll(ctx);
    }

    /// A connection was reset: the consumer asks again.
    fn on_disconnect(&mut self, ctx: &mut KCtx<'_>, peer: Peer) {
        let commands = self.consumer.handle_disconnect(ROUTES.destination(peer));
        self.carry_out(ctx, commands);
        self.poll(ctx);
    }
}

impl ConsumerApp {
    fn carry_out(&mut self, ctx: &mut KCtx<'_>, commands: Vec<ConsumerCommand>) {
        ROUTES.carry_out(ctx, commands, |timer| timer, |_, never| match never {});
    }

    /// Polls until a poll gives nothing, recording every record and reset.
    fn poll(&mut self, ctx: &mut KCtx<'_>) {
        loop {
            let polled = self.consumer.poll(self.config.max_poll_records);
            let done = polled.events.is_empty();
            record_events(ctx, polled.events);
            self.carry_out(ctx, polled.commands);
            if done {
                return;
            }
        }
    }
}

/// Records `events` as history: each run of records of one partition as one poll.
fn record_events(ctx: &mut KCtx<'_>, events: Vec<PollEvent>) {
    let mut run: Option<(TopicPartition, Vec<ReadRecord>)> = None;
    let flush = |ctx: &mut KCtx<'_>, run: &mut Option<(TopicPartition, Vec<ReadRecord>)>| {
        if let Some((tp, records)) = run.take() {
            let partition = tp.to_ref();
            ctx.observe(Observation::History(HistoryEvent::Poll {
                partition,
                records,
            }));
        }
    };
    for event in events {
        match event {
            PollEvent::Record(record) => {
                if run.as_ref().is_some_and(|(tp, _)| *tp != record.tp) {
                    flush(ctx, &mut run);
                }
                let value = record
                    .value
                    .as_deref()
                    .and_then(|v| serde_json::from_slice(v).ok());
                let read = ReadRecord {
                    offset: record.offset,
                    value: value.unwrap_or(0),
                };
                run.get_or_insert_with(|| (record.tp, Vec::new()))
                    .1
                    .push(read);
            }
            PollEvent::Reset { tp, from, to } => {
                flush(ctx, &mut run);
                let partition = tp.to_ref();
                let reset = HistoryEvent::Reset {
                    partition,
                    from,
                    to,
                };
                ctx.observe(Observation::History(reset));
            }
        }
    }
    flush(ctx, &mut run);
}
