"""Deletes a benchmark topic of bench/kafka.sh and what was made from it: TOPIC, TOPIC.dead-letter and
Quix Streams' changelog topics of consumer groups on TOPIC (changelog__<group>--TOPIC--<store>).

    ~/.cache/tributary/bench-venv/bin/python bench/quix/delete_topics.py --broker 127.0.0.1:9092 TOPIC
"""

import argparse

from confluent_kafka.admin import AdminClient


def main() -> None:
    ap = argparse.ArgumentParser()
    ap.add_argument("--broker", default="127.0.0.1:9092")
    ap.add_argument("topic")
    args = ap.parse_args()
    admin = AdminClient({"bootstrap.servers": args.broker, "log_level": 3})
    names = [
        t
        for t in admin.list_topics(timeout=10).topics
        if t in (args.topic, f"{args.topic}.dead-letter") or f"--{args.topic}--" in t
    ]
    if names:
        for topic, future in admin.delete_topics(names, operation_timeout=10).items():
            try:
                future.result()
            except Exception as e:  # best effort: a leftover topic only costs broker memory
                print(f"could not delete {topic}: {e}")


if __name__ == "__main__":
    main()
