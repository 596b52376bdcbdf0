"""Quix Streams peer for bench/kafka.sh (row 3 of BENCHMARKS.md).

The same work as Tributary's process stage is measured on: one-minute tumbling windows on event time
(the reading's `ts`) per device and metric, keeping count, sum, min and max, over the scored readings
Tributary publishes (key = deviceId, value = JSON of a ScoredReading). Messages are keyed by device, so
one window per device holds every metric's aggregate (a dict metric -> [count, sum, min, max]): per
device and metric without a repartition topic. Windows are emitted when final (closed by a later
reading of the same device; grace 0: each device's readings are in event-time order in its partition),
and counted here; the open ones stay in the state store. State is Quix's default: RocksDB with a
changelog topic, checkpoints every 5 s.

Reads a fresh consumer group from the beginning up to the high watermarks at start, then stops the
application (which commits its last checkpoint) and prints one line: messages, seconds to the first
message, seconds from the first message to the end (stop included), messages/s over that span, the
process's CPU seconds (getrusage: every thread, librdkafka's included) over that span (span_cpu_s)
and over its whole life (cpu_s), and what was emitted.

    ~/.cache/tributary/bench-venv/bin/python bench/quix/aggregate.py --topic T --group G --state-dir D
"""

import argparse
import resource
import sys
import time
from datetime import datetime

STARTED = time.monotonic()

from confluent_kafka import Consumer, TopicPartition  # noqa: E402
from quixstreams import Application  # noqa: E402

WINDOW_MS = 60_000


def event_time(value, headers, timestamp, timestamp_type) -> int:
    # "2025-11-26T17:00:00.123Z" (RFC 3339, UTC, milliseconds)
    return int(datetime.fromisoformat(value["ts"]).timestamp() * 1000)


def initializer(value) -> dict:
    return {m: [1, v["value"], v["value"], v["value"]] for m, v in value["metrics"].items()}


def reducer(agg: dict, value) -> dict:
    for m, v in value["metrics"].items():
        x = v["value"]
        a = agg.get(m)
        if a is None:
            agg[m] = [1, x, x, x]
        else:
            a[0] += 1
            a[1] += x
            if x < a[2]:
                a[2] = x
            if x > a[3]:
                a[3] = x
    return agg


def cpu_seconds() -> float:
    usage = resource.getrusage(resource.RUSAGE_SELF)
    return usage.ru_utime + usage.ru_stime


def high_watermarks(broker: str, topic: str) -> dict:
    c = Consumer({"bootstrap.servers": broker, "group.id": "watermarks-only"})
    try:
        meta = c.list_topics(topic, timeout=10)
        out = {}
        for p in meta.topics[topic].partitions:
            low, high = c.get_watermark_offsets(TopicPartition(topic, p), timeout=10)
            if high > low:
                out[p] = high
        return out
    finally:
        c.close()


def main() -> int:
    ap = argparse.ArgumentParser()
    ap.add_argument("--broker", default="127.0.0.1:9092")
    ap.add_argument("--topic", required=True)
    ap.add_argument("--group", required=True)
    ap.add_argument("--state-dir", required=True)
    ap.add_argument("--guarantee", default="exactly-once", choices=["exactly-once", "at-least-once"])
    ap.add_argument("--loglevel", default="WARNING")
    args = ap.parse_args()

    remaining = high_watermarks(args.broker, args.topic)
    expected = sum(remaining.values())
    seen = {"messages": 0, "first": None, "cpu_at_first": 0.0}
    emitted = {"windows": 0, "values": 0, "sum": 0.0}

    app = Application(
        broker_address=args.broker,
        consumer_group=args.group,
        auto_offset_reset="earliest",
        state_dir=args.state_dir,
        processing_guarantee=args.guarantee,
        loglevel=args.loglevel,
        on_message_processed=lambda topic, partition, offset: processed(partition, offset),
    )

    def processed(partition, offset):
        if seen["first"] is None:
            seen["first"] = time.monotonic()
            seen["cpu_at_first"] = cpu_seconds()
        seen["messages"] += 1
        high = remaining.get(partition)
        if high is not None and offset + 1 >= high:
            del remaining[partition]
            if not remaining:
                app.stop()

    def on_window(window):
        emitted["windows"] += len(window["value"])
        for count, total, _lo, _hi in window["value"].values():
            emitted["values"] += count
            emitted["sum"] += total

    topic = app.topic(
        args.topic,
        key_deserializer="str",
        value_deserializer="json",
        timestamp_extractor=event_time,
    )
    sdf = app.dataframe(topic)
    sdf = sdf.tumbling_window(duration_ms=WINDOW_MS, grace_ms=0).reduce(reducer, initializer).final()
    sdf = sdf.update(on_window)
    if expected:
        app.run()
    end = time.monotonic()
    cpu = cpu_seconds()
    first = seen["first"] or end
    span = end - first
    print(
        f"messages={seen['messages']} expected={expected} guarantee={args.guarantee} "
        f"first_s={first - STARTED:.2f} consume_s={span:.3f} wall_s={end - STARTED:.2f} "
        f"messages_per_s={seen['messages'] / max(span, 1e-9):.0f} "
        f"span_cpu_s={cpu - seen['cpu_at_first']:.2f} cpu_s={cpu:.2f} "
        f"emitted_windows={emitted['windows']} emitted_values={emitted['values']} "
        f"emitted_value_sum={emitted['sum']}"
    )
    return 0 if seen["messages"] >= expected else 1


if __name__ == "__main__":
    sys.exit(main())
