-- Analyze's progress when it runs outside the embedded store (native analyze on Cosmos, or Analyze
-- invoked by the Functions host): the change-feed continuation and each device's detector state.
CREATE TABLE checkpoints (
    feed         TEXT PRIMARY KEY,
    continuation TEXT NOT NULL
);

CREATE TABLE detector_states (
    feed      TEXT  NOT NULL,
    device_id TEXT  NOT NULL,
    state     JSONB NOT NULL,
    PRIMARY KEY (feed, device_id)
);
