//! `tributary check-config`: loads nothing itself (it is handed the settings) and asks each backend the
//! chosen stages need whether it is reachable, lets us in, and holds what this build expects (schema
//! version, topics, containers). Prints one line per check, `ok` or `FAIL` with what to do. Creates
//! nothing: the probes are reads, plus one short-lived Redis key and one file in the data directory.

use crate::settings::{
    implicit_embedded, CacheBackend, EventLogBackend, ReadingStoreBackend, ResultStoreBackend,
    Settings,
};
use crate::startup::{token_source, Stages};
use std::future::Future;
use std::time::Duration;
use tributary_cosmos::{CosmosAuth, CosmosDb};

/// Longest any one check may take (a wrong port or host otherwise waits on the OS).
const CHECK_TIMEOUT: Duration = Duration::from_secs(20);

/// One check's outcome: the line printed for it.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Line {
    pub ok: bool,
    pub name: String,
    pub detail: String,
}

impl Line {
    fn ok(name: &str, detail: impl Into<String>) -> Self {
        Self {
            ok: true,
            name: name.into(),
            detail: detail.into(),
        }
    }
    fn fail(name: &str, detail: impl Into<String>) -> Self {
        Self {
            ok: false,
            name: name.into(),
            detail: detail.into(),
        }
    }
}

impl std::fmt::Display for Line {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        let status = if self.ok { "ok  " } else { "FAIL" };
        write!(f, "{status}  {}: {}", self.name, self.detail)
    }
}

/// Runs every check `stages` need, printing each line as it completes; returns how many failed.
pub async fn check(settings: &Settings, stages: Stages) -> usize {
    let mut failed = 0;
    for line in lines(settings, stages).await {
        println!("{line}");
        failed += usize::from(!line.ok);
    }
    failed
}

/// The checks' outcomes, in order: settings, then each backend the stages use.
pub async fn lines(settings: &Settings, stages: Stages) -> Vec<Line> {
    let b = settings.backends;
    let mut lines = vec![Line::ok(
        "settings",
        format!(
            "loaded; reading_store={:?} event_log={:?} result_store={:?} cache={:?}",
            b.reading_store, b.event_log, b.result_store, b.cache
        )
        .to_lowercase(),
    )];
    for implicit in implicit_embedded(settings, stages) {
        lines.push(Line::fail("backends", implicit.to_string()));
    }
    let reads_store = stages.ingest || stages.analyze;
    let uses_log = stages.analyze || stages.process;
    let uses_results = stages.analyze || stages.process || stages.query;
    let uses_cache = stages.process || stages.query;
    let embedded = (reads_store && b.reading_store == ReadingStoreBackend::Embedded)
        || (uses_log && b.event_log == EventLogBackend::Embedded)
        || (uses_results && b.result_store == ResultStoreBackend::Embedded);
    if embedded {
        lines.push(data_dir(settings));
    }
    if reads_store && b.reading_store == ReadingStoreBackend::Cosmos {
        let check = async { vec![cosmos(settings).await] };
        lines.extend(bounded("cosmos", "cosmos.endpoint", check).await);
    }
    if uses_log && b.event_log == EventLogBackend::Kafka {
        lines.extend(bounded("kafka", "kafka.brokers", kafka(settings, stages)).await);
    }
    if uses_results && b.result_store == ResultStoreBackend::Postgres {
        lines.extend(bounded("postgres", "postgres.url", postgres(settings)).await);
    }
    if uses_cache && b.cache == CacheBackend::Redis {
        let check = async { vec![redis(settings).await] };
        lines.extend(bounded("redis", "redis.url", check).await);
    }
    lines
}

/// `check` within `CHECK_TIMEOUT`; past it, one FAIL line naming the setting to look at.
async fn bounded(name: &str, setting: &str, check: impl Future<Output = Vec<Line>>) -> Vec<Line> {
    match tokio::time::timeout(CHECK_TIMEOUT, check).await {
        Ok(lines) => lines,
        Err(_) => vec![Line::fail(
            name,
            format!(
                "no answer within {CHECK_TIMEOUT:?}: check {setting} (host, port) and the network \
                 path and firewall rules"
            ),
        )],
    }
}

fn data_dir(settings: &Settings) -> Line {
    let dir = &settings.data_dir;
    let probe = dir.join(format!(".check-config-{}", std::process::id()));
    let written = std::fs::create_dir_all(dir)
        .and_then(|()| std::fs::write(&probe, b"ok"))
        .and_then(|()| std::fs::remove_file(&probe));
    match written {
        Ok(()) => Line::ok(
            "data_dir",
            format!(
                "{} is writable (embedded storage, this node only)",
                dir.display()
            ),
        ),
        Err(e) => Line::fail(
            "data_dir",
            format!(
                "{} is not writable ({e}): set data_dir to a writable directory",
                dir.display()
            ),
        ),
    }
}

async fn cosmos(settings: &Settings) -> Line {
    let mut cosmos = settings.cosmos.clone();
    cosmos.create_if_absent = false; // a check creates nothing
    let credential = match cosmos.auth {
        CosmosAuth::Key => None,
        CosmosAuth::Entra => match tributary_entra::environment_credential() {
            Ok(c) => Some(c),
            Err(e) => return Line::fail("cosmos", format!("no Entra credential ({e}): run under a workload or managed identity, or `az login`")),
        },
    };
    let target = format!(
        "{} database {}, containers {} and {}",
        cosmos.endpoint, cosmos.database, cosmos.readings_container, cosmos.leases_container
    );
    match CosmosDb::connect(&cosmos, credential).await {
        Ok(_) => Line::ok(
            "cosmos",
            format!("{target}: reachable, authorized, present"),
        ),
        Err(e) => {
            let text = e.to_string();
            let todo = if text.contains("401")
                || text.contains("403")
                || text.contains("nauthorized")
                || text.contains("orbidden")
            {
                "check cosmos.key (auth = \"key\") or the identity's Cosmos DB Built-in Data Contributor role (auth = \"entra\")"
            } else if text.contains("404")
                || text.contains("NotFound")
                || text.contains("not found")
            {
                "create the database and containers (infra/main.bicep), or set cosmos.create_if_absent = true outside production"
            } else {
                "check cosmos.endpoint and that the account is reachable from here"
            };
            Line::fail("cosmos", format!("{target}: {text}: {todo}"))
        }
    }
}

async fn kafka(settings: &Settings, stages: Stages) -> Vec<Line> {
    let k = &settings.kafka;
    let mut topics = vec![k.topic.as_str()];
    if stages.process {
        topics.push(k.dead_letter_topic.as_str());
    }
    let found = match tributary_kafka::topic_partitions(k, &topics, Duration::from_secs(10)).await {
        Ok(found) => found,
        Err(e) => return vec![Line::fail("kafka", format!("brokers {}: {e}: check kafka.brokers and the security options ([kafka.options], kafka.sasl_password)", k.brokers))],
    };
    let mut lines = vec![Line::ok(
        "kafka",
        format!("brokers {} reachable", k.brokers),
    )];
    for (topic, partitions) in found {
        let name = format!("kafka topic {topic}");
        lines.push(match (partitions, k.create_topics) {
            (Some(n), _) => Line::ok(&name, format!("exists, {n} partition(s)")),
            (None, true) => Line::ok(
                &name,
                "absent; created at start-up (kafka.create_topics = true)",
            ),
            (None, false) => Line::fail(
                &name,
                "does not exist: create it (infra/main.bicep), or set kafka.create_topics = true",
            ),
        });
    }
    lines
}

async fn postgres(settings: &Settings) -> Vec<Line> {
    let token = match token_source(settings.postgres.auth, tributary_postgres::ENTRA_SCOPE) {
        Ok(t) => t,
        Err(e) => {
            return vec![Line::fail(
                "postgres",
                format!("no Entra token source ({e})"),
            )]
        }
    };
    let store = match tributary_postgres::PgResultStore::connect(&settings.postgres, token).await {
        Ok(s) => s,
        Err(e) => return vec![Line::fail("postgres", format!("{e}: check postgres.url"))],
    };
    let version = match store.server_version().await {
        Ok(v) => v,
        Err(e) => return vec![Line::fail("postgres", format!("{e}: check postgres.url (host, port, database, user) and the password or Entra identity"))],
    };
    let short = version.split(" on ").next().unwrap_or(&version).to_owned();
    let mut lines = vec![Line::ok("postgres", format!("connected ({short})"))];
    lines.push(match store.schema_status().await {
        Err(e) => Line::fail("postgres schema", format!("cannot read the migrations table: {e}")),
        Ok(s) if !s.unknown().is_empty() => Line::fail("postgres schema", format!("the database has migrations this build does not know ({:?}): deploy the newer build", s.unknown())),
        Ok(s) if !s.missing().is_empty() => Line::fail("postgres schema", format!("{} of {} migrations applied, missing {:?}: run `tributary migrate` with these settings", s.expected.len() - s.missing().len(), s.expected.len(), s.missing())),
        Ok(s) => Line::ok("postgres schema", format!("up to date ({} migrations)", s.expected.len())),
    });
    lines.push(match store.tables_without_access().await {
        Err(e) => Line::fail("postgres permissions", e.to_string()),
        Ok(t) if t.is_empty() => Line::ok(
            "postgres permissions",
            "SELECT, INSERT, UPDATE, DELETE on every table",
        ),
        Ok(t) => Line::fail(
            "postgres permissions",
            format!(
                "missing on {}: GRANT SELECT, INSERT, UPDATE, DELETE to this user",
                t.join(", ")
            ),
        ),
    });
    lines
}

async fn redis(settings: &Settings) -> Line {
    let token = match token_source(settings.redis.auth, tributary_redis::ENTRA_SCOPE) {
        Ok(t) => t,
        Err(e) => return Line::fail("redis", format!("no Entra token source ({e})")),
    };
    match tributary_redis::check_access(&settings.redis, token).await {
        Ok(pong) => Line::ok(
            "redis",
            format!("{pong}; may write under prefix {:?}", settings.redis.prefix),
        ),
        Err(e) => Line::fail(
            "redis",
            format!(
                "{e}: check redis.url (host, port, TLS, password) or the identity's access policy"
            ),
        ),
    }
}
