-- Tributary result store (PostgreSQL). Times are epoch milliseconds (BIGINT), as in the event schema;
-- `to_timestamp(start_ms / 1000.0)` gives a timestamptz in SQL.

-- Each consumer's next offset per partition, written in the same transaction as the aggregates it guards.
CREATE TABLE consumer_positions (
    consumer    TEXT    NOT NULL,
    partition   INTEGER NOT NULL,
    next_offset BIGINT  NOT NULL,
    PRIMARY KEY (consumer, partition)
);

-- Every reading counted, so one republished under a new offset is not counted again.
CREATE TABLE applied_readings (
    device_id  TEXT        NOT NULL,
    reading_id TEXT        NOT NULL,
    applied_at TIMESTAMPTZ NOT NULL DEFAULT now(),
    PRIMARY KEY (device_id, reading_id)
);
CREATE INDEX applied_readings_by_time ON applied_readings (applied_at);

-- One-minute tumbling event-time windows per device and metric.
CREATE TABLE windows (
    device_id TEXT             NOT NULL,
    metric    TEXT             NOT NULL,
    start_ms  BIGINT           NOT NULL,
    count     BIGINT           NOT NULL,
    sum       DOUBLE PRECISION NOT NULL,
    min       DOUBLE PRECISION NOT NULL,
    max       DOUBLE PRECISION NOT NULL,
    last      DOUBLE PRECISION NOT NULL,
    last_ts   BIGINT           NOT NULL,
    anomalies BIGINT           NOT NULL,
    PRIMARY KEY (device_id, metric, start_ms)
);

CREATE TABLE anomalies (
    device_id  TEXT             NOT NULL,
    reading_id TEXT             NOT NULL,
    metric     TEXT             NOT NULL,
    ts         BIGINT           NOT NULL,
    value      DOUBLE PRECISION NOT NULL,
    score      DOUBLE PRECISION NOT NULL,
    PRIMARY KEY (device_id, reading_id, metric)
);
CREATE INDEX anomalies_by_ts ON anomalies (ts DESC);

-- Latest state: last event time per device, latest value per device and metric.
CREATE TABLE devices (
    device_id TEXT   PRIMARY KEY,
    last_seen BIGINT NOT NULL
);

CREATE TABLE device_metrics (
    device_id TEXT             NOT NULL,
    metric    TEXT             NOT NULL,
    value     DOUBLE PRECISION NOT NULL,
    ts        BIGINT           NOT NULL,
    score     DOUBLE PRECISION NOT NULL,
    anomaly   BOOLEAN          NOT NULL,
    PRIMARY KEY (device_id, metric)
);
