//! A [`KafkaRun`] as the TOML `odradek scenario` prints: every field under a comment that
//! says what it is, its unit and its choices, so a user edits a copy instead of reading
//! the source. A field without a comment here fails the test that prints the default.

use super::KafkaRun;

/// Each field's comment, by `table.key` (`key` at the top level).
const FIELD_DOCS: &[(&str, &str)] = &[
    ("faults_ms", "Virtual ms of faults from the seed's nemesis; the producer sends through them."),
    ("settle_ms", "Virtual ms of heal and settle after the faults: restarts, catch-up, the final read."),
    ("record_interval_ms", "Virtual ms between the producer's records: 10 is 100 records per simulated second."),
    ("targeted", "Each seed also draws targeted injectors: faults aimed at the new leader, the last ISR member."),
    ("cluster.controller", "The controller's node id (the ZooKeeper/KRaft role); always 0."),
    ("cluster.brokers", "The brokers' node ids: 1, 2, ... in order; the partitions' replicas rotate over them."),
    ("cluster.min_insync_replicas", "min.insync.replicas: acks=all needs this many in the ISR to append and to commit."),
    ("cluster.unclean_leader_election_enable", "unclean.leader.election.enable: elect outside the ISR and ELR when no one else is left."),
    ("cluster.bugs", "Server bug-zoo switches on, by name (`odradek bugs`); the oracle must catch each."),
    ("cluster.topics.name", "The topic's name; the producer writes the first topic."),
    ("cluster.topics.partitions", "Partitions of the topic."),
    ("cluster.topics.replication_factor", "Replicas per partition, at most the number of brokers."),
    ("cluster.timing.heartbeat_ms", "broker.heartbeat.interval.ms, scaled down: between broker heartbeats."),
    ("cluster.timing.session_timeout_ms", "broker.session.timeout.ms: a broker silent this long is fenced."),
    ("cluster.timing.replica_lag_time_max_ms", "replica.lag.time.max.ms: a follower not caught up this long leaves the ISR."),
    ("cluster.timing.replica_fetch_backoff_ms", "A follower's pause after a failed fetch."),
    ("cluster.timing.replica_fetch_wait_max_ms", "How long a leader may hold a follower's fetch that has nothing to return (replica.fetch.wait.max.ms)."),
    ("cluster.timing.replica_request_timeout_ms", "A broker's request to another broker or the controller times out after this."),
    ("cluster.timing.hw_checkpoint_ms", "replica.high.watermark.checkpoint.interval.ms: between high-watermark checkpoints."),
    ("cluster.timing.periodic_timers", "Heartbeats, session expiry and checkpoints run; off only for the explorer's small models."),
    ("producer.acks", "acks: \"all\" (committed), \"leader\" (acks=1, the leader's append) or \"none\" (acks=0)."),
    ("producer.enable_idempotence", "enable.idempotence: sequence numbers, deduplicated retries; needs acks=all."),
    ("producer.retries", "retries: how often a failed batch is resent within delivery_timeout_ms."),
    ("producer.batch_size", "batch.size: bytes a partition's batch may hold before it is sent."),
    ("producer.linger_ms", "linger.ms: how long a batch waits for more records."),
    ("producer.buffer_memory", "buffer.memory: bytes of unsent records before send() blocks."),
    ("producer.max_block_ms", "max.block.ms: how long send() blocks for buffer space or metadata before failing."),
    ("producer.delivery_timeout_ms", "delivery.timeout.ms: a record's whole time from send() to its outcome."),
    ("producer.request_timeout_ms", "request.timeout.ms: a produce request's answer is awaited this long."),
    ("producer.retry_backoff_ms", "retry.backoff.ms: the pause before a retry."),
    ("producer.max_request_size", "max.request.size: bytes of one produce request, and of one record."),
    ("producer.max_in_flight_requests_per_connection", "max.in.flight.requests.per.connection: 1 to 5 with idempotence."),
    ("producer.compression_type", "compression.type: \"none\", \"gzip\", \"snappy\", \"lz4\" or \"zstd\"."),
    ("producer.partitioner", "Keyless records' partitioner: \"round_robin\" or \"sticky\" (keyed records hash, murmur2)."),
    ("producer.bugs", "Producer bug-zoo switches on, by name (`odradek bugs`)."),
    ("consumer.auto_offset_reset", "auto.offset.reset: \"earliest\" or \"latest\" when the position is out of range."),
    ("consumer.max_partition_fetch_bytes", "max.partition.fetch.bytes: bytes one fetch returns per partition."),
    ("consumer.fetch_max_wait_ms", "fetch.max.wait.ms: how long a leader may hold a consumer's fetch that has nothing to return."),
    ("consumer.request_timeout_ms", "request.timeout.ms: a fetch's answer is awaited this long."),
    ("consumer.retry_backoff_ms", "retry.backoff.ms: the pause after an error."),
];

/// The run as TOML with every field documented, under `header`.
pub fn documented_toml(run: &KafkaRun, header: &str) -> String {
    let body = toml::to_string(run).expect("a run serializes");
    let mut out = String::from(header);
    let mut table = String::new();
    for line in body.lines() {
        let trimmed = line.trim();
        if let Some(name) = (trimmed
            .strip_prefix("[[")
            .and_then(|t| t.strip_suffix("]]")))
        .or_else(|| trimmed.strip_prefix('[').and_then(|t| t.strip_suffix(']')))
        {
            table = name.to_string();
        } else if let Some((key, _)) = trimmed.split_once(" = ") {
            let path = match table.is_empty() {
                true => key.to_string(),
                false => format!("{table}.{key}"),
            };
            if let Some((_, doc)) = FIELD_DOCS.iter().find(|(field, _)| *field == path) {
                out.push_str(&format!("# {doc}\n"));
            }
        }
        out.push_str(line);
        out.push('\n');
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn every_field_of_the_default_run_is_documented_and_it_reads_back() {
        let text = documented_toml(&KafkaRun::default(), "");
        let lines: Vec<&str> = text.lines().collect();
        for (i, line) in lines.iter().enumerate() {
            if line.contains(" = ") && !line.starts_with('#') {
                let above = i.checked_sub(1).map(|j| lines[j]);
                assert!(
                    above.is_some_and(|l| l.starts_with("# ")),
                    "undocumented: {line}"
                );
            }
        }
        let back: KafkaRun = toml::from_str(&text).expect("the documented TOML parses");
        assert_eq!(back, KafkaRun::default());
    }
}
