//! Weekday levels: with a daily season, the level a day starts at compared with the day before,
//! learnt per day of the week (a business metric drops on Saturdays and comes back on Mondays,
//! which 48 daily bins cannot know). Until a weekday's start has been seen once, the first readings
//! of that day are a rest, not judged, while the level relearns. No I/O.

use super::state::MetricState;

/// The season these apply to: one day.
pub(super) const DAY_MS: i64 = 86_400_000;
/// Readings at the start of a weekday never seen start, during which nothing is flagged.
const SETTLE: u32 = 12;
/// How far into the day (ms) the level is compared with the last day's end.
const MEASURE_MS: i64 = 2 * 3_600_000;
/// A day's start counts as a jump beyond this many spreads.
const JUMP_MIN: f64 = 3.0;
/// Weight of each new measurement of a weekday's start.
const RATE: f32 = 0.5;

impl MetricState {
    /// Called with each in-order reading before it is judged: at the first reading of a new day,
    /// moves the level by what this weekday's start has been, or rests while it is learnt.
    pub(super) fn enter_day(&mut self, ts: i64) {
        if self.season_ms != DAY_MS {
            return;
        }
        let day = ts.div_euclid(DAY_MS);
        if self.week_pending && (day != self.day || ts.rem_euclid(DAY_MS) >= MEASURE_MS) {
            self.measure_day_start();
        }
        if day == self.day {
            return;
        }
        let next = day == self.day + 1;
        self.day = day;
        if !next {
            return;
        }
        let weekday = day.rem_euclid(7) as usize;
        self.day_start = self.level;
        self.week_pending = true;
        if self.week_seen & (1 << weekday) != 0 {
            let jump = f64::from(self.week[weekday]);
            // A jump within the noise, or no larger than days' starts usually move the level (a
            // metric without a weekly rhythm), is not worth expecting: the level follows it.
            let (mut sum, mut seen) = (0.0, 0.0);
            for (d, w) in self.week.iter().enumerate() {
                if self.week_seen & (1 << d) != 0 {
                    (sum, seen) = (sum + f64::from(w.abs()), seen + 1.0);
                }
            }
            if jump.abs() > JUMP_MIN * self.scale && jump.abs() > 2.0 * sum / seen {
                self.level += jump;
            }
        } else if self.scale > 0.0 {
            // (A metric that has never varied has no rhythm to learn.)
            self.rest = self.rest.max(SETTLE);
        }
    }

    /// Learns the start of the current day from the level now (unless a rest clouds it).
    fn measure_day_start(&mut self) {
        self.week_pending = false;
        let weekday = self.day.rem_euclid(7) as usize;
        if self.rest > 0 && self.week_seen & (1 << weekday) != 0 {
            return;
        }
        let measured = (self.level - self.day_start) as f32;
        if self.week_seen & (1 << weekday) == 0 {
            self.week[weekday] = measured;
            self.week_seen |= 1 << weekday;
        } else {
            self.week[weekday] += RATE * (measured - self.week[weekday]);
        }
    }
}
