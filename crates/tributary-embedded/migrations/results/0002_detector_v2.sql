-- Detector v2: what each anomaly was judged as, and against what (NULL for anomalies stored before).
ALTER TABLE anomalies ADD COLUMN kind TEXT;
ALTER TABLE anomalies ADD COLUMN expected REAL;
ALTER TABLE anomalies ADD COLUMN lower REAL;
ALTER TABLE anomalies ADD COLUMN upper REAL;
