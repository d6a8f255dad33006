//! The clients' view of the cluster: each partition's leader and leader epoch, learned
//! from Metadata responses and refreshed when a broker says it no longer leads.
//!
//! At most one Metadata request is in flight. Requests go to the bootstrap brokers in turn,
//! so a dead broker is skipped on the next refresh; the rotation index stays below the
//! number of brokers.

use std::collections::BTreeMap;

use crate::protocol::{BrokerId, MetadataResponse, PartitionState, TopicPartition};

/// A partition's leader as a Metadata response gave it.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub struct LeaderInfo {
    /// The leader, `None` while the partition is offline.
    pub leader: Option<BrokerId>,
    /// Its leader epoch: fetches carry it (KIP-320).
    pub leader_epoch: i32,
    /// The partition epoch, to order two views with the same leader epoch.
    pub partition_epoch: i32,
}

/// The metadata cache. See the module docs.
#[derive(Debug, Clone, PartialEq, Eq, Hash)]
pub struct Metadata {
    bootstrap: Vec<BrokerId>,
    /// The bootstrap broker the next request goes to, an index below `bootstrap.len()`.
    probe: usize,
    partitions: BTreeMap<TopicPartition, LeaderInfo>,
    /// A refresh is wanted.
    stale: bool,
    /// The broker a Metadata request waits on.
    in_flight: Option<BrokerId>,
    /// A refresh failed or left a partition offline: wait `retry.backoff.ms` before the
    /// next, so an offline partition is not asked about in a tight loop.
    backing_off: bool,
}

impl Metadata {
    /// An empty cache that asks `bootstrap` (non-empty) in turn, stale until the first
    /// answer.
    pub fn new(bootstrap: Vec<BrokerId>) -> Metadata {
        assert!(!bootstrap.is_empty(), "a client needs a bootstrap broker");
        Metadata {
            bootstrap,
            probe: 0,
            partitions: BTreeMap::new(),
            stale: true,
            in_flight: None,
            backing_off: false,
        }
    }

    /// `tp`'s leader and epoch, if known and online.
    pub fn leader(&self, tp: &TopicPartition) -> Option<(BrokerId, i32)> {
        let info = self.partitions.get(tp)?;
        info.leader.map(|leader| (leader, info.leader_epoch))
    }

    /// The partitions of `topic` the cluster reported, for the partitioner.
    pub fn partition_count(&self, topic: &str) -> Option<i32> {
        let count = self
            .partitions
            .keys()
            .filter(|tp| &*tp.topic == topic)
            .count();
        (count > 0).then(|| i32::try_from(count).unwrap_or(i32::MAX))
    }

    /// Partitions `broker` leads, as far as the cache knows.
    pub fn led_by(&self, broker: BrokerId) -> Vec<TopicPartition> {
        self.partitions
            .iter()
            .filter(|(_, info)| info.leader == Some(broker))
            .map(|(tp, _)| tp.clone())
            .collect()
    }

    /// Asks for a refresh: a broker said it does not lead, or a connection broke.
    pub fn invalidate(&mut self) {
        self.stale = true;
    }

    /// Whether a refresh is wanted.
    pub fn is_stale(&self) -> bool {
        self.stale
    }

    /// The broker to send a Metadata request to now, if a refresh is wanted and none is in
    /// flight; the request counts as in flight from here.
    pub fn request(&mut self) -> Option<BrokerId> {
        if !self.stale || self.backing_off || self.in_flight.is_some() {
            return None;
        }
        let broker = self.bootstrap[self.probe];
        self.probe = (self.probe + 1) % self.bootstrap.len();
        self.in_flight = Some(broker);
        Some(broker)
    }

    /// The request in flight was lost (timeout, reset, error answer): still stale, and
    /// backing off: the owner arms its metadata backoff timer.
    pub fn on_request_lost(&mut self) {
        self.in_flight = None;
        self.stale = true;
        self.backing_off = true;
    }

    /// Takes the newer of the cached and the reported state of every partition, so a
    /// broker with an older view never moves a leader back. Fresh unless some partition
    /// is offline or none is known yet (a broker that has not heard from the controller
    /// answers with nothing, and a producer waiting for its topic's partition count must
    /// ask again); returns whether it backs off (the owner then arms its backoff timer).
    pub fn on_response(&mut self, response: &MetadataResponse) -> bool {
        self.in_flight = None;
        for state in &response.partitions {
            self.merge(state);
        }
        let offline = self.partitions.values().any(|info| info.leader.is_none());
        self.stale = offline || self.partitions.is_empty();
        self.backing_off = self.stale;
        self.backing_off
    }

    /// The backoff timer fired: the next refresh may go.
    pub fn on_backoff_expired(&mut self) {
        self.backing_off = false;
    }

    fn merge(&mut self, state: &PartitionState) {
        let newer = self.partitions.get(&state.tp).is_none_or(|known| {
            state.newer_than(known.leader_epoch, known.partition_epoch)
                || (state.leader_epoch, state.partition_epoch)
                    == (known.leader_epoch, known.partition_epoch)
        });
        if newer {
            let info = LeaderInfo {
                leader: state.leader,
                leader_epoch: state.leader_epoch,
                partition_epoch: state.partition_epoch,
            };
            self.partitions.insert(state.tp.clone(), info);
        }
    }
}
