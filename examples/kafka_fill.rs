//! Fills a fresh Kafka topic with N scored readings for the Kafka benchmark (bench/kafka.sh), published
//! exactly as analyze publishes them: `tributary_kafka::KafkaEventLog` (idempotent lz4 producer, key =
//! deviceId, JSON of `ScoredReading`, schema header). The topic is created with P partitions by the
//! rdkafka admin client with one explicit setting, `retention.ms` at Kafka's default of 7 days: nisshi
//! answers DescribeConfigs with only the settings given at creation, and Quix Streams reads
//! `retention.ms` of its input topic to configure its changelog topic (without it, it stops with
//! `KeyError: 'retention.ms'`). Then `tributary_kafka::ensure_topics` adds the dead-letter topic.
//!
//! Readings: D devices, 2 metrics (`temp`, `hum`), N / D readings per device with event times evenly
//! spread over `--minutes` ending `--end-minutes-ago` before now; reading k of every device comes before
//! reading k + 1 of any, so every device's event times are in order in its partition (nothing is late).
//! Values are multiples of 0.25 (exact sums). One metric value in 1,000 is flagged as an anomaly.
//!
//! Prints one line: what was published and the ground truth of the one-minute windows, so a consumer's
//! result can be checked (`closed_*` leaves out the last window of each device and metric, the one a
//! stream processor that closes windows by event time has not closed at the end of the data).
//!
//!     cargo run --release --example kafka_fill -- --topic bench-1 --readings 200000 --devices 1000

use clap::Parser;
use rdkafka::admin::{AdminClient, AdminOptions, NewTopic, TopicReplication};
use rdkafka::client::DefaultClientContext;
use rdkafka::types::RDKafkaErrorCode;
use rdkafka::ClientConfig;
use std::collections::BTreeMap;
use std::time::{Duration, Instant};
use tributary_core::ports::EventLog;
use tributary_core::{ScoredReading, Timestamp};
use tributary_kafka::{ensure_topics, KafkaEventLog, KafkaSettings};

#[derive(Parser)]
struct Args {
    #[arg(long, default_value = "127.0.0.1:9092")]
    brokers: String,
    #[arg(long)]
    topic: String,
    #[arg(long, default_value_t = 200_000)]
    readings: usize,
    #[arg(long, default_value_t = 1_000)]
    devices: usize,
    #[arg(long, default_value_t = 6)]
    partitions: i32,
    /// Event times are spread over this many minutes…
    #[arg(long, default_value_t = 30)]
    minutes: i64,
    /// …ending this many minutes before now.
    #[arg(long, default_value_t = 5)]
    end_minutes_ago: i64,
    /// Readings handed to one `publish` call (analyze publishes a change-feed page at a time).
    #[arg(long, default_value_t = 5_000)]
    chunk: usize,
}

const WINDOW_MS: i64 = 60_000;
/// Kafka's default retention (7 days), stated explicitly on the topic for Quix Streams' sake.
const RETENTION_MS: &str = "604800000";

async fn create_topic(args: &Args) -> anyhow::Result<()> {
    let admin: AdminClient<DefaultClientContext> = ClientConfig::new()
        .set("bootstrap.servers", &args.brokers)
        .create()?;
    let topic = NewTopic::new(&args.topic, args.partitions, TopicReplication::Fixed(1))
        .set("retention.ms", RETENTION_MS);
    let options = AdminOptions::new().operation_timeout(Some(Duration::from_secs(10)));
    for result in admin.create_topics([&topic], &options).await? {
        match result {
            Ok(_) | Err((_, RDKafkaErrorCode::TopicAlreadyExists)) => {}
            Err((topic, code)) => anyhow::bail!("creating topic {topic}: {code}"),
        }
    }
    Ok(())
}

fn readings(args: &Args) -> Vec<ScoredReading> {
    let devices = args.devices.max(1);
    let per_device = args.readings.div_ceil(devices) as i64;
    let span = args.minutes * WINDOW_MS;
    let start = Timestamp::now().millis() - args.end_minutes_ago * WINDOW_MS - span;
    let step = (span / per_device.max(1)).max(1);
    let mut out = Vec::with_capacity(args.readings);
    'fill: for k in 0..per_device {
        for d in 0..devices {
            if out.len() == args.readings {
                break 'fill;
            }
            let i = k * devices as i64 + d as i64;
            // Devices are staggered within the step, so event times rise through the whole sequence.
            let ts = start + k * step + (d as i64 * step) / devices as i64;
            let temp = 15.0 + ((k * 7 + d as i64) % 41) as f64 * 0.25;
            let hum = 40.0 + ((k * 3 + d as i64) % 17) as f64 * 0.5;
            out.push(tributary_testkit::scored(
                &format!("dev-{d:05}"),
                &format!("r{k}"),
                ts,
                &[("temp", temp, i % 1000 == 7), ("hum", hum, false)],
            ));
        }
    }
    out
}

/// Windows (device, metric, start) → (count, sum), and the same without each series' last window.
fn truth(events: &[ScoredReading]) -> String {
    let mut windows: BTreeMap<(&str, &str, i64), (u64, f64)> = BTreeMap::new();
    for e in events {
        for (metric, v) in &e.metrics {
            let start = e.ts.floor(WINDOW_MS).millis();
            let w = windows
                .entry((e.device_id.as_str(), metric.as_str(), start))
                .or_default();
            w.0 += 1;
            w.1 += v.value;
        }
    }
    let (mut values, mut sum) = (0u64, 0.0);
    let (mut closed, mut closed_values, mut closed_sum) = (0usize, 0u64, 0.0);
    let keys: Vec<_> = windows.keys().copied().collect();
    for (i, key) in keys.iter().enumerate() {
        let (count, s) = windows[key];
        values += count;
        sum += s;
        let last_of_series = keys
            .get(i + 1)
            .is_none_or(|next| (next.0, next.1) != (key.0, key.1));
        if !last_of_series {
            closed += 1;
            closed_values += count;
            closed_sum += s;
        }
    }
    format!(
        "windows={} values={values} value_sum={sum} closed_windows={closed} \
         closed_values={closed_values} closed_value_sum={closed_sum}",
        windows.len()
    )
}

#[tokio::main]
async fn main() -> anyhow::Result<()> {
    let args = Args::parse();
    let settings = KafkaSettings {
        brokers: args.brokers.clone(),
        topic: args.topic.clone(),
        dead_letter_topic: format!("{}.dead-letter", args.topic),
        partitions: args.partitions,
        ..Default::default()
    };
    create_topic(&args).await?;
    ensure_topics(&settings).await?;
    let events = readings(&args);
    let truth = truth(&events);
    let log = KafkaEventLog::new(&settings)?;
    let started = Instant::now();
    for chunk in events.chunks(args.chunk.max(1)) {
        log.publish(chunk).await?;
    }
    let seconds = started.elapsed().as_secs_f64();
    println!(
        "topic={} readings={} devices={} partitions={} publish_s={seconds:.2} \
         publish_readings_per_s={:.0} {truth}",
        args.topic,
        events.len(),
        args.devices,
        args.partitions,
        events.len() as f64 / seconds
    );
    Ok(())
}
