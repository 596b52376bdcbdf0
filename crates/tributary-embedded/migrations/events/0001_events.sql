-- The event log: scored readings in publish order (one partition); seq is the offset.
CREATE TABLE events (
    seq       INTEGER PRIMARY KEY AUTOINCREMENT,
    device_id TEXT NOT NULL,
    payload   TEXT NOT NULL
);
