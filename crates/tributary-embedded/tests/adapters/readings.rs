//! The reading store: create-if-absent by identity, and the change feed.

use super::*;

#[tokio::test]
async fn reading_store_stores_new_readings_and_reports_duplicates() -> TestResult {
    use Inserted::{Duplicate, New};
    let dir = tempfile::tempdir().expect("temp dir");
    let storage = open(dir.path()).await?;
    let store = &storage.readings;

    let first = [
        reading("pump-1", "r1", T0, &[("temp", 20.0)]),
        reading("pump-1", "r2", T0 + 1_000, &[("temp", 21.0)]),
        reading("pump-2", "r1", T0 + 2_000, &[("temp", 22.0)]),
    ];
    assert_eq!(store.insert_new(&first).await?, vec![New, New, New]);
    assert_eq!(
        store.insert_new(&first).await?,
        vec![Duplicate, Duplicate, Duplicate]
    );

    // A duplicate with another body is still a duplicate, and the first body stays stored.
    let mixed = [
        reading("pump-1", "r3", T0 + 3_000, &[("temp", 23.0)]),
        reading("pump-1", "r1", T0 + 9_000, &[("temp", 99.0)]),
        reading("pump-2", "r2", T0 + 4_000, &[("temp", 24.0)]),
        reading("pump-2", "r1", T0 + 2_000, &[("temp", 22.0)]),
    ];
    assert_eq!(
        store.insert_new(&mixed).await?,
        vec![New, Duplicate, New, Duplicate]
    );

    // The same reading id from another device is another reading.
    let other_device = [reading("pump-3", "r1", T0, &[("temp", 5.0)])];
    assert_eq!(store.insert_new(&other_device).await?, vec![New]);

    // The same reading twice in one batch: the second copy is the duplicate.
    let twice = [
        reading("pump-4", "r1", T0, &[("temp", 1.0)]),
        reading("pump-4", "r1", T0, &[("temp", 1.0)]),
    ];
    assert_eq!(store.insert_new(&twice).await?, vec![New, Duplicate]);

    let page = store.changes(&Continuation::start(), 100).await?;
    let expected = vec![
        first[0].clone(),
        first[1].clone(),
        first[2].clone(),
        mixed[0].clone(),
        mixed[2].clone(),
        other_device[0].clone(),
        twice[0].clone(),
    ];
    assert_eq!(page.readings, expected);
    Ok(())
}

#[tokio::test]
async fn change_feed_pages_in_write_order_and_resumes_from_a_continuation() -> TestResult {
    let dir = tempfile::tempdir().expect("temp dir");
    let storage = open(dir.path()).await?;
    let store = &storage.readings;

    // 25 readings over three devices, in three batches that do not line up with the pages.
    let all: Vec<Reading> = (0..25i64)
        .map(|i| {
            let dev = format!("dev-{}", i % 3);
            reading(
                &dev,
                &format!("r{i}"),
                T0 + i * 1_000,
                &[("temp", i as f64 * 0.5)],
            )
        })
        .collect();
    assert_eq!(store.insert_new(&[]).await?, Vec::<Inserted>::new());
    for chunk in [&all[0..8], &all[8..17], &all[17..25]] {
        let outcomes = store.insert_new(chunk).await?;
        assert_eq!(outcomes, vec![Inserted::New; chunk.len()]);
    }
    assert_eq!(store.insert_new(&[]).await?, Vec::<Inserted>::new());

    let mut from = Continuation::start();
    let mut pages = Vec::new();
    for _ in 0..3 {
        let page = store.changes(&from, 10).await?;
        from = page.continuation.clone();
        pages.push(page);
    }
    let sizes: Vec<usize> = pages.iter().map(|p| p.readings.len()).collect();
    assert_eq!(sizes, [10, 10, 5]);
    let remaining: Vec<Option<u64>> = pages.iter().map(|p| p.remaining).collect();
    assert_eq!(remaining, [Some(15), Some(5), Some(0)]);
    let paged: Vec<Reading> = pages.iter().flat_map(|p| p.readings.clone()).collect();
    assert_eq!(
        paged, all,
        "the feed returns every reading once, in write order"
    );

    let empty = store.changes(&from, 10).await?;
    assert!(empty.readings.is_empty());
    assert_eq!(
        empty.continuation, from,
        "nothing new: the continuation stays"
    );
    assert_eq!(empty.remaining, Some(0));

    // A continuation saved after the first page resumes there, and sees readings written since.
    let saved = pages[0].continuation.clone();
    let later: Vec<Reading> = (25..28i64)
        .map(|i| reading("dev-9", &format!("r{i}"), T0 + i * 1_000, &[("temp", 1.0)]))
        .collect();
    store.insert_new(&later).await?;
    let resumed = store.changes(&saved, 100).await?;
    let expected: Vec<Reading> = all[10..].iter().chain(&later).cloned().collect();
    assert_eq!(resumed.readings, expected);
    assert_eq!(resumed.remaining, Some(0));

    let tail = store.changes(&from, 100).await?;
    assert_eq!(tail.readings, later, "only readings after the continuation");
    let at_first_page = store.changes(&saved, 4).await?;
    assert_eq!(at_first_page.readings, all[10..14].to_vec());
    assert_eq!(at_first_page.remaining, Some(14));
    Ok(())
}
