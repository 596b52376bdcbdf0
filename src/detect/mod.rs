//! `tributary detect`: the pipeline's detector, offline. Scores a CSV strictly online (row t's
//! output depends only on rows ≤ t, in file order), with the same `analyze::score_value` that
//! analyze runs, and with `--labels` replays a labelled corpus and reports how well it detects.

pub mod evaluate;
pub mod report;
pub mod table;

use crate::settings::Settings;
use anyhow::{anyhow, Context};
use std::io::Write;
use std::path::{Path, PathBuf};
use table::Layout;
use tributary_core::analyze::{score_value, DetectorConfig, DeviceState, MetricConfig};
use tributary_core::{AnomalyKind, Timestamp};

#[derive(clap::Args)]
pub struct DetectArgs {
    /// CSV with a header: a `timestamp` column and one or more numeric metric columns. With
    /// `--labels`, a file or a folder of such files, each with a `label` column.
    #[arg(long)]
    pub input: PathBuf,
    /// Where to write the scored rows [default: standard output].
    #[arg(long)]
    pub output: Option<PathBuf>,
    /// Settings file; its `[detector]` section applies (environment variables override it).
    #[arg(long, env = "TRIBUTARY_CONFIG")]
    pub config: Option<PathBuf>,
    /// Evaluate against the `label` column (a kind, or empty when normal) and print the scores
    /// instead of the rows.
    #[arg(long)]
    pub labels: bool,
}

pub fn main(args: DetectArgs) -> anyhow::Result<()> {
    let cfg = Settings::load(args.config.as_deref())
        .map_err(|e| anyhow!("invalid settings: {e}"))?
        .detector;
    cfg.validate()
        .map_err(|e| anyhow!("invalid settings: {e}"))?;
    if args.labels {
        let outcomes = evaluate_path(&args.input, &cfg)?;
        let summary = evaluate::Summary::of(&outcomes);
        print!("{}", report::render(&summary, &outcomes));
        return Ok(());
    }
    let input = open(&args.input)?;
    match &args.output {
        Some(path) => {
            let file = std::fs::File::create(path)
                .with_context(|| format!("creating {}", path.display()))?;
            detect(input, std::io::BufWriter::new(file), &cfg)
        }
        None => detect(input, std::io::stdout().lock(), &cfg),
    }
}

fn open(path: &Path) -> anyhow::Result<csv::Reader<std::fs::File>> {
    csv::ReaderBuilder::new()
        .flexible(false)
        .from_path(path)
        .with_context(|| format!("opening {}", path.display()))
}

/// One series' detector: a device's state with one metric per column.
struct SeriesDetector {
    state: DeviceState,
    configs: Vec<MetricConfig>,
}

impl SeriesDetector {
    fn new(layout: &Layout, cfg: &DetectorConfig) -> Self {
        let configs = layout
            .metrics
            .iter()
            .map(|(_, m)| cfg.for_metric(m.as_str()))
            .collect();
        Self {
            state: DeviceState::new(),
            configs,
        }
    }
}

/// Scores every row of `input` in file order and writes it with its scores to `output`.
pub fn detect<R: std::io::Read, W: Write>(
    mut input: csv::Reader<R>,
    output: W,
    cfg: &DetectorConfig,
) -> anyhow::Result<()> {
    let header = input.headers().context("reading the header")?.clone();
    let layout = Layout::parse(&header, false)?;
    let mut detector = SeriesDetector::new(&layout, cfg);
    let mut out = csv::Writer::from_writer(output);
    out.write_record(layout.output_header(&header))?;
    let (mut row, mut written) = (csv::ByteRecord::new(), csv::ByteRecord::new());
    let mut buf = ryu::Buffer::new();
    while input.read_byte_record(&mut row).map_err(bad_row)? {
        let line = row.position().map_or(0, |p| p.line());
        written.clear();
        for field in &row {
            written.push_field(field);
        }
        let ts = cell(&row, layout.timestamp, line, table::parse_time)?;
        for (k, (col, name)) in layout.metrics.iter().enumerate() {
            let scored = cell(&row, *col, line, table::parse_value)?.map(|v| {
                score_value(
                    &mut detector.state,
                    name,
                    v,
                    Timestamp::from_millis(ts),
                    &detector.configs[k],
                )
            });
            table::push_scores(&mut written, scored.as_ref(), &mut buf);
        }
        out.write_byte_record(&written)?;
    }
    out.flush()?;
    Ok(())
}

fn cell<T>(
    row: &csv::ByteRecord,
    col: usize,
    line: u64,
    parse: impl Fn(&[u8]) -> Result<T, String>,
) -> anyhow::Result<T> {
    parse(row.get(col).unwrap_or_default())
        .map_err(|e| anyhow!("line {line}, column {}: {e}", col + 1))
}

fn bad_row(e: csv::Error) -> anyhow::Error {
    match e.position() {
        Some(p) => anyhow!("line {}: {e}", p.line()),
        None => anyhow!("{e}"),
    }
}

/// A labelled series as read from a file.
pub struct LabelledSeries {
    pub name: String,
    pub ts: Vec<i64>,
    pub values: Vec<Vec<Option<f64>>>,
    pub labels: Vec<Option<AnomalyKind>>,
    pub configs: Vec<MetricConfig>,
    pub names: Vec<tributary_core::MetricName>,
}

/// Evaluates a labelled file, or every `.csv` in a folder (in name order).
pub fn evaluate_path(path: &Path, cfg: &DetectorConfig) -> anyhow::Result<Vec<evaluate::Outcome>> {
    let mut files = Vec::new();
    if path.is_dir() {
        for entry in
            std::fs::read_dir(path).with_context(|| format!("reading {}", path.display()))?
        {
            let p = entry?.path();
            if p.extension().is_some_and(|e| e == "csv") {
                files.push(p);
            }
        }
        files.sort();
    } else {
        files.push(path.to_owned());
    }
    files
        .iter()
        .map(|f| {
            let series = read_labelled(f, cfg).with_context(|| format!("in {}", f.display()))?;
            Ok(evaluate::evaluate(
                &series.name,
                &series.ts,
                &series.labels,
                &alarms(&series),
            ))
        })
        .collect()
}

fn read_labelled(path: &Path, cfg: &DetectorConfig) -> anyhow::Result<LabelledSeries> {
    let mut input = open(path)?;
    let header = input.headers().context("reading the header")?.clone();
    let layout = Layout::parse(&header, true)?;
    let name = path
        .file_stem()
        .map_or_else(String::new, |s| s.to_string_lossy().into_owned());
    let mut series = LabelledSeries {
        name,
        ts: Vec::new(),
        values: vec![Vec::new(); layout.metrics.len()],
        labels: Vec::new(),
        configs: layout
            .metrics
            .iter()
            .map(|(_, m)| cfg.for_metric(m.as_str()))
            .collect(),
        names: layout.metrics.iter().map(|(_, m)| m.clone()).collect(),
    };
    let mut row = csv::ByteRecord::new();
    while input.read_byte_record(&mut row).map_err(bad_row)? {
        let line = row.position().map_or(0, |p| p.line());
        series
            .ts
            .push(cell(&row, layout.timestamp, line, table::parse_time)?);
        for (k, (col, _)) in layout.metrics.iter().enumerate() {
            series.values[k].push(cell(&row, *col, line, table::parse_value)?);
        }
        let label = layout
            .label
            .map(|c| row.get(c).unwrap_or_default())
            .unwrap_or_default();
        let label = std::str::from_utf8(label).unwrap_or("").trim();
        series.labels.push(if label.is_empty() {
            None
        } else {
            Some(AnomalyKind::parse(label).ok_or_else(|| {
                anyhow!("line {line}: label {label:?} is not one of spike, level_shift, drift, stuck, out_of_range")
            })?)
        });
    }
    Ok(series)
}

/// Runs the detector over a labelled series: per row, the kind of the first metric flagged.
pub fn alarms(series: &LabelledSeries) -> Vec<Option<AnomalyKind>> {
    let mut state = DeviceState::new();
    (0..series.ts.len())
        .map(|i| {
            let ts = Timestamp::from_millis(series.ts[i]);
            let mut flagged = None;
            for (k, name) in series.names.iter().enumerate() {
                if let Some(v) = series.values[k][i] {
                    let s = score_value(&mut state, name, v, ts, &series.configs[k]);
                    if s.anomaly && flagged.is_none() {
                        flagged = s.kind;
                    }
                }
            }
            flagged
        })
        .collect()
}

impl LabelledSeries {
    /// A generated corpus series, as `detect --labels` would read it from its file.
    pub fn from_corpus(series: &crate::corpus::Series, cfg: &DetectorConfig) -> Self {
        let name = tributary_core::MetricName::parse("value").expect("a valid metric name");
        Self {
            name: series.name.clone(),
            ts: series.data.ts.clone(),
            values: vec![series.data.values.iter().map(|v| Some(*v)).collect()],
            labels: series.data.labels.clone(),
            configs: vec![cfg.for_metric(name.as_str())],
            names: vec![name],
        }
    }
}

/// Generates the corpus for `seed` in memory and evaluates the detector on it (what
/// `tributary corpus` then `tributary detect --labels` do through files).
pub fn evaluate_corpus(seed: u64, count: usize, cfg: &DetectorConfig) -> Vec<evaluate::Outcome> {
    crate::corpus::generate(seed, count)
        .iter()
        .map(|s| {
            let series = LabelledSeries::from_corpus(s, cfg);
            evaluate::evaluate(&series.name, &series.ts, &series.labels, &alarms(&series))
        })
        .collect()
}
