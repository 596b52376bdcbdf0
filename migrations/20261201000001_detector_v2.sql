-- Detector v2: what each anomaly and each latest value was judged as, and against what (the
-- expected value and band); NULL for rows written before.
ALTER TABLE anomalies
    ADD COLUMN kind     TEXT,
    ADD COLUMN expected DOUBLE PRECISION,
    ADD COLUMN lower    DOUBLE PRECISION,
    ADD COLUMN upper    DOUBLE PRECISION;
ALTER TABLE device_metrics
    ADD COLUMN kind     TEXT,
    ADD COLUMN expected DOUBLE PRECISION,
    ADD COLUMN lower    DOUBLE PRECISION,
    ADD COLUMN upper    DOUBLE PRECISION;
