-- The reading store: every accepted reading, unique by (device_id, reading_id); lsn orders the change feed.
CREATE TABLE readings (
    lsn        INTEGER PRIMARY KEY AUTOINCREMENT,
    device_id  TEXT NOT NULL,
    reading_id TEXT NOT NULL,
    body       TEXT NOT NULL,
    UNIQUE (device_id, reading_id)
);

-- Analyze's progress per feed, and the detector state per device committed with it.
CREATE TABLE checkpoints (
    feed         TEXT PRIMARY KEY,
    continuation TEXT NOT NULL
);

CREATE TABLE detector_states (
    feed      TEXT NOT NULL,
    device_id TEXT NOT NULL,
    state     TEXT NOT NULL,
    PRIMARY KEY (feed, device_id)
) WITHOUT ROWID;
