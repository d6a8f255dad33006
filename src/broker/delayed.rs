//! Requests a leader holds before it answers (Kafka's purgatories).
//!
//! Produces wait for replication, kept per client connection in request order so
//! responses leave in the order requests came, as Kafka answers a connection's requests
//! in order. Fetches with nothing to return wait for data or their `max_wait_ms`, one per
//! partition and connection. Kafka's fetch names every partition a client reads from that
//! broker, so holding it mutes the connection without delaying anything else; Odradek's
//! fetch names one partition, so a held fetch does not mute its connection, and answers to
//! fetches of different partitions may leave out of request order. Clients match fetch
//! answers by partition.

use std::collections::{BTreeMap, VecDeque};

use odradek_sim::Peer;

use crate::protocol::{ErrorCode, FetchRequest, PartitionProduceResponse, TopicPartition};

/// Fetches held until their partition has something for them or their wait ends.
#[derive(Debug, Clone, Default, PartialEq, Eq, Hash)]
pub struct HeldFetches {
    held: BTreeMap<(TopicPartition, Peer), FetchRequest>,
}

impl HeldFetches {
    /// Holds `req` from `from`; returns the fetch it replaces, which must be answered.
    pub fn hold(&mut self, from: Peer, req: FetchRequest) -> Option<FetchRequest> {
        self.held.insert((req.tp.clone(), from), req)
    }

    /// Releases the fetch of `tp` from `from`.
    pub fn release(&mut self, tp: &TopicPartition, from: Peer) -> Option<FetchRequest> {
        self.held.remove(&(tp.clone(), from))
    }

    /// Releases every fetch `ready` accepts, in key order.
    pub fn release_ready(
        &mut self,
        mut ready: impl FnMut(&FetchRequest) -> bool,
    ) -> Vec<(Peer, FetchRequest)> {
        let keys: Vec<_> = (self.held.iter())
            .filter(|(_, req)| ready(req))
            .map(|(key, _)| key.clone())
            .collect();
        (keys.into_iter())
            .filter_map(|key| Some((key.1, self.held.remove(&key)?)))
            .collect()
    }

    /// Drops the fetches of `peer` (its connection was reset: answers would be lost);
    /// returns their partitions, whose wait timers must be cancelled.
    pub fn forget(&mut self, peer: Peer) -> Vec<TopicPartition> {
        let tps: Vec<TopicPartition> = (self.held.keys())
            .filter(|(_, from)| *from == peer)
            .map(|(tp, _)| tp.clone())
            .collect();
        for tp in &tps {
            self.held.remove(&(tp.clone(), peer));
        }
        tps
    }

    /// Whether no fetch is held.
    pub fn is_empty(&self) -> bool {
        self.held.is_empty()
    }
}

/// One partition of a produce waiting for its high watermark.
#[derive(Debug, Clone, PartialEq, Eq, Hash)]
pub struct Waiting {
    /// Index of the partition in the response.
    pub index: usize,
    /// The partition.
    pub tp: TopicPartition,
    /// The high watermark that commits the records: last offset + 1.
    pub required_offset: i64,
    /// The leader epoch it was appended in.
    pub leader_epoch: i32,
    /// Its timeout fired.
    pub timed_out: bool,
}

/// A produce request not yet answered.
#[derive(Debug, Clone, PartialEq, Eq, Hash)]
pub struct DelayedProduce {
    /// Results so far, one per partition of the request.
    pub results: Vec<PartitionProduceResponse>,
    /// Partitions still waiting.
    pub waiting: Vec<Waiting>,
}

/// Every client's queue of unanswered produces.
#[derive(Debug, Clone, Default, PartialEq, Eq, Hash)]
pub struct Purgatory {
    queues: BTreeMap<Peer, VecDeque<DelayedProduce>>,
}

/// Produce answers ready to send, each to its client.
pub(super) type Completed = Vec<(Peer, Vec<PartitionProduceResponse>)>;

/// How a waiting partition stands now.
pub enum Verdict {
    /// Still waiting.
    Wait,
    /// Done with this error (`None` is success).
    Done(ErrorCode),
}

impl Purgatory {
    /// Whether `client` has unanswered produces (a new answer must queue behind them).
    pub fn busy(&self, client: Peer) -> bool {
        self.queues.get(&client).is_some_and(|q| !q.is_empty())
    }

    /// Queues a produce for `client`.
    pub fn push(&mut self, client: Peer, delayed: DelayedProduce) {
        self.queues.entry(client).or_default().push_back(delayed);
    }

    /// Drops a client's queue (its connection was reset: answers would be lost).
    pub fn forget(&mut self, client: Peer) {
        self.queues.remove(&client);
    }

    /// Marks the waits for (tp, required offset) as timed out.
    pub fn time_out(&mut self, tp: &TopicPartition, required_offset: i64) {
        for queue in self.queues.values_mut() {
            for delayed in queue.iter_mut() {
                for wait in &mut delayed.waiting {
                    if wait.tp == *tp && wait.required_offset == required_offset {
                        wait.timed_out = true;
                    }
                }
            }
        }
    }

    /// Resolves waits with `judge` and pops every head that is complete, in order; also
    /// returns the (partition, required offset) of every wait resolved, whose timeout
    /// timers are no longer needed.
    pub fn complete(
        &mut self,
        mut judge: impl FnMut(&Waiting) -> Verdict,
    ) -> (Completed, Vec<(TopicPartition, i64)>) {
        let mut done = Vec::new();
        let mut resolved = Vec::new();
        for (client, queue) in &mut self.queues {
            for delayed in queue.iter_mut() {
                let mut still = Vec::new();
                for wait in std::mem::take(&mut delayed.waiting) {
                    match judge(&wait) {
                        Verdict::Wait => still.push(wait),
                        Verdict::Done(error) => {
                            resolved.push((wait.tp.clone(), wait.required_offset));
                            let result = &mut delayed.results[wait.index];
                            result.error = error;
                            if error != ErrorCode::None {
                                result.base_offset = -1;
                            }
                        }
                    }
                }
                delayed.waiting = still;
            }
            while queue.front().is_some_and(|d| d.waiting.is_empty()) {
                let head = queue.pop_front().expect("checked");
                done.push((*client, head.results));
            }
        }
        self.queues.retain(|_, queue| !queue.is_empty());
        (done, resolved)
    }
}
