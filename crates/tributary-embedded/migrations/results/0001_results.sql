-- Consumer progress, stored in the same transaction as the aggregates it produced.
CREATE TABLE consumer_positions (
    consumer    TEXT NOT NULL,
    partition   INTEGER NOT NULL,
    next_offset INTEGER NOT NULL,
    PRIMARY KEY (consumer, partition)
) WITHOUT ROWID;

-- Every reading counted, so that one republished under a new offset is not counted again.
CREATE TABLE applied_readings (
    device_id  TEXT NOT NULL,
    reading_id TEXT NOT NULL,
    applied_at INTEGER NOT NULL,
    PRIMARY KEY (device_id, reading_id)
) WITHOUT ROWID;

-- One-minute windows per device and metric.
CREATE TABLE windows (
    device_id TEXT NOT NULL,
    metric    TEXT NOT NULL,
    start_ms  INTEGER NOT NULL,
    count     INTEGER NOT NULL,
    sum       REAL NOT NULL,
    min       REAL NOT NULL,
    max       REAL NOT NULL,
    last      REAL NOT NULL,
    last_ts   INTEGER NOT NULL,
    anomalies INTEGER NOT NULL,
    PRIMARY KEY (device_id, metric, start_ms)
) WITHOUT ROWID;

CREATE TABLE anomalies (
    device_id  TEXT NOT NULL,
    reading_id TEXT NOT NULL,
    metric     TEXT NOT NULL,
    ts         INTEGER NOT NULL,
    value      REAL NOT NULL,
    score      REAL NOT NULL,
    PRIMARY KEY (device_id, reading_id, metric)
) WITHOUT ROWID;
CREATE INDEX anomalies_by_ts ON anomalies (ts);

-- Latest state per device (JSON of DeviceLatest).
CREATE TABLE devices (
    device_id TEXT PRIMARY KEY,
    last_seen INTEGER NOT NULL,
    latest    TEXT NOT NULL
) WITHOUT ROWID;
