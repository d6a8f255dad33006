//! Produce requests waiting for replication (Kafka's produce purgatory), kept per client
//! connection in request order so responses leave in the order requests came, as Kafka
//! answers a connection's requests in order.

use std::collections::{BTreeMap, VecDeque};

use odradek_sim::Peer;

use crate::protocol::{ErrorCode, PartitionProduceResponse, TopicPartition};

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

    /// Resolves waits with `judge` and pops every head that is complete, in order.
    pub fn complete(
        &mut self,
        mut judge: impl FnMut(&Waiting) -> Verdict,
    ) -> Vec<(Peer, Vec<PartitionProduceResponse>)> {
        let mut done = Vec::new();
        for (client, queue) in &mut self.queues {
            for delayed in queue.iter_mut() {
                let mut still = Vec::new();
                for wait in std::mem::take(&mut delayed.waiting) {
                    match judge(&wait) {
                        Verdict::Wait => still.push(wait),
                        Verdict::Done(error) => {
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
        done
    }
}
