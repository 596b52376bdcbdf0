//! `tributary dead-letters`: list the records analyze and process set aside (change-feed documents
//! they could not read, events the result store refused: the quarantines, and the Kafka dead-letter
//! topic) and replay them after a fix. Replaying a change-feed record scores and publishes it as
//! analyze would; replaying an event republishes it to the event log. Both are safe to repeat:
//! process counts each reading once by identity.

use crate::settings::{EventLogBackend, ResultStoreBackend, Settings};
use crate::startup::ANALYZE_FEED;
use std::sync::Arc;
use tributary_core::analyze::{Analyzer, DetectorConfig, SET_ASIDE_SOURCE};
use tributary_core::ports::{CheckpointStore, EventLog, Quarantine, SetAside};
use tributary_core::{Reading, ScoredReading};

/// What to do with the set-aside records.
#[derive(clap::Subcommand)]
pub enum Action {
    /// Print the records set aside, oldest first, one JSON object per line.
    List {
        /// At most this many.
        #[arg(long, default_value_t = 100)]
        limit: usize,
    },
    /// Replay set-aside records (all of them, or those named by `--key`); replayed ones are removed.
    Replay {
        /// `<source>/<key>` as `list` prints them; repeatable. Without it, every record is replayed.
        #[arg(long = "key")]
        keys: Vec<String>,
    },
}

/// One place records are set aside: the quarantine, and the checkpoints committed with it (what a
/// replayed change-feed record is scored from).
struct Place {
    name: &'static str,
    quarantine: Arc<dyn Quarantine>,
    checkpoints: Option<Arc<dyn CheckpointStore>>,
}

async fn places(settings: &Settings) -> anyhow::Result<Vec<Place>> {
    let mut places = Vec::new();
    if settings.data_dir.join("readings.sqlite").exists() {
        let embedded = tributary_embedded::EmbeddedStorage::open(&settings.data_dir).await?;
        let store = Arc::new(embedded.checkpoints);
        places.push(Place {
            name: "embedded",
            quarantine: store.clone(),
            checkpoints: Some(store as Arc<dyn CheckpointStore>),
        });
    }
    if settings.backends.result_store == ResultStoreBackend::Postgres {
        let token =
            crate::startup::token_source(settings.postgres.auth, tributary_postgres::ENTRA_SCOPE)?;
        let pg = tributary_postgres::PgResultStore::connect(&settings.postgres, token).await?;
        let store = Arc::new(tributary_postgres::PgCheckpointStore::new(
            pg.pool().clone(),
        ));
        places.push(Place {
            name: "postgres",
            quarantine: store.clone(),
            checkpoints: Some(store as Arc<dyn CheckpointStore>),
        });
    }
    if settings.backends.event_log == EventLogBackend::Kafka {
        places.push(Place {
            name: "kafka",
            quarantine: Arc::new(tributary_kafka::DeadLetterTopic::new(&settings.kafka)),
            checkpoints: None,
        });
    }
    Ok(places)
}

async fn event_log(settings: &Settings) -> anyhow::Result<Arc<dyn EventLog>> {
    Ok(match settings.backends.event_log {
        EventLogBackend::Kafka => Arc::new(tributary_kafka::KafkaEventLog::new(&settings.kafka)?),
        EventLogBackend::Embedded => Arc::new(
            tributary_embedded::EmbeddedStorage::open(&settings.data_dir)
                .await?
                .events,
        ),
    })
}

pub async fn main(settings: &Settings, action: Action) -> anyhow::Result<()> {
    let places = places(settings).await?;
    match action {
        Action::List { limit } => {
            for place in &places {
                for record in place.quarantine.list(limit).await? {
                    let mut line = serde_json::to_value(&record)?;
                    line["place"] = place.name.into();
                    println!("{line}");
                }
            }
            Ok(())
        }
        Action::Replay { keys } => {
            let log = event_log(settings).await?;
            let (mut replayed, mut failed) = (0, 0);
            for place in &places {
                let chosen: Vec<SetAside> = place
                    .quarantine
                    .list(usize::MAX)
                    .await?
                    .into_iter()
                    .filter(|r| {
                        keys.is_empty() || keys.contains(&format!("{}/{}", r.source, r.key))
                    })
                    .collect();
                for record in chosen {
                    let replayed_one = replay(
                        &record,
                        settings.detector.clone(),
                        place.checkpoints.as_deref(),
                        log.as_ref(),
                    );
                    match replayed_one.await {
                        Ok(()) => {
                            place
                                .quarantine
                                .release(std::slice::from_ref(&record))
                                .await?;
                            replayed += 1;
                        }
                        Err(e) => {
                            failed += 1;
                            eprintln!(
                                "{}/{}: still not replayable: {e}",
                                record.source, record.key
                            );
                        }
                    }
                }
            }
            println!("{replayed} replayed, {failed} kept");
            match failed {
                0 => Ok(()),
                _ => anyhow::bail!("{failed} records could not be replayed and were kept"),
            }
        }
    }
}

/// Replays one record through the stage that set it aside.
async fn replay(
    record: &SetAside,
    detector: DetectorConfig,
    checkpoints: Option<&dyn CheckpointStore>,
    log: &dyn EventLog,
) -> anyhow::Result<()> {
    if record.source == SET_ASIDE_SOURCE {
        let checkpoints = checkpoints.ok_or_else(|| anyhow::anyhow!("no checkpoint store"))?;
        let reading = decode_reading(&record.record).map_err(anyhow::Error::msg)?;
        let mut analyzer = Analyzer::new(ANALYZE_FEED, detector, usize::MAX);
        let report = analyzer
            .analyze_delivered(vec![reading], Vec::new(), checkpoints, log)
            .await?;
        anyhow::ensure!(report.set_aside == 0, "the event log refused it again");
        return Ok(());
    }
    let event: ScoredReading = serde_json::from_str(&record.record)?;
    log.publish(std::slice::from_ref(&event)).await?;
    Ok(())
}

/// A change-feed record as the embedded store keeps it (a reading's JSON) or as Cosmos DB does (a
/// readings-container document).
fn decode_reading(record: &str) -> Result<Reading, String> {
    serde_json::from_str::<Reading>(record).or_else(|plain| {
        let document: serde_json::Value =
            serde_json::from_str(record).map_err(|e| e.to_string())?;
        tributary_cosmos::reading_from_document(document)
            .map_err(|document| format!("{plain} (as a Cosmos DB document: {document})"))
    })
}
