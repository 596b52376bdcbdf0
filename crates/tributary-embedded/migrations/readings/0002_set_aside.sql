-- Records analyze or process could not read or apply, kept verbatim with why (tributary dead-letters).
CREATE TABLE set_aside (
    source       TEXT    NOT NULL,
    key          TEXT    NOT NULL,
    record       TEXT    NOT NULL,
    reason       TEXT    NOT NULL,
    set_aside_at INTEGER NOT NULL,
    PRIMARY KEY (source, key)
) WITHOUT ROWID;
