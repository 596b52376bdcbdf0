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

    let mut first = feed.subscribe(None);
    let mut second = feed.subscribe(None);
    feed.publish(&events[1..3]).await?;

    for sub in [&mut first, &mut second] {
        for expected in &events[1..3] {
            let got = tokio::time::timeout(Duration::from_secs(5), sub.next())
                .await
                .expect("a live update within 5 s");
            assert_eq!(got.as_ref().and_then(reading_of), Some(expected));
        }
    }
    let nothing_more = tokio::time::timeout(Duration::from_millis(50), first.next()).await;
    assert!(nothing_more.is_err(), "no update that was not published");
    Ok(())
}

fn reading_of(update: &LiveUpdate) -> Option<&ScoredReading> {
    match update {
        LiveUpdate::Reading { reading, .. } => Some(reading),
        LiveUpdate::Missed(_) => None,
    }
}

fn id_of(update: &LiveUpdate) -> u64 {
    match update {
        LiveUpdate::Reading { id: Some(id), .. } => *id,
        other => panic!("expected a numbered reading, got {other:?}"),
    }
}

fn numbered(n: usize) -> Vec<ScoredReading> {
    (0..n)
        .map(|i| {
            scored(
                "pump-1",
                &format!("r{i}"),
                T0 + i as i64,
                &[("temp", i as f64, false)],
            )
        })
        .collect()
}

async fn next(sub: &mut futures::stream::BoxStream<'static, LiveUpdate>) -> LiveUpdate {
    tokio::time::timeout(Duration::from_secs(5), sub.next())
        .await
        .expect("an update within 5 s")
        .expect("the feed goes on")
}

#[tokio::test]
async fn a_subscriber_that_fell_behind_is_told_how_many_it_missed() -> TestResult {
    let feed = BroadcastLiveFeed::new(8);
    let events = numbered(20);
    let mut slow = feed.subscribe(None);
    feed.publish(&events).await?; // 20 into a buffer of 8: the oldest 12 are gone for `slow`

    assert_eq!(next(&mut slow).await, LiveUpdate::Missed(Some(12)));
    for expected in &events[12..] {
        assert_eq!(reading_of(&next(&mut slow).await), Some(expected));
    }
    Ok(())
}

#[tokio::test]
async fn a_subscriber_resumes_after_the_last_id_it_saw() -> TestResult {
    let feed = BroadcastLiveFeed::new(8);
    let events = numbered(30);
    let mut first = feed.subscribe(None);
    feed.publish(&events[..3]).await?;
    let mut last = 0;
    for _ in 0..3 {
        last = id_of(&next(&mut first).await);
    }
    drop(first);

    // Within the buffer: the rest, no gap.
    feed.publish(&events[3..6]).await?;
    let mut resumed = feed.subscribe(Some(last));
    for expected in &events[3..6] {
        let update = next(&mut resumed).await;
        assert_eq!(reading_of(&update), Some(expected));
        last = id_of(&update);
    }
    drop(resumed);

    // Past the buffer: a gap of the ones it no longer holds, then the 8 it does.
    feed.publish(&events[6..30]).await?;
    let mut resumed = feed.subscribe(Some(last));
    assert_eq!(next(&mut resumed).await, LiveUpdate::Missed(Some(16)));
    for expected in &events[22..30] {
        assert_eq!(reading_of(&next(&mut resumed).await), Some(expected));
    }
    // And then live updates, in order, with nothing repeated.
    feed.publish(&events[..1]).await?;
    assert_eq!(reading_of(&next(&mut resumed).await), Some(&events[0]));

    // An id this feed never handed out: the count is unknown.
    let mut stranger = feed.subscribe(Some(7));
    assert_eq!(next(&mut stranger).await, LiveUpdate::Missed(None));
    Ok(())
}

#[tokio::test]
async fn memory_cache_evicts_the_least_recently_updated_devices_past_its_bound() -> TestResult {
    let cache = MemoryLatestCache::new(3);
    let latest =
        |dev: &str| DeviceLatest::from_reading(&scored(dev, "r", T0, &[("temp", 1.0, false)]));
    for dev in ["d1", "d2", "d3"] {
        cache.merge(&[latest(dev)]).await?;
    }
    cache.merge(&[latest("d1")]).await?; // d1 updated again: d2 is now the oldest
    cache.merge(&[latest("d4"), latest("d5")]).await?;

    assert_eq!(cache.len(), 3);
    for (dev, kept) in [
        ("d1", true),
        ("d2", false),
        ("d3", false),
        ("d4", true),
        ("d5", true),
    ] {
        assert_eq!(cache.get(&device(dev)).await?.is_some(), kept, "{dev}");
    }
    for i in 0..1000 {
        cache.merge(&[latest(&format!("many-{i}"))]).await?;
    }
    assert_eq!(cache.len(), 3, "the bound holds under many new devices");
    Ok(())
}
