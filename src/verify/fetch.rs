//! What the target shows, over its query API: one-minute series points per device and metric, and
//! the anomaly list. Only HTTP and parsing here; judging is in `compare` and `detection`.

use super::compare::{Agg, WindowKey, Windows};
use super::detection::Flag;
use futures::stream::{self, StreamExt, TryStreamExt};
use serde::Deserialize;
use std::collections::{BTreeMap, HashSet};
use tributary_core::process::WINDOW_MS;
use tributary_core::Timestamp;

/// Most windows one series request may span (the API's limit).
const MAX_WINDOWS_PER_REQUEST: i64 = 10_000;
/// Most anomalies asked for at once (the API's limit).
pub const ANOMALY_LIMIT: usize = crate::functions::anomalies::MAX_LIMIT;

#[derive(Debug, thiserror::Error)]
pub enum FetchError {
    #[error("GET {url}: {source}")]
    Http { url: String, source: reqwest::Error },
    #[error("GET {url}: status {status}")]
    Status { url: String, status: u16 },
}

#[derive(Deserialize)]
struct Series {
    points: Vec<Point>,
}

#[derive(Deserialize)]
struct Point {
    start: Timestamp,
    count: u64,
    sum: f64,
    min: f64,
    max: f64,
}

#[derive(Deserialize)]
struct Anomalies {
    anomalies: Vec<AnomalyRow>,
}

#[derive(Deserialize)]
#[serde(rename_all = "camelCase")]
struct AnomalyRow {
    device_id: String,
    metric: String,
    reading_id: String,
}

async fn get<T: for<'de> Deserialize<'de>>(
    client: &reqwest::Client,
    url: String,
) -> Result<Option<T>, FetchError> {
    let http = |source| FetchError::Http {
        url: url.clone(),
        source,
    };
    let response = client.get(&url).send().await.map_err(http)?;
    match response.status().as_u16() {
        200 => Ok(Some(response.json().await.map_err(http)?)),
        404 => Ok(None),
        status => Err(FetchError::Status { url, status }),
    }
}

/// Every stored window of each (device, metric) whose start lies in its range, `concurrency`
/// requests at a time. An unknown device has no windows.
pub async fn observed(
    client: &reqwest::Client,
    target: &str,
    ranges: &BTreeMap<(String, String), (i64, i64)>,
    concurrency: usize,
) -> Result<Windows, FetchError> {
    let span = MAX_WINDOWS_PER_REQUEST * WINDOW_MS;
    let requests = ranges.iter().flat_map(|((device, metric), (first, last))| {
        let to = last + WINDOW_MS;
        (0..)
            .map(move |i| first + i * span)
            .take_while(move |from| *from < to)
            .map(move |from| (device, metric, from, (from + span).min(to)))
    });
    let pages: Vec<Vec<(WindowKey, Agg)>> = stream::iter(requests)
        .map(|(device, metric, from, to)| async move {
            let url = format!(
                "{target}/api/devices/{device}/series?metric={metric}&from={from}&to={to}&window=1m"
            );
            let series: Option<Series> = get(client, url).await?;
            Ok::<_, FetchError>(
                series
                    .map(|s| s.points)
                    .unwrap_or_default()
                    .into_iter()
                    .map(|p| {
                        let key = WindowKey {
                            device_id: device.clone(),
                            metric: metric.clone(),
                            start_ms: p.start.millis(),
                        };
                        let agg = Agg {
                            count: p.count,
                            sum: p.sum,
                            min: p.min,
                            max: p.max,
                        };
                        (key, agg)
                    })
                    .collect(),
            )
        })
        .buffer_unordered(concurrency.max(1))
        .try_collect()
        .await?;
    Ok(pages.into_iter().flatten().collect())
}

/// Flagged readings of `devices` with `ts >= since_ms` (those with a `seq:<n>` identity), and
/// whether the list was cut at [`ANOMALY_LIMIT`].
pub async fn flags(
    client: &reqwest::Client,
    target: &str,
    since_ms: i64,
    devices: &HashSet<String>,
) -> Result<(Vec<Flag>, bool), FetchError> {
    let url = format!("{target}/api/anomalies?since={since_ms}&limit={ANOMALY_LIMIT}");
    let rows = get::<Anomalies>(client, url)
        .await?
        .map(|a| a.anomalies)
        .unwrap_or_default();
    let truncated = rows.len() >= ANOMALY_LIMIT;
    let flags = rows
        .into_iter()
        .filter(|r| devices.contains(&r.device_id))
        .filter_map(|r| {
            let seq = r.reading_id.strip_prefix("seq:")?.parse().ok()?;
            Some(Flag {
                device_id: r.device_id,
                metric: r.metric,
                seq,
            })
        })
        .collect();
    Ok((flags, truncated))
}
