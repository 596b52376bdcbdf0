//! Analyze's checkpoints, and the analyzer's identical replay after a crash before commit.

use super::*;

/// Detector state as the detector leaves it after some noisy values (full-precision floats).
fn state_after(seed: u64, n: u64) -> DeviceState {
    let cfg = DetectorConfig::default();
    let mut state = DeviceState::new();
    for (k, (name, base)) in [("temp", 70.0), ("pressure", 1013.25)].iter().enumerate() {
        let metric_cfg = cfg.for_metric(name);
        for i in 0..n {
            let x = base + noise(seed * 1_000 + k as u64 * 100 + i);
            score_value(
                &mut state,
                &metric(name),
                x,
                at(T0 + i as i64 * 60_000),
                &metric_cfg,
            );
        }
    }
    state
}

fn progress(continuation: &Continuation) -> Progress<'_> {
    Progress {
        key: "analyze",
        continuation,
    }
}

#[tokio::test]
async fn checkpoints_persist_continuation_and_detector_state_across_reopen() -> TestResult {
    let dir = tempfile::tempdir().expect("temp dir");
    let (a, b, unknown) = (device("pump-a"), device("pump-b"), device("pump-x"));
    let state_a = state_after(1, 37);
    let state_b = state_after(2, 12);
    {
        let storage = open(dir.path()).await?;
        let cp = &storage.checkpoints;
        assert_eq!(cp.continuation("analyze").await?, None);
        // A first commit, then a later one that moves the continuation and replaces pump-a's state.
        let early = vec![(a.clone(), state_after(1, 3))];
        cp.commit(
            "analyze",
            Some(progress(&Continuation("7".into()))),
            &early,
            &[],
        )
        .await?;
        let states = vec![(a.clone(), state_a.clone()), (b.clone(), state_b.clone())];
        cp.commit(
            "analyze",
            Some(progress(&Continuation("42".into()))),
            &states,
            &[],
        )
        .await?;
    }

    let storage = open(dir.path()).await?;
    let cp = &storage.checkpoints;
    assert_eq!(
        cp.continuation("analyze").await?,
        Some(Continuation("42".into()))
    );
    assert_eq!(cp.continuation("another-feed").await?, None);

    let asked = [a.clone(), unknown.clone(), b.clone()];
    let found: BTreeMap<DeviceId, DeviceState> = cp
        .detector_states("analyze", &asked)
        .await?
        .into_iter()
        .collect();
    assert!(
        !found.contains_key(&unknown),
        "unknown devices have no state"
    );
    assert_eq!(found.len(), 2);
    assert_eq!(
        found.get(&a),
        Some(&state_a),
        "pump-a's state reads back exactly"
    );
    assert_eq!(
        found.get(&b),
        Some(&state_b),
        "pump-b's state reads back exactly"
    );

    assert!(cp.detector_states("analyze", &[unknown]).await?.is_empty());
    assert!(cp.detector_states("another-feed", &[a]).await?.is_empty());
    Ok(())
}

/// Checkpoints whose `fail_on`-th commit fails as if the process died before committing.
struct CommitFailsOnce<'a> {
    inner: &'a SqliteCheckpointStore,
    fail_on: usize,
    commits: AtomicUsize,
}

#[async_trait]
impl CheckpointStore for CommitFailsOnce<'_> {
    async fn continuation(&self, feed: &str) -> Result<Option<Continuation>, PortError> {
        self.inner.continuation(feed).await
    }

    async fn detector_states(
        &self,
        feed: &str,
        devices: &[DeviceId],
    ) -> Result<Vec<(DeviceId, DeviceState)>, PortError> {
        self.inner.detector_states(feed, devices).await
    }

    async fn commit(
        &self,
        feed: &str,
        progress: Option<Progress<'_>>,
        states: &[(DeviceId, DeviceState)],
        set_aside: &[SetAside],
    ) -> Result<(), PortError> {
        if self.commits.fetch_add(1, Ordering::SeqCst) + 1 == self.fail_on {
            return Err(PortError::unavailable("test checkpoints", "crashed"));
        }
        self.inner.commit(feed, progress, states, set_aside).await
    }
}

#[tokio::test]
async fn analyzer_replays_identically_after_a_crash_between_publish_and_commit() -> TestResult {
    let dir = tempfile::tempdir().expect("temp dir");
    let storage = open(dir.path()).await?;
    // Three devices with two noisy metrics each, and a spike now and then after the warm-up.
    let readings: Vec<Reading> = (0..60i64)
        .map(|i| {
            let spike = if i > 30 && i % 11 == 0 { 40.0 } else { 0.0 };
            let n = i as u64;
            reading(
                &format!("pump-{}", i % 3),
                &format!("r{i}"),
                T0 + i * 2_000,
                &[
                    ("temp", 70.0 + noise(n) + spike),
                    ("pressure", 1013.25 + 3.0 * noise(n + 1_000)),
                ],
            )
        })
        .collect();
    storage.readings.insert_new(&readings).await?;

    // A 30-second "season" (5 readings a device) keeps the score's tail warm-up (at most a
    // season's worth of values) short enough for these 20 readings a device to be judged.
    let cfg = DetectorConfig {
        probation: 4,
        season_secs: 30,
        ..DetectorConfig::default()
    };
    let checkpoints = CommitFailsOnce {
        inner: &storage.checkpoints,
        fail_on: 4,
        commits: AtomicUsize::new(0),
    };
    let mut analyzer = Analyzer::new("analyze", cfg.clone(), 10);
    let mut outcomes = Vec::new();
    for _ in 0..20 {
        let step = analyzer
            .step(&storage.readings, &checkpoints, &storage.events)
            .await;
        let done = matches!(&step, Ok(r) if r.scored == 0 && r.remaining == Some(0));
        outcomes.push(step.map(|r| r.scored));
        if done {
            break;
        }
    }
    let shape: Vec<Result<usize, bool>> = outcomes
        .iter()
        .map(|o| o.as_ref().map(|n| *n).map_err(PortError::is_retryable))
        .collect();
    // Pages 1–3 commit, page 4 is published but not committed, then replayed with pages 5 and 6.
    assert_eq!(
        shape,
        [
            Ok(10),
            Ok(10),
            Ok(10),
            Err(true),
            Ok(10),
            Ok(10),
            Ok(10),
            Ok(0)
        ]
    );

    let log = logged(&storage).await?;
    assert_eq!(log.len(), 70, "page 4 is in the log twice");
    let offsets: Vec<i64> = log.iter().map(|(o, _)| *o).collect();
    assert_eq!(offsets, (1..=70).collect::<Vec<i64>>());

    // Every republished reading scores exactly as it did the first time.
    let mut first_copy: HashMap<(DeviceId, ReadingId), &ScoredReading> = HashMap::new();
    let mut republished = 0;
    for (offset, event) in &log {
        let key = (event.device_id.clone(), event.id.clone());
        match first_copy.get(&key) {
            Some(first) => {
                republished += 1;
                assert_eq!(
                    event, *first,
                    "reading {key:?} republished at offset {offset} scores differently"
                );
            }
            None => {
                first_copy.insert(key, event);
            }
        }
    }
    assert_eq!(republished, 10);

    // And as an uninterrupted run in memory scores them.
    let mut states: HashMap<DeviceId, DeviceState> = HashMap::new();
    let expected: Vec<ScoredReading> = readings
        .iter()
        .map(|r| {
            score(
                r.clone(),
                states.entry(r.device_id.clone()).or_default(),
                &cfg,
            )
        })
        .collect();
    assert!(expected.iter().any(ScoredReading::has_anomaly));
    let published_once: Vec<ScoredReading> = log[..40]
        .iter()
        .chain(&log[50..])
        .map(|(_, e)| e.clone())
        .collect();
    assert_eq!(published_once, expected);
    Ok(())
}
