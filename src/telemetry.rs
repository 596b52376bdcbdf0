//! Prometheus metrics, owned by the app (no global registry): counts, rates, lag and latency.

use prometheus_client::encoding::text::encode;
use prometheus_client::metrics::counter::Counter;
use prometheus_client::metrics::family::Family;
use prometheus_client::metrics::gauge::Gauge;
use prometheus_client::metrics::histogram::Histogram;
use prometheus_client::registry::Registry;
use tributary_core::ErrorClass;

type Labels = Vec<(&'static str, &'static str)>;

pub struct Telemetry {
    registry: Registry,
    readings: Family<Labels, Counter>,
    stage_readings: Family<Labels, Counter>,
    stage_errors: Family<Labels, Counter>,
    anomalies: Counter,
    lag: Family<Labels, Gauge>,
    waiting: Family<Labels, Gauge>,
    set_aside: Family<Labels, Counter>,
    ingest_seconds: Histogram,
    refused: Family<Labels, Counter>,
}

impl Default for Telemetry {
    fn default() -> Self {
        let mut registry = Registry::with_prefix("tributary");
        let readings = Family::<Labels, Counter>::default();
        registry.register(
            "ingest_readings",
            "Readings received by ingest, by outcome (accepted, duplicate, rejected)",
            readings.clone(),
        );
        let stage_readings = Family::<Labels, Counter>::default();
        registry.register(
            "stage_readings",
            "Readings handled by a stage (analyze, process), by outcome",
            stage_readings.clone(),
        );
        let stage_errors = Family::<Labels, Counter>::default();
        registry.register(
            "stage_errors",
            "Failed stage steps, by stage and error class (transient, broken, poison)",
            stage_errors.clone(),
        );
        let waiting = Family::<Labels, Gauge>::default();
        registry.register(
            "stage_waiting",
            "1 while a stage waits on a backend, by stage and error class (broken: an operator must act)",
            waiting.clone(),
        );
        let set_aside = Family::<Labels, Counter>::default();
        registry.register(
            "set_aside",
            "Records a stage could not read or apply and set aside, by stage and where (dead_letter_topic, quarantine)",
            set_aside.clone(),
        );
        let anomalies = Counter::default();
        registry.register(
            "anomalies",
            "Readings flagged as anomalous by analyze",
            anomalies.clone(),
        );
        let lag = Family::<Labels, Gauge>::default();
        registry.register(
            "lag",
            "Messages not yet handled: change_feed (readings not analysed), event_log (events not processed)",
            lag.clone(),
        );
        let buckets = [
            0.0005, 0.001, 0.0025, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1.0, 2.5,
        ];
        let ingest_seconds = Histogram::new(buckets);
        registry.register(
            "ingest_request_duration_seconds",
            "Time to validate and durably store one ingest request",
            ingest_seconds.clone(),
        );
        let refused = Family::<Labels, Counter>::default();
        registry.register(
            "ingest_refused_requests",
            "Ingest requests answered 503 to shed load, by reason (busy: body budget spent; lagging)",
            refused.clone(),
        );
        Self {
            refused,
            registry,
            readings,
            stage_readings,
            stage_errors,
            anomalies,
            lag,
            waiting,
            set_aside,
            ingest_seconds,
        }
    }
}

impl Telemetry {
    pub fn ingested(&self, accepted: usize, duplicates: usize, rejected: usize, seconds: f64) {
        for (outcome, n) in [
            ("accepted", accepted),
            ("duplicate", duplicates),
            ("rejected", rejected),
        ] {
            self.readings
                .get_or_create(&vec![("outcome", outcome)])
                .inc_by(n as u64);
        }
        self.ingest_seconds.observe(seconds);
    }

    pub fn stage(&self, stage: &'static str, outcome: &'static str, n: usize) {
        if n > 0 {
            let labels = vec![("stage", stage), ("outcome", outcome)];
            self.stage_readings.get_or_create(&labels).inc_by(n as u64);
        }
    }

    /// What one analyze pass did, whichever trigger drove it.
    pub fn analyzed(&self, report: &tributary_core::analyze::AnalyzeReport) {
        self.stage("analyze", "scored", report.scored);
        self.anomalies(report.anomalies);
        self.set_aside("analyze", "quarantine", report.set_aside);
    }

    pub fn stage_error(&self, stage: &'static str, class: ErrorClass) {
        self.stage_errors
            .get_or_create(&vec![("stage", stage), ("class", class.as_str())])
            .inc();
    }

    /// Whether `stage` is waiting on a backend failing with `class`.
    pub fn waiting(&self, stage: &'static str, class: ErrorClass, waiting: bool) {
        self.waiting
            .get_or_create(&vec![("stage", stage), ("class", class.as_str())])
            .set(i64::from(waiting));
    }

    /// Records set aside by `stage` into `place`.
    pub fn set_aside(&self, stage: &'static str, place: &'static str, n: usize) {
        if n > 0 {
            self.set_aside
                .get_or_create(&vec![("stage", stage), ("place", place)])
                .inc_by(n as u64);
        }
    }

    pub fn anomalies(&self, n: usize) {
        self.anomalies.inc_by(n as u64);
    }

    pub fn lag(&self, source: &'static str, n: u64) {
        self.lag
            .get_or_create(&vec![("source", source)])
            .set(n as i64);
    }

    /// The lag `source` last reported (0 if never).
    pub fn lag_of(&self, source: &'static str) -> u64 {
        let labels = vec![("source", source)];
        self.lag
            .get(&labels)
            .map_or(0, |gauge| u64::try_from(gauge.get()).unwrap_or(0))
    }

    pub fn refused(&self, reason: &'static str) {
        self.refused.get_or_create(&vec![("reason", reason)]).inc();
    }

    /// The OpenMetrics text exposition.
    pub fn render(&self) -> String {
        let mut out = String::new();
        // Writing into a String cannot fail.
        let _ = encode(&mut out, &self.registry);
        out
    }
}
