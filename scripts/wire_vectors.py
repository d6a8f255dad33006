"""Writes the wire test vectors of tests/wire_vectors.json: every request and response of
the APIs the real mode serves, at every advertised version, encoded by kafka-python (an
implementation independent of ours, generated from Kafka's own message schemas).

    python3 -m venv /tmp/kpy && /tmp/kpy/bin/pip install kafka-python==3.0.12
    /tmp/kpy/bin/python scripts/wire_vectors.py > tests/wire_vectors.json

The values are distinct per field so a field read in the wrong place shows; fields the
broker always writes the same way (throttle time, rack, internal, authorized operations)
hold the broker's constants, so our encoding of the same response is byte for byte the same.
"""

import json

from kafka.protocol.consumer.fetch import FetchRequest, FetchResponse
from kafka.protocol.consumer.group import (
    OffsetCommitRequest, OffsetCommitResponse, OffsetFetchRequest, OffsetFetchResponse)
from kafka.protocol.consumer.offsets import (
    ListOffsetsRequest, ListOffsetsResponse, OffsetForLeaderEpochRequest,
    OffsetForLeaderEpochResponse)
from kafka.protocol.metadata.api_versions import ApiVersionsRequest, ApiVersionsResponse
from kafka.protocol.metadata.find_coordinator import (
    FindCoordinatorRequest, FindCoordinatorResponse)
from kafka.protocol.metadata.metadata import MetadataRequest, MetadataResponse
from kafka.protocol.producer.produce import ProduceRequest, ProduceResponse
from kafka.protocol.producer.transaction import InitProducerIdRequest, InitProducerIdResponse

def build(cls, values, schema=None):
    """A message or struct of `cls` from nested dicts, each nested type named by the
    schema's `[]Type` of its field."""
    fields = schema if schema is not None else cls.json['fields']
    types = {f['name'].lower(): f for f in fields}
    out = {}
    for key, value in values.items():
        field = types[key.replace('_', '')]
        if field['type'].startswith('[]') and value and isinstance(value[0], dict):
            nested = getattr(cls, field['type'][2:])
            value = [build(nested, v, field['fields']) for v in value]
        out[key] = value
    return cls(**out)


RECORDS = bytes(range(61))

CASES = {
    'ApiVersions': (ApiVersionsRequest, range(0, 3), lambda v: {},
                    ApiVersionsResponse, lambda v: dict(
                        error_code=0, throttle_time_ms=0,
                        api_keys=[dict(api_key=0, min_version=3, max_version=8),
                                  dict(api_key=18, min_version=0, max_version=2)])),
    'Metadata': (MetadataRequest, range(0, 9), lambda v: dict(
                     topics=[dict(name='orders')], allow_auto_topic_creation=False,
                     include_cluster_authorized_operations=False,
                     include_topic_authorized_operations=False),
                 MetadataResponse, lambda v: dict(
                     throttle_time_ms=0,
                     brokers=[dict(node_id=1, host='127.0.0.1', port=9092, rack=None),
                              dict(node_id=2, host='127.0.0.1', port=9093, rack=None)],
                     cluster_id='odradek', controller_id=-1,
                     topics=[dict(error_code=0, name='orders', is_internal=False,
                                  partitions=[dict(error_code=5, partition_index=3, leader_id=2,
                                                   leader_epoch=7, replica_nodes=[2, 1],
                                                   isr_nodes=[2], offline_replicas=[1])])])),
    'Produce': (ProduceRequest, range(3, 9), lambda v: dict(
                    transactional_id=None, acks=-1, timeout_ms=1500,
                    topic_data=[dict(name='orders', partition_data=[
                        dict(index=2, records=RECORDS), dict(index=5, records=None)])]),
                ProduceResponse, lambda v: dict(
                    responses=[dict(name='orders', partition_responses=[dict(
                        index=2, error_code=0, base_offset=4242, log_append_time_ms=-1,
                        log_start_offset=17, record_errors=[], error_message=None)])],
                    throttle_time_ms=0)),
    'Fetch': (FetchRequest, range(4, 12), lambda v: dict(
                  replica_id=-1, max_wait_ms=500, min_bytes=1, max_bytes=52428800,
                  isolation_level=1, session_id=0, session_epoch=-1,
                  topics=[dict(topic='orders', partitions=[dict(
                      partition=4, current_leader_epoch=9, fetch_offset=1234,
                      log_start_offset=-1, partition_max_bytes=1048576)])],
                  forgotten_topics_data=[], rack_id='r1'),
              FetchResponse, lambda v: dict(
                  throttle_time_ms=0, error_code=0, session_id=0,
                  responses=[dict(topic='orders', partitions=[dict(
                      partition_index=4, error_code=0, high_watermark=2000,
                      last_stable_offset=1990, log_start_offset=11,
                      aborted_transactions=None, preferred_read_replica=-1,
                      records=RECORDS)])])),
    'ListOffsets': (ListOffsetsRequest, range(1, 6), lambda v: dict(
                        replica_id=-1, isolation_level=1,
                        topics=[dict(name='orders', partitions=[dict(
                            partition_index=6, current_leader_epoch=3, timestamp=-2)])]),
                    ListOffsetsResponse, lambda v: dict(
                        throttle_time_ms=0,
                        topics=[dict(name='orders', partitions=[dict(
                            partition_index=6, error_code=0, timestamp=-1, offset=77,
                            leader_epoch=3)])])),
    'InitProducerId': (InitProducerIdRequest, range(0, 2), lambda v: dict(
                           transactional_id=None, transaction_timeout_ms=60000),
                       InitProducerIdResponse, lambda v: dict(
                           throttle_time_ms=0, error_code=0, producer_id=8001,
                           producer_epoch=2)),
    'OffsetForLeaderEpoch': (OffsetForLeaderEpochRequest, range(2, 4), lambda v: dict(
                                 replica_id=-1,
                                 topics=[dict(topic='orders', partitions=[dict(
                                     partition=1, current_leader_epoch=8, leader_epoch=6)])]),
                             OffsetForLeaderEpochResponse, lambda v: dict(
                                 throttle_time_ms=0,
                                 topics=[dict(topic='orders', partitions=[dict(
                                     error_code=0, partition=1, leader_epoch=6,
                                     end_offset=999)])])),
    'FindCoordinator': (FindCoordinatorRequest, range(0, 3), lambda v: dict(
                            key='group-a', key_type=0),
                        FindCoordinatorResponse, lambda v: dict(
                            throttle_time_ms=0, error_code=0, error_message=None, node_id=2,
                            host='127.0.0.1', port=9093)),
    'OffsetCommit': (OffsetCommitRequest, range(2, 8), lambda v: dict(
                         group_id='group-a', generation_id_or_member_epoch=-1, member_id='',
                         group_instance_id=None, retention_time_ms=-1,
                         topics=[dict(name='orders', partitions=[dict(
                             partition_index=2, committed_offset=321, committed_leader_epoch=4,
                             committed_metadata='m')])]),
                     OffsetCommitResponse, lambda v: dict(
                         throttle_time_ms=0,
                         topics=[dict(name='orders', partitions=[dict(
                             partition_index=2, error_code=0)])])),
    'OffsetFetch': (OffsetFetchRequest, range(1, 6), lambda v: dict(
                        group_id='group-a',
                        topics=[dict(name='orders', partition_indexes=[2, 3])]),
                    OffsetFetchResponse, lambda v: dict(
                        throttle_time_ms=0, error_code=0,
                        topics=[dict(name='orders', partitions=[dict(
                            partition_index=2, committed_offset=321, committed_leader_epoch=4,
                            metadata='m', error_code=0)])])),
}


def main():
    out = []
    for api, (req_cls, versions, req_values, resp_cls, resp_values) in CASES.items():
        for v in versions:
            req = build(req_cls[v], req_values(v))
            req.with_header(correlation_id=100 + v, client_id='vectors')
            resp = build(resp_cls[v], resp_values(v))
            resp.with_header(correlation_id=100 + v)
            out.append(dict(
                api=api, version=v,
                request=req.encode(header=True).hex(),
                response=resp.encode(header=True).hex()))
    print(json.dumps(out, indent=1))


if __name__ == '__main__':
    main()
