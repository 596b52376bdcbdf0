//! The in-memory latest cache and the broadcast live feed.

use super::*;

#[tokio::test]
async fn memory_cache_merges_by_event_time() -> TestResult {
    let cache = MemoryLatestCache::default();
    let newer = scored("pump-1", "r2", T0 + 60_000, &[("temp", 5.0, false)]);
    let older = scored(
        "pump-1",
        "r1",
        T0,
        &[("temp", 9.0, true), ("hum", 3.0, false)],
    );
    let other = scored("pump-2", "r1", T0, &[("temp", 1.0, false)]);

    cache.merge(&[DeviceLatest::from_reading(&newer)]).await?;
    cache
        .merge(&[
            DeviceLatest::from_reading(&older),
            DeviceLatest::from_reading(&other),
        ])
        .await?;

    let got = cache.get(&device("pump-1")).await?.expect("pump-1 cached");
    assert_eq!(got.last_seen, at(T0 + 60_000));
    let temp = got.metrics[&metric("temp")];
    assert_eq!(
        (temp.value, temp.ts, temp.anomaly),
        (5.0, at(T0 + 60_000), false)
    );
    let hum = got.metrics[&metric("hum")];
    assert_eq!((hum.value, hum.ts), (3.0, at(T0)));

    assert_eq!(
        cache.get(&device("pump-2")).await?,
        Some(DeviceLatest::from_reading(&other))
    );
    assert_eq!(cache.get(&device("pump-9")).await?, None);
    Ok(())
}

#[tokio::test]
async fn broadcast_live_feed_delivers_to_subscribers() -> TestResult {
    let feed = BroadcastLiveFeed::default();
    let events = five_events();
    feed.publish(&events[..1]).await?; // nobody listens yet: not an error, and not replayed

    let mut first = feed.subscribe();
    let mut second = feed.subscribe();
    feed.publish(&events[1..3]).await?;

    for sub in [&mut first, &mut second] {
        for expected in &events[1..3] {
            let got = tokio::time::timeout(Duration::from_secs(5), sub.next())
                .await
                .expect("a live update within 5 s");
            assert_eq!(got.as_ref(), Some(expected));
        }
    }
    let nothing_more = tokio::time::timeout(Duration::from_millis(50), first.next()).await;
    assert!(nothing_more.is_err(), "no update that was not published");
    Ok(())
}
