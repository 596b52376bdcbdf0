//! The embedded event log: publish, read from an offset, truncate, end.

use super::*;

#[tokio::test]
async fn event_log_publishes_reads_from_an_offset_and_truncates() -> TestResult {
    let dir = tempfile::tempdir().expect("temp dir");
    let events = five_events();
    {
        let storage = open(dir.path()).await?;
        let log = &storage.events;
        assert_eq!(log.end().await?, 1, "an empty log starts at offset 1");
        log.publish(&events[..3]).await?;
        log.publish(&[]).await?;
        log.publish(&events[3..]).await?;

        let all = logged(&storage).await?;
        let offsets: Vec<i64> = all.iter().map(|(o, _)| *o).collect();
        assert_eq!(offsets, [1, 2, 3, 4, 5]);
        let payloads: Vec<ScoredReading> = all.into_iter().map(|(_, e)| e).collect();
        assert_eq!(payloads, events);
        assert_eq!(log.end().await?, 6);

        let from_3: Vec<i64> = log
            .read(3, 100)
            .await?
            .iter()
            .map(|(p, _)| p.offset)
            .collect();
        assert_eq!(from_3, [3, 4, 5]);
        let two: Vec<i64> = log
            .read(0, 2)
            .await?
            .iter()
            .map(|(p, _)| p.offset)
            .collect();
        assert_eq!(two, [1, 2]);
        assert!(log.read(6, 100).await?.is_empty());

        assert_eq!(log.truncate_before(4).await?, 3);
        let left = logged(&storage).await?;
        assert_eq!(left, vec![(4, events[3].clone()), (5, events[4].clone())]);
        assert_eq!(log.end().await?, 6);
        assert_eq!(
            log.truncate_before(4).await?,
            0,
            "truncating twice is harmless"
        );
    }

    let storage = open(dir.path()).await?;
    let left = logged(&storage).await?;
    assert_eq!(left, vec![(4, events[3].clone()), (5, events[4].clone())]);
    assert_eq!(storage.events.end().await?, 6);
    storage.events.publish(&events[..1]).await?;
    let offsets: Vec<i64> = logged(&storage).await?.iter().map(|(o, _)| *o).collect();
    assert_eq!(offsets, [4, 5, 6], "offsets continue after a reopen");
    Ok(())
}

#[tokio::test]
async fn event_log_end_is_the_next_offset_even_after_truncating_everything() -> TestResult {
    let dir = tempfile::tempdir().expect("temp dir");
    let storage = open(dir.path()).await?;
    let log = &storage.events;
    let events = five_events();
    log.publish(&events[..3]).await?;
    let end = log.end().await?;
    assert_eq!(end, 4);
    // What the process trigger does once its consumer has applied everything.
    assert_eq!(log.truncate_before(end).await?, 3);
    let end_after = log.end().await?;
    log.publish(&events[3..4]).await?;
    let got: Vec<i64> = logged(&storage).await?.iter().map(|(o, _)| *o).collect();
    assert_eq!(got, [4]);
    assert_eq!(
        end_after, 4,
        "end() must be the offset the next message gets (it got 4)"
    );
    Ok(())
}
