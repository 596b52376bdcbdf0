//! Query-side pure logic: rolling one-minute windows up into coarser series points.

use crate::process::{WindowAggregate, WINDOW_MS};
use crate::Timestamp;
use serde::Serialize;

/// Series resolution: stored one-minute windows, or combined five-minute or one-hour windows.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Resolution {
    OneMinute,
    FiveMinutes,
    OneHour,
}

impl Resolution {
    pub fn parse(text: &str) -> Result<Self, String> {
        match text {
            "1m" => Ok(Self::OneMinute),
            "5m" => Ok(Self::FiveMinutes),
            "1h" => Ok(Self::OneHour),
            other => Err(format!("window must be one of 1m, 5m, 1h; got {other:?}")),
        }
    }

    pub fn width_ms(self) -> i64 {
        match self {
            Self::OneMinute => WINDOW_MS,
            Self::FiveMinutes => 5 * WINDOW_MS,
            Self::OneHour => 60 * WINDOW_MS,
        }
    }

    pub fn as_str(self) -> &'static str {
        match self {
            Self::OneMinute => "1m",
            Self::FiveMinutes => "5m",
            Self::OneHour => "1h",
        }
    }
}

/// One point of a series.
#[derive(Debug, Clone, Copy, PartialEq, Serialize)]
pub struct SeriesPoint {
    pub start: Timestamp,
    pub count: u64,
    pub sum: f64,
    pub min: f64,
    pub max: f64,
    pub mean: f64,
    pub last: f64,
    pub anomalies: u64,
}

/// Combines ascending one-minute windows into points of `resolution`.
pub fn rollup(
    windows: &[(Timestamp, WindowAggregate)],
    resolution: Resolution,
) -> Vec<SeriesPoint> {
    let width = resolution.width_ms();
    let mut points: Vec<(Timestamp, WindowAggregate)> = Vec::new();
    for (start, agg) in windows {
        let bucket = start.floor(width);
        match points.last_mut() {
            Some((b, acc)) if *b == bucket => *acc = acc.merge(agg),
            _ => points.push((bucket, *agg)),
        }
    }
    points
        .into_iter()
        .map(|(start, a)| SeriesPoint::of(start, &a))
        .collect()
}

impl SeriesPoint {
    pub fn of(start: Timestamp, a: &WindowAggregate) -> Self {
        Self {
            start,
            count: a.count,
            sum: a.sum,
            min: a.min,
            max: a.max,
            mean: a.mean(),
            last: a.last,
            anomalies: a.anomalies,
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn five_minute_points_combine_their_minutes() {
        let t = |m: i64| Timestamp::from_millis(m * WINDOW_MS);
        let windows = vec![
            (t(0), WindowAggregate::of(1.0, t(0), false)),
            (t(4), WindowAggregate::of(3.0, t(4), true)),
            (t(5), WindowAggregate::of(10.0, t(5), false)),
        ];
        let points = rollup(&windows, Resolution::FiveMinutes);
        assert_eq!(points.len(), 2);
        assert_eq!(
            (points[0].count, points[0].sum, points[0].mean),
            (2, 4.0, 2.0)
        );
        assert_eq!(
            (points[0].min, points[0].max, points[0].anomalies),
            (1.0, 3.0, 1)
        );
        assert_eq!(points[1].start, t(5));
    }

    #[test]
    fn unknown_resolution_is_refused_with_the_choices() {
        assert!(Resolution::parse("2m").unwrap_err().contains("1m, 5m, 1h"));
    }
}
