"""Smoke test of the Cosmos DB test server with the real Python SDK (azure-cosmos, requirements.txt).

    python tests/support/cosmos-server/smoke.py      # starts server.js on a free port, runs, stops it

Exercises what a real client does: database and container, 409 and 404, partition-scoped queries,
the change feed (beginning, continuation, paging, per partition key, from now), transactional batch
atomicity, If-Match, TTL, wrong key, Entra tokens (--aad), injected 429s. Prints "N passed, N failed".
"""
import base64
import json
import os
import socket
import subprocess
import sys
import time
import urllib.error
import urllib.parse
import urllib.request

from azure.core import MatchConditions
from azure.cosmos import CosmosClient, PartitionKey, exceptions

HERE = os.path.dirname(os.path.abspath(__file__))
KEY = base64.b64encode(b"tributary-test-key-" * 3).decode()
RESULTS = {"passed": 0, "failed": 0}


def check(name, condition, detail=""):
    RESULTS["passed" if condition else "failed"] += 1
    print(f"{'ok  ' if condition else 'FAIL'} {name}{'' if condition else ' ' + str(detail)}")


def expect_status(name, status, fn):
    try:
        fn()
        check(name, False, "no error raised")
    except exceptions.CosmosHttpResponseError as err:
        check(name, err.status_code == status, f"status {err.status_code}")


def start_server(*args):
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        port = s.getsockname()[1]
    proc = subprocess.Popen(["node", os.path.join(HERE, "server.js"), "--port", str(port), *args],
                            stdout=subprocess.PIPE, text=True)
    line = proc.stdout.readline()
    assert line.strip() == f"listening on {port}", line
    return proc, f"http://127.0.0.1:{port}"


def admin(url, path, body):
    req = urllib.request.Request(url + path, data=json.dumps(body).encode(), method="POST",
                                 headers={"content-type": "application/json"})
    return json.load(urllib.request.urlopen(req))


def change_feed(container, **kwargs):
    """One drain of the change feed: (items, continuation token)."""
    items = list(container.query_items_change_feed(**kwargs))
    return items, container.client_connection.last_response_headers.get("etag")


def main(url):
    client = CosmosClient(url, credential=KEY, connection_retry_policy=None)
    db = client.create_database_if_not_exists("smoke")
    container = db.create_container("readings", partition_key=PartitionKey(path="/deviceId"))
    check("container is created with V2 hashing", container.read()["partitionKey"].get("version") == 2)

    devices = [f"pump-{i:04d}" for i in range(12)]
    for i, device in enumerate(devices):
        container.create_item({"id": f"r{i}", "deviceId": device, "seq": i})
    expect_status("duplicate create is 409", 409,
                  lambda: container.create_item({"id": "r0", "deviceId": devices[0], "seq": 99}))
    container.create_item({"id": "r0", "deviceId": devices[1], "seq": 100})
    check("same id under another partition key is allowed",
          container.read_item("r0", partition_key=devices[1])["seq"] == 100)
    expect_status("read of a missing item is 404", 404,
                  lambda: container.read_item("nope", partition_key=devices[0]))
    expect_status("delete of a missing item is 404", 404,
                  lambda: container.delete_item("nope", partition_key=devices[0]))

    rows = list(container.query_items("SELECT * FROM c", partition_key=devices[1]))
    check("query honours the partition key", sorted(r["id"] for r in rows) == ["r0", "r1"], rows)
    rows = list(container.query_items("SELECT * FROM c WHERE c.seq >= @s", parameters=[{"name": "@s", "value": 10}],
                                      enable_cross_partition_query=True))
    check("cross-partition query sees every range", sorted(r["seq"] for r in rows) == [10, 11, 100], rows)
    rows = list(container.query_items("SELECT VALUE c.seq FROM c OFFSET 1 LIMIT 1", partition_key=devices[1]))
    check("OFFSET/LIMIT", len(rows) == 1, rows)

    items, token = change_feed(container, start_time="Beginning")
    check("change feed from the beginning has every item", len(items) == 13, len(items))
    check("change feed items carry _lsn", all("_lsn" in i for i in items))
    items, token2 = change_feed(container, continuation=token)
    check("continuation with nothing new is empty", items == [], items)
    doc = container.read_item("r2", partition_key=devices[2])
    container.replace_item("r2", {**doc, "seq": 2000})
    container.upsert_item({**doc, "seq": 2001})
    container.create_item({"id": "late", "deviceId": devices[3], "seq": 3000})
    items, token3 = change_feed(container, continuation=token2)
    check("new writes appear after the continuation, twice-updated once",
          sorted(i["seq"] for i in items) == [2001, 3000], [i["seq"] for i in items])
    items, _ = change_feed(container, continuation=token3)
    check("and then nothing", items == [], items)
    pages = list(container.query_items_change_feed(start_time="Beginning", max_item_count=4).by_page())
    sizes = [len(list(p)) for p in pages]
    check("change feed pages honour max_item_count", max(sizes) <= 4 and sum(sizes) == 14, sizes)
    items, _ = change_feed(container, start_time="Beginning", partition_key=devices[1])
    check("change feed scoped to a partition key", sorted(i["id"] for i in items) == ["r0", "r1"], items)
    items, now_token = change_feed(container, start_time="Now")
    container.create_item({"id": "after-now", "deviceId": devices[5], "seq": 5000})
    items2, _ = change_feed(container, continuation=now_token)
    check("change feed from now sees only later writes", items == [] and [i["id"] for i in items2] == ["after-now"],
          (items, items2))
    ranges = list(container.read_feed_ranges())
    per_range = [len(change_feed(container, start_time="Beginning", feed_range=r)[0]) for r in ranges]
    check("each feed range holds a share of the items", len(ranges) == 4 and sum(per_range) == 15 and
          max(per_range) < 15, per_range)

    stale = container.read_item("r4", partition_key=devices[4])
    container.replace_item("r4", {**stale, "seq": 41})
    expect_status("replace with a stale etag is 412", 412, lambda: container.replace_item(
        "r4", {**stale, "seq": 42}, etag=stale["_etag"], match_condition=MatchConditions.IfNotModified))

    ok = container.execute_item_batch([("create", ({"id": "b1", "deviceId": devices[6]},)),
                                       ("upsert", ({"id": "b2", "deviceId": devices[6]},))],
                                      partition_key=devices[6])
    check("a good batch applies", len(ok) == 2 and len(list(container.query_items(
        "SELECT * FROM c", partition_key=devices[6]))) == 3)
    try:
        container.execute_item_batch([("create", ({"id": "b3", "deviceId": devices[6]},)),
                                      ("create", ({"id": "b1", "deviceId": devices[6]},)),
                                      ("delete", ("r6",))], partition_key=devices[6])
        check("a failing batch raises", False)
    except exceptions.CosmosBatchOperationError as err:
        codes = [r["statusCode"] for r in err.operation_responses]
        check("a failing batch reports 424/409/424", codes == [424, 409, 424], codes)
    expect_status("a failing batch is rolled back", 404, lambda: container.read_item("b3", partition_key=devices[6]))

    ttl = db.create_container("ttl", partition_key=PartitionKey(path="/deviceId"), default_ttl=1)
    ttl.create_item({"id": "t", "deviceId": "d"})
    time.sleep(2.1)
    expect_status("an expired item is gone", 404, lambda: ttl.read_item("t", partition_key="d"))

    admin(url, "/_admin/throttle", {"count": 2, "retryAfterMs": 10})
    container.create_item({"id": "throttled", "deviceId": devices[7]})
    faults = json.load(urllib.request.urlopen(url + "/_admin/faults"))
    check("429s are retried by the client", faults["throttle"]["count"] == 0, faults)

    wrong = base64.b64encode(b"wrong-key-" * 4).decode()
    expect_status("a wrong key is 401", 401,
                  lambda: CosmosClient(url, credential=wrong).get_database_client("smoke").read())


def entra(url, accepted):
    """An Entra (AAD) token as the SDKs send it; Python's SDK only sends bearer tokens over https."""
    token = urllib.parse.quote("type=aad&ver=1.0&sig=eyJhbGciOiJub25lIn0.eyJzdWIiOiJ0ZXN0In0.c2ln", safe="")
    req = urllib.request.Request(url + "/dbs", headers={"authorization": token, "x-ms-date": "x"})
    try:
        status = urllib.request.urlopen(req).status
    except urllib.error.HTTPError as err:
        status = err.code
    want = 200 if accepted else 401
    check(f"an Entra token is {'accepted with' if accepted else 'refused without'} --aad", status == want, status)


if __name__ == "__main__":
    servers = []
    try:
        proc, url = start_server("--key", KEY, "--ranges", "4")
        servers.append(proc)
        main(url)
        entra(url, accepted=False)
        proc, url = start_server("--key", KEY, "--aad")
        servers.append(proc)
        entra(url, accepted=True)
    finally:
        for proc in servers:
            proc.terminate()
            proc.wait()
    print(f"{RESULTS['passed']} passed, {RESULTS['failed']} failed")
    sys.exit(1 if RESULTS["failed"] else 0)
