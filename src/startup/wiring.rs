//! Choosing adapters: which stages run decides which ports are needed; the settings decide which
//! technology serves each. The only place adapters are constructed.

use super::{Trigger, ANALYZE_FEED};
use crate::functions::analyze::AnalyzeHost;
use crate::functions::process::ProcessHost;
use crate::health::Health;
use crate::overload::{Admission, BodyBudget};
use crate::settings::{
    CacheBackend, EventLogBackend, ReadingStoreBackend, ResultStoreBackend, Settings,
};
use crate::state::{system_clock, AppState, IngestState, QueryState};
use crate::telemetry::Telemetry;
use crate::triggers::analyze::AnalyzeTrigger;
use crate::triggers::kafka_batch::KafkaBatches;
use crate::triggers::kafka_process::KafkaProcessTrigger;
use crate::triggers::leased_analyze::LeasedAnalyze;
use crate::triggers::process::ProcessTrigger;
use anyhow::Context;
use std::sync::Arc;
use std::time::Duration;
use tokio::sync::Notify;
use tokio_util::sync::CancellationToken;
use tributary_core::analyze::Analyzer;
use tributary_core::auth::{Auth, TokenSource};
use tributary_core::ports::{
    CheckpointStore, EventLog, LatestCache, LiveFeed, ReadingStore, ResultStore,
};
use tributary_cosmos::{CosmosAuth, CosmosDb, CosmosFeedLeases, CosmosReadingStore};
use tributary_embedded::{BroadcastLiveFeed, EmbeddedStorage, MemoryLatestCache};
use tributary_kafka::{DeadLetters, KafkaEventLog, KafkaSource};
use tributary_postgres::{PgCheckpointStore, PgResultStore};
use tributary_redis::{RedisConnection, RedisLatestCache, RedisLiveFeed};

/// Which stages this process runs.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Stages {
    pub ingest: bool,
    pub analyze: bool,
    pub process: bool,
    pub query: bool,
}

impl Stages {
    pub fn all() -> Self {
        Self {
            ingest: true,
            analyze: true,
            process: true,
            query: true,
        }
    }

    /// Parses `ingest,analyze,process,query` (any subset, any order).
    pub fn parse(text: &str) -> Result<Self, String> {
        let mut stages = Self {
            ingest: false,
            analyze: false,
            process: false,
            query: false,
        };
        for name in text.split(',').map(str::trim).filter(|s| !s.is_empty()) {
            match name {
                "ingest" => stages.ingest = true,
                "analyze" => stages.analyze = true,
                "process" => stages.process = true,
                "query" => stages.query = true,
                other => {
                    return Err(format!(
                        "unknown stage {other:?}; choose from ingest, analyze, process, query"
                    ))
                }
            }
        }
        if stages
            == (Self {
                ingest: false,
                analyze: false,
                process: false,
                query: false,
            })
        {
            return Err("name at least one stage".into());
        }
        Ok(stages)
    }
}

/// How the stages are driven: by this process's own triggers, or by the Functions host's invocations.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Face {
    Native,
    Host,
}

pub(super) async fn wire(
    settings: &Settings,
    stages: Stages,
    face: Face,
    shutdown: CancellationToken,
) -> anyhow::Result<(AppState, Vec<Trigger>)> {
    let backends = settings.backends;
    let telemetry = Arc::new(Telemetry::default());
    let health = Health::new(settings.health.lag_threshold);
    for (runs, stage) in [
        (stages.ingest, "ingest"),
        (stages.analyze, "analyze"),
        (stages.process, "process"),
        (stages.query, "query"),
    ] {
        if runs {
            health.stage(stage);
        }
    }
    let stored = Arc::new(Notify::new());
    let published = Arc::new(Notify::new());
    let cosmos_readings = backends.reading_store == ReadingStoreBackend::Cosmos;
    let reads_feed = stages.analyze && face == Face::Native;
    let needs_embedded = (!cosmos_readings && (stages.ingest || reads_feed))
        || (stages.analyze && backends.result_store == ResultStoreBackend::Embedded)
        || (backends.event_log == EventLogBackend::Embedded && stages.process)
        || (backends.result_store == ResultStoreBackend::Embedded
            && (stages.process || stages.query));
    let embedded = match needs_embedded {
        true => Some(
            EmbeddedStorage::open(&settings.data_dir)
                .await
                .with_context(|| {
                    format!("opening the data directory {}", settings.data_dir.display())
                })?,
        ),
        false => None,
    };
    let cosmos = match cosmos_readings && (stages.ingest || reads_feed) {
        true => {
            let credential = match settings.cosmos.auth {
                CosmosAuth::Key => None,
                CosmosAuth::Entra => {
                    Some(tributary_entra::environment_credential().map_err(anyhow::Error::msg)?)
                }
            };
            Some(
                CosmosDb::connect(&settings.cosmos, credential)
                    .await
                    .with_context(|| {
                        format!("connecting to Cosmos DB at {}", settings.cosmos.endpoint)
                    })?,
            )
        }
        false => None,
    };
    let (embedded_readings, embedded_checkpoints, embedded_log, embedded_results) = match embedded {
        Some(e) => (
            Some(Arc::new(e.readings)),
            Some(Arc::new(e.checkpoints)),
            Some(Arc::new(e.events)),
            Some(Arc::new(e.results)),
        ),
        None => (None, None, None, None),
    };
    let checkpoints = embedded_checkpoints
        .clone()
        .map(|c| c as Arc<dyn CheckpointStore>);

    let readings: Option<Arc<dyn ReadingStore>> = match (&cosmos, embedded_readings) {
        (Some(db), _) => Some(Arc::new(CosmosReadingStore::new(db.clone()))),
        (None, Some(embedded)) if !cosmos_readings => Some(embedded),
        _ => None,
    };
    let postgres = match backends.result_store {
        ResultStoreBackend::Postgres => {
            let token = token_source(settings.postgres.auth, tributary_postgres::ENTRA_SCOPE)?;
            Some(Arc::new(
                PgResultStore::connect(&settings.postgres, token).await?,
            ))
        }
        ResultStoreBackend::Embedded => None,
    };
    let results: Option<Arc<dyn ResultStore>> = match (stages.process || stages.query, &postgres) {
        (false, _) => None,
        (true, None) => embedded_results.map(|r| r as Arc<dyn ResultStore>),
        (true, Some(pg)) => Some(pg.clone()),
    };
    let (cache, live): (Arc<dyn LatestCache>, Arc<dyn LiveFeed>) = match backends.cache {
        CacheBackend::Memory => (
            Arc::new(MemoryLatestCache::new(settings.overload.cache_max_devices)),
            Arc::new(BroadcastLiveFeed::new(settings.overload.stream_buffer)),
        ),
        CacheBackend::Redis => {
            let token = token_source(settings.redis.auth, tributary_redis::ENTRA_SCOPE)?;
            let connection = RedisConnection::connect(&settings.redis, token)
                .await
                .context("connecting to Redis")?;
            (
                Arc::new(RedisLatestCache::new(connection.clone(), &settings.redis)),
                Arc::new(RedisLiveFeed::new(connection, &settings.redis)),
            )
        }
    };

    let uses_kafka =
        backends.event_log == EventLogBackend::Kafka && (stages.analyze || stages.process);
    if uses_kafka && settings.kafka.create_topics {
        tributary_kafka::ensure_topics(&settings.kafka)
            .await
            .context("creating Kafka topics")?;
    }
    let mut triggers: Vec<Trigger> = Vec::new();
    let mut analyze_host = None;
    let mut process_host = None;
    if stages.analyze {
        let log: Arc<dyn EventLog> = match backends.event_log {
            EventLogBackend::Embedded => embedded_log.clone().context("embedded event log")?,
            EventLogBackend::Kafka => Arc::new(KafkaEventLog::new(&settings.kafka)?),
        };
        let checkpoints: Arc<dyn CheckpointStore> = match (&postgres, checkpoints) {
            (Some(pg), _) if face == Face::Host || cosmos_readings => {
                Arc::new(PgCheckpointStore::new(pg.pool().clone()))
            }
            (_, Some(embedded)) => embedded,
            _ => anyhow::bail!("analyze needs a checkpoint store"),
        };
        match face {
            Face::Native => match &cosmos {
                Some(db) => {
                    let trigger = LeasedAnalyze {
                        instance: instance_name(),
                        leases: Arc::new(CosmosFeedLeases::new(db.clone())),
                        store: readings.clone().context("reading store")?,
                        checkpoints,
                        log,
                        telemetry: telemetry.clone(),
                        feed: ANALYZE_FEED,
                        detector: settings.detector.clone(),
                        max_batch: settings.analyze_batch,
                        lease_expiry: Duration::from_millis(settings.cosmos.lease_expiry_ms),
                        published: published.clone(),
                        health: health.stage("analyze"),
                    };
                    triggers.push(Trigger::new(
                        health.stage("analyze"),
                        trigger.run(shutdown.clone()),
                    ));
                }
                None => {
                    let trigger = AnalyzeTrigger {
                        analyzer: Analyzer::new(
                            ANALYZE_FEED,
                            settings.detector.clone(),
                            settings.analyze_batch,
                        ),
                        store: readings.clone().context("reading store")?,
                        checkpoints,
                        log,
                        telemetry: telemetry.clone(),
                        wake: stored.clone(),
                        published: published.clone(),
                        health: health.stage("analyze"),
                    };
                    triggers.push(Trigger::new(
                        health.stage("analyze"),
                        trigger.run(shutdown.clone()),
                    ));
                }
            },
            Face::Host => {
                analyze_host = Some(AnalyzeHost {
                    checkpoints,
                    log,
                    detector: settings.detector.clone(),
                    telemetry: telemetry.clone(),
                });
            }
        }
    }
    if stages.process {
        let results = results.clone().context("result store")?;
        match (backends.event_log, face) {
            (EventLogBackend::Embedded, Face::Native) => {
                let trigger = ProcessTrigger {
                    log: embedded_log.context("embedded event log")?,
                    results,
                    cache: cache.clone(),
                    live: live.clone(),
                    quarantine: embedded_checkpoints.context("embedded quarantine")?,
                    telemetry: telemetry.clone(),
                    max_batch: settings.process_batch,
                    wake: published,
                    health: health.stage("process"),
                };
                triggers.push(Trigger::new(
                    health.stage("process"),
                    trigger.run(shutdown.clone()),
                ));
            }
            (EventLogBackend::Embedded, Face::Host) => {
                // Process's trigger is Kafka; with no Kafka configured the host's calls fail loudly.
                tracing::warn!(
                    "backends.event_log is not kafka: the Process function is not served"
                );
            }
            (EventLogBackend::Kafka, face) => {
                let batches = KafkaBatches {
                    dead_letters: DeadLetters::new(&settings.kafka)?,
                    results,
                    cache: cache.clone(),
                    live: live.clone(),
                    telemetry: telemetry.clone(),
                };
                match face {
                    Face::Native => {
                        let source = KafkaSource::subscribe(&settings.kafka)?;
                        let trigger = KafkaProcessTrigger {
                            source,
                            batches,
                            health: health.stage("process"),
                        };
                        triggers.push(Trigger::new(
                            health.stage("process"),
                            trigger.run(shutdown.clone()),
                        ));
                    }
                    Face::Host => {
                        process_host = Some(ProcessHost {
                            batches: Arc::new(batches),
                            consumer_group: settings.kafka.consumer_group.clone(),
                        });
                    }
                }
            }
        }
    }

    let clock = system_clock();
    let ingest = match stages.ingest {
        true => Some(IngestState {
            readings: readings.context("reading store")?,
            limits: settings.ingest,
            telemetry: telemetry.clone(),
            clock: clock.clone(),
            stored,
            admission: Admission {
                budget: BodyBudget::new(settings.overload.ingest_budget_bytes),
                max_lag: settings.overload.max_lag,
                retry_after_secs: settings.overload.retry_after_secs,
                telemetry: telemetry.clone(),
            },
        }),
        false => None,
    };
    let query = match (stages.query, results) {
        (true, Some(results)) => Some(QueryState {
            results,
            cache,
            live,
            clock,
            shutdown,
            devices_page: (
                settings.overload.devices_page.max(1),
                settings.overload.devices_page_max.max(1),
            ),
        }),
        _ => None,
    };
    let state = AppState {
        ingest,
        query,
        analyze: analyze_host,
        process: process_host,
        telemetry,
        health,
    };
    Ok((state, triggers))
}

/// This process's name in the change-feed leases: the pod (host) name and the process id, so a
/// restarted process is a new owner and waits for its predecessor's leases to expire.
fn instance_name() -> String {
    let host = std::env::var("HOSTNAME").unwrap_or_else(|_| "tributary".into());
    format!("{host}-{}", std::process::id())
}

/// An Entra token source for a backend configured with `auth = "entra"`.
pub fn token_source(auth: Auth, scope: &str) -> anyhow::Result<Option<Arc<dyn TokenSource>>> {
    match auth {
        Auth::Password => Ok(None),
        Auth::Entra => {
            let source = tributary_entra::EntraTokenSource::from_environment(scope)
                .map_err(anyhow::Error::msg)?;
            Ok(Some(Arc::new(source)))
        }
    }
}
