//! The one rule for "latest" (`tributary_core::process::latest_order`), as every result store must
//! keep it: equal event times with negative values and both zeros, applied in every order, leave the
//! device's latest value and the window's `last` equal to the core's merge, to the bit.

use crate::*;
use tributary_core::ports::ResultStore;
use tributary_core::process::{latest_by_device, ConsumedBatch, LogPosition, WINDOW_MS};

/// Every order of `items`.
fn permutations(items: &[f64]) -> Vec<Vec<f64>> {
    if items.len() <= 1 {
        return vec![items.to_vec()];
    }
    let mut out = Vec::new();
    for i in 0..items.len() {
        let mut rest = items.to_vec();
        let first = rest.remove(i);
        for mut tail in permutations(&rest) {
            tail.insert(0, first);
            out.push(tail);
        }
    }
    out
}

pub async fn latest_follows_the_core_rule_in_any_order(results: &dyn ResultStore) -> TestResult {
    let ts = T0 + 30_000;
    let sets: [&[f64]; 3] = [&[-0.0, 0.0, -1.0], &[-2.0, -1.0, -3.0], &[0.0, -0.0]];
    let mut offset = 0;
    for (s, values) in sets.iter().enumerate() {
        for (p, order) in permutations(values).into_iter().enumerate() {
            let dev = format!("latest-{s}-{p}");
            let events: Vec<ScoredReading> = order
                .iter()
                .enumerate()
                .map(|(i, v)| scored(&dev, &format!("r{i}"), ts, &[("m", *v, false)]))
                .collect();
            // One batch per event, so the store's own merge (not the batch's) decides.
            for event in &events {
                let mut batch = ConsumedBatch::new(CONSUMER);
                batch.push(
                    LogPosition {
                        partition: 0,
                        offset,
                    },
                    event.clone(),
                );
                offset += 1;
                results.apply(&batch).await?;
            }
            let expected = latest_by_device(&events)[&device(&dev)].metrics[&metric("m")].value;
            let stored = results.device(&device(&dev)).await?.expect("device stored");
            let got = stored.metrics[&metric("m")].value;
            assert_eq!(
                got.to_bits(),
                expected.to_bits(),
                "{dev}: applied {order:?}, latest {got:?}, core says {expected:?}"
            );
            let windows = results
                .windows(&device(&dev), &metric("m"), at(T0), at(T0 + WINDOW_MS))
                .await?;
            let last = windows.first().expect("one window").1.last;
            assert_eq!(
                last.to_bits(),
                expected.to_bits(),
                "{dev}: applied {order:?}, window last {last:?}, core says {expected:?}"
            );
        }
    }
    Ok(())
}
