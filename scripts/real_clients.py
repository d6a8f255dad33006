"""Real Kafka clients against `odradek serve`: kafka-python and confluent-kafka (librdkafka)
each produce unique records with acks=all and idempotence to three partitions, a broker
process is killed with SIGKILL in the middle (the leader of partition 0; `serve` restarts
it), and everything is consumed back (kafka-python with assign() and no group,
confluent-kafka with a group id, assign() and a commit). Fails on any acked record
missing, any duplicate, any partition out of send order, or a client error.

    python3 scripts/real_clients.py --odradek target/release/odradek [--records 10000]
    python3 scripts/real_clients.py --odradek target/release/odradek --bench

`--bench` kills nothing and prints each client's produce and consume rates (records per
wall second, from the first send to the last ack, and from assign() to the last record),
what BENCHMARKS.md records.

Bounded: every wait has a deadline, and the cluster is stopped at the end (SIGTERM, so
each broker shuts down cleanly), also when a check fails.
"""

import argparse
import os
import re
import shutil
import signal
import subprocess
import sys
import tempfile
import threading
import time

PARTITIONS = 3


class Cluster:
    def __init__(self, odradek, port, topics):
        self.dir = tempfile.mkdtemp(prefix='odradek-real-')
        args = [odradek, 'serve', '--dir', self.dir, '--port', str(port),
                '--restart-delay-ms', '1000']
        for topic in topics:
            args += ['--topic', f'{topic}:{PARTITIONS}:3']
        self.proc = subprocess.Popen(args, stdout=subprocess.PIPE, text=True)
        self.pids = {}
        self.lines = []
        self.ready = threading.Event()
        threading.Thread(target=self._read, daemon=True).start()
        if not self.ready.wait(60):
            self.stop()
            raise SystemExit('odradek serve did not print its bootstrap line in 60 s')
        self.bootstrap = self.lines[-1].split(': ', 1)[1]

    def _read(self):
        for line in self.proc.stdout:
            line = line.rstrip()
            print(f'  serve | {line}', flush=True)
            self.lines.append(line)
            m = re.match(r'broker (\d+) \(pid (\d+)\)', line)
            if m:
                self.pids[int(m.group(1))] = int(m.group(2))
            if line.startswith('bootstrap: '):
                self.ready.set()

    def kill(self, broker):
        pid = self.pids[broker]
        print(f'  kill -9 broker {broker} (pid {pid})', flush=True)
        os.kill(pid, signal.SIGKILL)

    def stop(self):
        self.proc.send_signal(signal.SIGTERM)
        try:
            self.proc.wait(60)
        except subprocess.TimeoutExpired:
            self.proc.kill()
        shutil.rmtree(self.dir, ignore_errors=True)


def check(name, sent, acked, consumed, errors):
    """acked: {value: (partition, offset)}; consumed: [(partition, offset, value)]."""
    failures = []
    if errors:
        failures.append(f'{len(errors)} send errors, first: {errors[0]}')
    seen = {}
    for partition, offset, value in consumed:
        if value in seen:
            failures.append(f'duplicate {value} at {partition}/{offset} and {seen[value]}')
        seen[value] = (partition, offset)
    missing = [v for v in acked if v not in seen]
    if missing:
        failures.append(f'{len(missing)} acked records missing, first: {missing[:5]}')
    for partition in range(PARTITIONS):
        order = [int(v.split('-')[1]) for p, _, v in sorted(consumed) if p == partition]
        if order != sorted(order):
            failures.append(f'partition {partition} out of send order')
    print(f'{name}: {sent} sent, {len(acked)} acked, {len(consumed)} consumed, '
          f'{len(set(seen))} distinct' + ''.join(f'\n  FAIL {f}' for f in failures), flush=True)
    return not failures


def rates(name, records, produced_s, consumed_s):
    print(f'{name}: produce {records / produced_s:,.0f} records/s, '
          f'consume {records / consumed_s:,.0f} records/s', flush=True)


def kafka_python(cluster, topic, records, kill=True):
    from kafka import KafkaConsumer, KafkaProducer, TopicPartition
    producer = KafkaProducer(bootstrap_servers=cluster.bootstrap, acks='all',
                             enable_idempotence=True, request_timeout_ms=10000,
                             delivery_timeout_ms=60000, linger_ms=5)
    acked, errors, futures = {}, [], []
    started = time.time()
    for i in range(records):
        value = f'{topic}-{i}'
        futures.append((value, producer.send(topic, key=str(i).encode(), value=value.encode())))
        if kill and i == records // 2:
            producer.flush(60)
            leader = producer._metadata.leader_for_partition(TopicPartition(topic, 0))
            cluster.kill(leader)
    producer.flush(120)
    for value, future in futures:
        try:
            meta = future.get(60)
            acked[value] = (meta.partition, meta.offset)
        except Exception as e:  # every failure counts, none is expected
            errors.append(repr(e))
    produced_s = time.time() - started
    producer.close(10)
    consumer = KafkaConsumer(bootstrap_servers=cluster.bootstrap, enable_auto_commit=False,
                             auto_offset_reset='earliest', consumer_timeout_ms=10000)
    consumer.assign([TopicPartition(topic, p) for p in range(PARTITIONS)])
    started, consumed = time.time(), []
    for m in consumer:
        consumed.append((m.partition, m.offset, m.value.decode()))
        if len(consumed) == records:
            consumed_s = time.time() - started
    consumer.close()
    if not kill and len(consumed) == records:
        rates('kafka-python', records, produced_s, consumed_s)
    return check('kafka-python', records, acked, consumed, errors)


def confluent(cluster, topic, records, kill=True):
    from confluent_kafka import Consumer, Producer, TopicPartition
    acked, errors = {}, []

    def delivered(err, msg):
        if err:
            errors.append(str(err))
        else:
            acked[msg.value().decode()] = (msg.partition(), msg.offset())

    producer = Producer({'bootstrap.servers': cluster.bootstrap, 'acks': 'all',
                         'enable.idempotence': True, 'linger.ms': 5,
                         'message.timeout.ms': 60000})
    started = time.time()
    for i in range(records):
        while True:
            try:
                producer.produce(topic, key=str(i), value=f'{topic}-{i}', on_delivery=delivered)
                break
            except BufferError:
                producer.poll(0.1)
        producer.poll(0)
        if kill and i == records // 2:
            producer.flush(60)
            leader = producer.list_topics(topic, timeout=10).topics[topic].partitions[0].leader
            cluster.kill(leader)
    remaining = producer.flush(120)
    produced_s = time.time() - started
    if remaining:
        errors.append(f'{remaining} records never delivered')
    consumer = Consumer({'bootstrap.servers': cluster.bootstrap, 'group.id': 'real-clients',
                         'enable.auto.commit': False, 'auto.offset.reset': 'earliest'})
    consumer.assign([TopicPartition(topic, p, 0) for p in range(PARTITIONS)])
    consumed, idle, deadline, started = [], 0, time.time() + 120, time.time()
    while idle < 10 and time.time() < deadline:
        m = consumer.poll(1.0)
        if m is None:
            idle += 1
            continue
        if m.error():
            errors.append(str(m.error()))
            continue
        idle = 0
        consumed.append((m.partition(), m.offset(), m.value().decode()))
        if len(consumed) == records:
            consumed_s = time.time() - started
    consumer.commit(asynchronous=False)
    committed = consumer.committed([TopicPartition(topic, p) for p in range(PARTITIONS)], 10)
    ends = {p: max((o for q, o, _ in consumed if q == p), default=-1) + 1
            for p in range(PARTITIONS)}
    for tp in committed:
        if tp.offset != ends[tp.partition]:
            errors.append(f'committed {tp.offset} for partition {tp.partition}, '
                          f'consumed up to {ends[tp.partition]}')
    consumer.close()
    if not kill and len(consumed) == records:
        rates('confluent-kafka', records, produced_s, consumed_s)
    return check('confluent-kafka', records, acked, consumed, errors)


def main():
    parser = argparse.ArgumentParser()
    parser.add_argument('--odradek', required=True)
    parser.add_argument('--records', type=int, default=10000)
    parser.add_argument('--port', type=int, default=29092)
    parser.add_argument('--bench', action='store_true',
                        help='kill nothing; print produce and consume rates')
    args = parser.parse_args()
    started = time.time()
    cluster = Cluster(args.odradek, args.port, ['kp', 'ck'])
    try:
        ok = kafka_python(cluster, 'kp', args.records, kill=not args.bench)
        ok = confluent(cluster, 'ck', args.records, kill=not args.bench) and ok
    finally:
        cluster.stop()
    print(f'real clients: {"ok" if ok else "FAILED"} in {time.time() - started:.0f} s')
    sys.exit(0 if ok else 1)


if __name__ == '__main__':
    main()
