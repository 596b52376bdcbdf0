//! The text report of `tributary detect --labels`: totals, then by family and by kind.

use super::evaluate::{quantile, Outcome, Summary};
use std::collections::BTreeMap;
use std::fmt::Write;
use tributary_core::AnomalyKind;

pub fn render(s: &Summary, outcomes: &[Outcome]) -> String {
    let mut out = String::new();
    let _ = writeln!(
        out,
        "{} series, {} readings, {} episodes, {} alarms\n\
         windowed score        {:.1} / 100\n\
         recall per episode    {:.3} ({} of {})\n\
         precision per alarm   {:.3} ({} false alarms)\n\
         false alarms / 10k    {:.2} normal readings\n\
         detection delay       median {} readings, p90 {}\n\
         kind of first alarm   {:.3} right",
        s.series,
        s.rows,
        s.episodes,
        s.alarms,
        s.windowed_score,
        s.recall,
        s.detected,
        s.episodes,
        s.precision,
        s.false_alarms,
        s.false_alarms_per_10k,
        s.delay_median,
        s.delay_p90,
        s.kind_accuracy
    );
    let mut families: BTreeMap<&str, Vec<Outcome>> = BTreeMap::new();
    for o in outcomes {
        families
            .entry(o.family.as_str())
            .or_default()
            .push(o.clone());
    }
    let _ = writeln!(
        out,
        "\n{:<10} {:>6} {:>8} {:>8} {:>7} {:>7} {:>7} {:>7}",
        "family", "series", "readings", "episodes", "recall", "prec.", "FA/10k", "clean FA"
    );
    for (family, list) in &families {
        let f = Summary::of(list);
        let clean: usize = list
            .iter()
            .filter(|o| o.episodes.is_empty())
            .map(|o| o.false_alarms)
            .sum();
        let _ = writeln!(
            out,
            "{family:<10} {:>6} {:>8} {:>8} {:>7.3} {:>7.3} {:>7.2} {:>7}",
            f.series, f.rows, f.episodes, f.recall, f.precision, f.false_alarms_per_10k, clean
        );
    }
    let _ = writeln!(
        out,
        "\n{:<13} {:>8} {:>7} {:>12} {:>10}",
        "kind", "episodes", "recall", "median delay", "kind right"
    );
    for kind in AnomalyKind::ALL {
        let eps: Vec<_> = outcomes
            .iter()
            .flat_map(|o| &o.episodes)
            .filter(|e| e.kind == kind)
            .collect();
        let found: Vec<_> = eps.iter().filter_map(|e| e.detection).collect();
        let mut delays: Vec<f64> = found.iter().map(|d| d.delay_rows as f64).collect();
        delays.sort_by(f64::total_cmp);
        let right = found.iter().filter(|d| d.kind == kind).count();
        let _ = writeln!(
            out,
            "{:<13} {:>8} {:>7.3} {:>12} {:>10}",
            kind.as_str(),
            eps.len(),
            found.len() as f64 / eps.len().max(1) as f64,
            quantile(&delays, 0.5),
            right
        );
    }
    out
}
