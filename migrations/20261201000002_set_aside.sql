-- Records a stage could not read or apply (a change-feed document that is not a readable reading,
-- an event the log refused), kept verbatim with why, so the stage moves on for everyone else and an
-- operator can list and replay them (`tributary dead-letters`). One copy per source and key.
CREATE TABLE set_aside (
    source       TEXT   NOT NULL,
    key          TEXT   NOT NULL,
    record       TEXT   NOT NULL,
    reason       TEXT   NOT NULL,
    set_aside_at BIGINT NOT NULL,
    PRIMARY KEY (source, key)
);
