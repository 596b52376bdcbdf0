//! The Kafka consume ceiling for bench/kafka.sh: a raw rdkafka `StreamConsumer` (the consumer Tributary's
//! process stage uses, with the same client settings) in a fresh consumer group reads the topic from the
//! beginning to the high watermarks it had at start, touching every payload and doing nothing else
//! (`--decode` also parses each payload into a `ScoredReading`, as process does first). Same runtime and
//! allocator as `tributary`.
//!
//! Prints one line: messages, time to the first message (group join and first fetch), seconds from the
//! first message to the last, messages/s over that span, and the process's CPU seconds (user + system,
//! from /proc/self/stat) over that span (`span_cpu_s`) and over its whole life (`cpu_s`).
//!
//!     cargo run --release --example kafka_ceiling -- --topic bench-1 --group bench-1-ceiling

use anyhow::Context;
use clap::Parser;
use rdkafka::consumer::{Consumer, StreamConsumer};
use rdkafka::message::Message;
use rdkafka::ClientConfig;
use std::collections::BTreeMap;
use std::time::{Duration, Instant};

#[global_allocator]
static GLOBAL: mimalloc::MiMalloc = mimalloc::MiMalloc;

#[derive(Parser)]
struct Args {
    #[arg(long, default_value = "127.0.0.1:9092")]
    brokers: String,
    #[arg(long)]
    topic: String,
    #[arg(long)]
    group: String,
    /// Parse every payload as a scored reading too.
    #[arg(long)]
    decode: bool,
}

/// CPU seconds (user + system) of this process so far; clock ticks are 1/100 s on Linux.
fn cpu_seconds() -> anyhow::Result<f64> {
    let stat = std::fs::read_to_string("/proc/self/stat")?;
    let fields: Vec<&str> = stat
        .rsplit_once(')')
        .context("/proc/self/stat")?
        .1
        .split_whitespace()
        .collect();
    // After the command name: state is field 3, utime 14 and stime 15 (1-based in proc(5)).
    let utime: f64 = fields.get(11).context("utime")?.parse()?;
    let stime: f64 = fields.get(12).context("stime")?.parse()?;
    Ok((utime + stime) / 100.0)
}

#[tokio::main]
async fn main() -> anyhow::Result<()> {
    let started = Instant::now();
    let args = Args::parse();
    let consumer: StreamConsumer = ClientConfig::new()
        .set("bootstrap.servers", &args.brokers)
        .set("group.id", &args.group)
        .set("enable.auto.commit", "false")
        .set("auto.offset.reset", "earliest")
        .set("enable.partition.eof", "false")
        .set("session.timeout.ms", "10000")
        .create()?;
    let metadata = consumer.fetch_metadata(Some(&args.topic), Duration::from_secs(10))?;
    let partitions: Vec<i32> = metadata
        .topics()
        .iter()
        .flat_map(|t| t.partitions().iter().map(|p| p.id()))
        .collect();
    // The end: each partition's high watermark now; a partition is done when it reaches it.
    let mut remaining: BTreeMap<i32, i64> = BTreeMap::new();
    for p in partitions {
        let (low, high) = consumer.fetch_watermarks(&args.topic, p, Duration::from_secs(10))?;
        if high > low {
            remaining.insert(p, high);
        }
    }
    let total: i64 = remaining.values().sum();
    consumer.subscribe(&[&args.topic])?;
    let (mut messages, mut bytes, mut decoded) = (0u64, 0u64, 0u64);
    let mut first: Option<Instant> = None;
    let mut cpu_at_first = 0.0;
    while !remaining.is_empty() {
        let message = consumer.recv().await?;
        if first.is_none() {
            first = Some(Instant::now());
            cpu_at_first = cpu_seconds()?;
        }
        messages += 1;
        if let Some(payload) = message.payload() {
            bytes += payload.len() as u64;
            if args.decode && tributary_kafka::decode(payload).is_ok() {
                decoded += 1;
            }
        }
        let partition = message.partition();
        if remaining
            .get(&partition)
            .is_some_and(|high| message.offset() + 1 >= *high)
        {
            remaining.remove(&partition);
        }
    }
    let end = Instant::now();
    let span = first.map_or(0.0, |f| (end - f).as_secs_f64());
    let to_first = first.map_or(0.0, |f| (f - started).as_secs_f64());
    let cpu = cpu_seconds()?;
    println!(
        "messages={messages} expected={total} bytes={bytes} decoded={decoded} first_s={to_first:.2} \
         consume_s={span:.3} wall_s={:.2} messages_per_s={:.0} span_cpu_s={:.2} cpu_s={cpu:.2}",
        (end - started).as_secs_f64(),
        messages as f64 / span.max(1e-9),
        cpu - cpu_at_first
    );
    Ok(())
}
