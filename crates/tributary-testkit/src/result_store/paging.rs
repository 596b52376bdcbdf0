//! Conformance: `devices` pages through every device exactly once, in id order, by cursor.

use crate::*;
use tributary_core::ports::ResultStore;
use tributary_core::DeviceId;

/// 2,500 devices with ids chosen so that numeric, length and punctuation order all differ from the
/// stores' order, applied in a shuffled order over several batches.
pub async fn devices_page_through_every_device_exactly_once(
    results: &dyn ResultStore,
) -> TestResult {
    let ids: Vec<String> = (0..2500u64)
        .map(|i| {
            let k = i.wrapping_mul(7919) % 2500;
            match k % 4 {
                0 => format!("d{k}"),
                1 => format!("d-{k}"),
                2 => format!("D.{k}:x"),
                _ => format!("d_{k}"),
            }
        })
        .collect();
    let events: Vec<_> = ids
        .iter()
        .enumerate()
        .map(|(i, id)| scored(id, "r1", T0 + i as i64, &[("temp", i as f64, false)]))
        .collect();
    for (n, chunk) in events.chunks(700).enumerate() {
        results.apply(&batch_at(0, (n * 700) as i64, chunk)).await?;
    }

    let all = results.devices(None, 1_000_000).await?;
    assert_eq!(all.len(), ids.len());
    for limit in [1, 7, 1000, 2500, 5000] {
        let mut seen: Vec<DeviceId> = Vec::new();
        let mut after: Option<DeviceId> = None;
        loop {
            let page = results.devices(after.as_ref(), limit).await?;
            assert!(page.len() <= limit, "a page holds at most its limit");
            let Some(last) = page.last() else { break };
            after = Some(last.device_id.clone());
            seen.extend(page.into_iter().map(|d| d.device_id));
            if limit == 1 && seen.len() >= 50 {
                break;
            }
        }
        let expected: Vec<DeviceId> = all
            .iter()
            .take(seen.len())
            .map(|d| d.device_id.clone())
            .collect();
        assert_eq!(seen, expected, "pages of {limit} list the devices in order");
        if limit > 1 {
            assert_eq!(seen.len(), ids.len(), "pages of {limit} reach every device");
            let distinct: std::collections::BTreeSet<_> = seen.iter().collect();
            assert_eq!(distinct.len(), ids.len(), "pages of {limit} repeat none");
        }
    }
    // Each device's latest comes with it on the page.
    let page = results.devices(Some(&all[9].device_id), 1).await?;
    assert_eq!(page, all[10..11].to_vec());
    Ok(())
}
