#!/usr/bin/env python3
"""Read skill6pub's events with confluent-kafka (librdkafka), the way a
data team's consumer should:

- deduplicate by event_id: delivery is at least once, and a window
  published again carries the same ids;
- treat a window (and revision) as complete only once its window_closed has
  arrived AND the dnis_window_events and gone_count it announces have too:
  the events of one window sit on several partitions;
- write a summary per window keyed like the events ("{operation}:{skill_id}")
  with partitioner=murmur2_random, librdkafka's name for the Java client's
  murmur2: the summary lands on the partition of its key's events, so Kafka
  Streams or Flink can join the two topics. librdkafka's default
  (consistent_random, CRC32) would put most keys elsewhere.

It reads every partition from the start up to the end it finds when it
starts, prints a line per complete window, and exits. Environment:
KAFKA_BROKERS, KAFKA_TOPIC (default wolkvox.skill6.dnis-service-level),
SUMMARY_TOPIC (default KAFKA_TOPIC + ".summary", which must exist with as
many partitions as KAFKA_TOPIC).

Needs Debian's python3-confluent-kafka (apt-get install python3-confluent-kafka).
"""

import json
import os
import sys

from confluent_kafka import OFFSET_BEGINNING, Consumer, KafkaException, Producer, TopicPartition

BROKERS = os.environ["KAFKA_BROKERS"]
TOPIC = os.environ.get("KAFKA_TOPIC", "wolkvox.skill6.dnis-service-level")
SUMMARY_TOPIC = os.environ.get("SUMMARY_TOPIC", TOPIC + ".summary")


def read_all(consumer, topic):
    """Yields every record of topic, from the start of each partition up to
    the end offsets found first."""
    partitions = consumer.list_topics(topic, timeout=10).topics[topic].partitions
    ends = {}
    for p in partitions:
        low, high = consumer.get_watermark_offsets(TopicPartition(topic, p), timeout=10)
        if high > low:
            ends[p] = high
    consumer.assign([TopicPartition(topic, p, OFFSET_BEGINNING) for p in ends])
    while ends:
        msg = consumer.poll(10)
        if msg is None:
            raise TimeoutError(f"no record for 10 s with {ends} still to read")
        if msg.error():
            raise KafkaException(msg.error())
        if msg.offset() + 1 >= ends.get(msg.partition(), 0):
            ends.pop(msg.partition(), None)
        yield msg


def weighted_sl20(events):
    """Service level within 20 s weighted by inbound calls, to the hundredth,
    rounded half up; computed in whole hundredths so that every consumer
    gets the same digits."""
    num = den = 0
    for e in sorted(events, key=lambda e: e["dnis"]):
        calls, sl = e["metrics"]["inbound_calls"], e["metrics"]["service_level_20s_pct"]
        if calls and sl is not None:
            num += round(sl * 100) * calls
            den += calls
    if den == 0:
        return "-"
    hundredths = (2 * num + den) // (2 * den)
    return f"{hundredths // 100}.{hundredths % 100:02d}"


def main():
    consumer = Consumer({"bootstrap.servers": BROKERS, "group.id": "skill6pub-recipe-python",
                         "enable.auto.commit": False})
    seen, duplicates = set(), 0
    windows = {}  # (skill, window_start, revision) -> what arrived
    for msg in read_all(consumer, TOPIC):
        event = json.loads(msg.value())
        if event["event_id"] in seen:
            duplicates += 1
            continue
        seen.add(event["event_id"])
        w = windows.setdefault((event["skill_id"], event["window_start"], event["revision"]),
                               {"dnis": [], "gone": 0, "closed": None, "partition": None})
        if event["event_type"] == "dnis_window":
            w["dnis"].append(event)
        elif event["event_type"] == "dnis_gone":
            w["gone"] += 1
        else:
            w["closed"], w["partition"] = event, msg.partition()
    consumer.close()

    producer = Producer({"bootstrap.servers": BROKERS, "partitioner": "murmur2_random", "acks": "all"})
    placed = {"same": 0, "all": 0}

    def delivered(err, msg, want):
        if err is not None:
            raise KafkaException(err)
        placed["all"] += 1
        placed["same"] += msg.partition() == want

    def complete(w):
        c = w["closed"]
        return c is not None and len(w["dnis"]) == c["dnis_window_events"] and w["gone"] == c["gone_count"]

    # Sorted by skill, then window (text sorts like time while the offset
    # stays the same; across a daylight saving change parse the times).
    for (skill, start, revision), w in sorted(windows.items()):
        if not complete(w):
            print(f"incomplete {skill} {start} r{revision}: waiting for more events", file=sys.stderr)
            continue
        sl20 = weighted_sl20(w["dnis"])
        inbound = sum(e["metrics"]["inbound_calls"] or 0 for e in w["dnis"])
        print(f"window {skill} {start} rows={len(w['dnis'])} inbound={inbound} sl20={sl20}")
        c = w["closed"]
        summary = {"skill_id": skill, "window_start": start, "revision": revision, "rows": len(w["dnis"]),
                   "inbound_calls": inbound, "service_level_20s_pct": sl20}
        producer.produce(SUMMARY_TOPIC, key=f"{c['operation']}:{skill}", value=json.dumps(summary),
                         on_delivery=lambda err, msg, want=w["partition"]: delivered(err, msg, want))
        producer.poll(0)
    if producer.flush(30) != 0:
        raise TimeoutError("summaries not acknowledged within 30 s")
    print(f"duplicates dropped: {duplicates}")
    print(f"summaries on their key's partition: {placed['same']} of {placed['all']}")


if __name__ == "__main__":
    main()
