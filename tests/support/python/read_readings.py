"""Reads back, with the Python Cosmos DB SDK (azure-cosmos), the readings Tributary's ingest wrote:
what a data scientist's notebook would do. Prints one JSON object: the number of documents, and
the documents of one device read through a partition-scoped query, oldest first.

    python read_readings.py <endpoint> <key> <database> <container> <device>
"""
import json
import sys

from azure.cosmos import CosmosClient


def main(endpoint, key, database, container, device):
    client = CosmosClient(endpoint, credential=key)
    readings = client.get_database_client(database).get_container_client(container)
    count = sum(
        1 for _ in readings.query_items("SELECT c.id FROM c", enable_cross_partition_query=True)
    )
    docs = list(
        readings.query_items(
            "SELECT c.id, c.deviceId, c.ts, c.seq, c.metrics, c.tags, c.receivedAt FROM c",
            partition_key=device,
        )
    )
    docs.sort(key=lambda d: d["ts"])
    print(json.dumps({"count": count, "device": docs}))


if __name__ == "__main__":
    main(*sys.argv[1:])
