//! `tributary corpus`: a seeded, labelled evaluation corpus for the detector — one CSV per series
//! (`timestamp,value,label`) mixing every family of normal behaviour with labelled episodes of each
//! anomaly kind — which `tributary detect --labels` replays and scores.

pub mod episodes;
pub mod families;

use crate::simulate::rng::Rng;
use anyhow::Context;
use episodes::Labelled;
use families::{Family, DAY_MS, MINUTE_MS};
use std::io::Write;
use std::path::{Path, PathBuf};

#[derive(clap::Args)]
pub struct CorpusArgs {
    /// Folder to write the series into (created; existing series files are replaced).
    #[arg(long)]
    pub out: PathBuf,
    /// Seed: the same seed gives the same corpus, byte for byte.
    #[arg(long, default_value_t = 2026)]
    pub seed: u64,
    /// Number of series (the families take turns).
    #[arg(long, default_value_t = 240)]
    pub series: usize,
}

/// One series of the corpus.
pub struct Series {
    /// `<family>-<index>`, the file stem.
    pub name: String,
    pub family: Family,
    pub data: Labelled,
}

/// Midnight UTC, Monday 2026-11-02: series start here.
const START_MS: i64 = 1_793_577_600_000;

/// Generates the corpus in memory. Every family has clean series (no episodes); periodic and flat
/// ones alternate clean and labelled, the others are mostly labelled.
pub fn generate(seed: u64, count: usize) -> Vec<Series> {
    let mut root = Rng::new(seed);
    (0..count)
        .map(|i| {
            let family = Family::ALL[i % Family::ALL.len()];
            let mut rng = root.fork();
            let every = [1, 5, 5, 10, 15][rng.between(0, 4) as usize] * MINUTE_MS;
            let days = (5000 * every / DAY_MS).clamp(4, 42);
            let n = (days * DAY_MS / every) as usize;
            let normal = families::normal(family, &mut rng, START_MS, every, n);
            let round = i / Family::ALL.len();
            let episodes = match family {
                Family::Periodic | Family::Flat if round % 2 == 0 => 0,
                Family::Flat => 1,
                _ if round % 6 == 5 => 0,
                _ => rng.between(2, 4) as usize,
            };
            let data = episodes::inject(family, normal, &mut rng, episodes);
            Series {
                name: format!("{}-{i:03}", family.name()),
                family,
                data,
            }
        })
        .collect()
}

pub fn main(args: CorpusArgs) -> anyhow::Result<()> {
    std::fs::create_dir_all(&args.out)
        .with_context(|| format!("creating {}", args.out.display()))?;
    let corpus = generate(args.seed, args.series);
    let (mut rows, mut episodes) = (0, 0);
    for series in &corpus {
        write_series(&args.out.join(format!("{}.csv", series.name)), &series.data)?;
        rows += series.data.values.len();
        episodes += count_episodes(&series.data.labels);
    }
    println!(
        "{} series, {rows} readings, {episodes} labelled episodes in {} (seed {})",
        corpus.len(),
        args.out.display(),
        args.seed
    );
    Ok(())
}

/// Episodes are maximal runs of one label.
pub fn count_episodes<T: PartialEq>(labels: &[Option<T>]) -> usize {
    labels
        .iter()
        .enumerate()
        .filter(|(i, l)| l.is_some() && (*i == 0 || labels[i - 1] != **l))
        .count()
}

fn write_series(path: &Path, data: &Labelled) -> anyhow::Result<()> {
    let file =
        std::fs::File::create(path).with_context(|| format!("creating {}", path.display()))?;
    let mut w = std::io::BufWriter::new(file);
    writeln!(w, "timestamp,value,label")?;
    let mut buf = ryu::Buffer::new();
    for ((ts, v), label) in data.ts.iter().zip(&data.values).zip(&data.labels) {
        let when = tributary_core::Timestamp::from_millis(*ts);
        let label = label.map_or("", |k| k.as_str());
        writeln!(w, "{},{},{label}", when.to_rfc3339(), buf.format(*v))?;
    }
    w.flush()?;
    Ok(())
}
