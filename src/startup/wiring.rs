//! Choosing adapters: which stages run decides which ports are needed; the settings decide which
//! technology serves each. The only place adapters are constructed.

use super::ANALYZE_FEED;
use crate::settings::{CacheBackend, EventLogBackend, ResultStoreBackend, Settings};
use crate::state::{system_clock, AppState, IngestState, QueryState};
use crate::telemetry::Telemetry;
use crate::triggers::analyze::AnalyzeTrigger;
use crate::triggers::kafka_process::KafkaProcessTrigger;
use crate::triggers::process::ProcessTrigger;
use anyhow::Context;
use futures::future::BoxFuture;
use std::sync::Arc;
use tokio::sync::Notify;
use tokio_util::sync::CancellationToken;
use tributary_core::analyze::Analyzer;
use tributary_core::ports::{EventLog, LatestCache, LiveFeed, ResultStore};
use tributary_embedded::{BroadcastLiveFeed, EmbeddedStorage, MemoryLatestCache};
use tributary_kafka::{DeadLetters, KafkaEventLog, KafkaSource};
use tributary_postgres::PgResultStore;
use tributary_redis::{RedisLatestCache, RedisLiveFeed};

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

pub(super) async fn wire(
    settings: &Settings,
    stages: Stages,
    shutdown: CancellationToken,
) -> anyhow::Result<(AppState, Vec<BoxFuture<'static, ()>>)> {
    let backends = settings.backends;
    let telemetry = Arc::new(Telemetry::default());
    let stored = Arc::new(Notify::new());
    let published = Arc::new(Notify::new());
    let needs_embedded = stages.ingest
        || stages.analyze
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
    let (readings, checkpoints, embedded_log, embedded_results) = match embedded {
        Some(e) => (
            Some(Arc::new(e.readings)),
            Some(Arc::new(e.checkpoints)),
            Some(Arc::new(e.events)),
            Some(Arc::new(e.results)),
        ),
        None => (None, None, None, None),
    };

    let results: Option<Arc<dyn ResultStore>> =
        match (stages.process || stages.query, backends.result_store) {
            (false, _) => None,
            (true, ResultStoreBackend::Embedded) => {
                embedded_results.map(|r| r as Arc<dyn ResultStore>)
            }
            (true, ResultStoreBackend::Postgres) => {
                let store = PgResultStore::connect(&settings.postgres, None).await?;
                Some(Arc::new(store))
            }
        };
    let (cache, live): (Arc<dyn LatestCache>, Arc<dyn LiveFeed>) = match backends.cache {
        CacheBackend::Memory => (
            Arc::new(MemoryLatestCache::default()),
            Arc::new(BroadcastLiveFeed::default()),
        ),
        CacheBackend::Redis => (
            Arc::new(
                RedisLatestCache::connect(&settings.redis)
                    .await
                    .context("connecting to Redis")?,
            ),
            Arc::new(
                RedisLiveFeed::connect(&settings.redis)
                    .await
                    .context("connecting to Redis")?,
            ),
        ),
    };

    let mut triggers: Vec<BoxFuture<'static, ()>> = Vec::new();
    if stages.analyze {
        let log: Arc<dyn EventLog> = match backends.event_log {
            EventLogBackend::Embedded => embedded_log.clone().context("embedded event log")?,
            EventLogBackend::Kafka => {
                if settings.kafka.create_topics {
                    tributary_kafka::ensure_topics(&settings.kafka)
                        .await
                        .context("creating Kafka topics")?;
                }
                Arc::new(KafkaEventLog::new(&settings.kafka)?)
            }
        };
        let trigger = AnalyzeTrigger {
            analyzer: Analyzer::new(ANALYZE_FEED, settings.detector, settings.analyze_batch),
            store: readings.clone().context("reading store")?,
            checkpoints: checkpoints.context("checkpoint store")?,
            log,
            telemetry: telemetry.clone(),
            wake: stored.clone(),
            published: published.clone(),
        };
        triggers.push(Box::pin(trigger.run(shutdown.clone())));
    }
    if stages.process {
        let results = results.clone().context("result store")?;
        match backends.event_log {
            EventLogBackend::Embedded => {
                let trigger = ProcessTrigger {
                    log: embedded_log.context("embedded event log")?,
                    results,
                    cache: cache.clone(),
                    live: live.clone(),
                    telemetry: telemetry.clone(),
                    max_batch: settings.process_batch,
                    wake: published,
                };
                triggers.push(Box::pin(trigger.run(shutdown.clone())));
            }
            EventLogBackend::Kafka => {
                if settings.kafka.create_topics {
                    tributary_kafka::ensure_topics(&settings.kafka)
                        .await
                        .context("creating Kafka topics")?;
                }
                let trigger = KafkaProcessTrigger {
                    source: KafkaSource::subscribe(&settings.kafka)?,
                    dead_letters: DeadLetters::new(&settings.kafka)?,
                    results,
                    cache: cache.clone(),
                    live: live.clone(),
                    telemetry: telemetry.clone(),
                };
                triggers.push(Box::pin(trigger.run(shutdown.clone())));
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
        }),
        _ => None,
    };
    Ok((
        AppState {
            ingest,
            query,
            telemetry,
        },
        triggers,
    ))
}
