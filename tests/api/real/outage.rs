//! PostgreSQL going away for a few seconds: processing pauses and retries the batch in hand, resumes
//! when the database is back, and nothing is lost or counted twice. The outage is a TCP proxy in front
//! of the machine's PostgreSQL that drops every connection and refuses new ones.

use super::*;
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::{Arc, Mutex};
use tokio::net::{TcpListener, TcpStream};
use tokio::task::AbortHandle;
use tokio_util::sync::CancellationToken;
use tributary::startup::{Application, Stages};

/// A loopback proxy to PostgreSQL that can be cut and restored.
struct Proxy {
    port: u16,
    down: Arc<AtomicBool>,
    connections: Arc<Mutex<Vec<AbortHandle>>>,
}

impl Proxy {
    async fn start() -> Self {
        let listener = TcpListener::bind("127.0.0.1:0").await.expect("bind");
        let port = listener.local_addr().expect("addr").port();
        let down = Arc::new(AtomicBool::new(false));
        let connections: Arc<Mutex<Vec<AbortHandle>>> = Arc::default();
        let (d, c) = (down.clone(), connections.clone());
        tokio::spawn(async move {
            while let Ok((mut client, _)) = listener.accept().await {
                if d.load(Ordering::SeqCst) {
                    continue; // dropped: the connection is refused
                }
                let task = tokio::spawn(async move {
                    if let Ok(mut server) = TcpStream::connect("127.0.0.1:5432").await {
                        let _ = tokio::io::copy_bidirectional(&mut client, &mut server).await;
                    }
                });
                c.lock().expect("lock").push(task.abort_handle());
            }
        });
        Self {
            port,
            down,
            connections,
        }
    }

    fn cut(&self) {
        self.down.store(true, Ordering::SeqCst);
        for connection in self.connections.lock().expect("lock").drain(..) {
            connection.abort();
        }
    }

    fn restore(&self) {
        self.down.store(false, Ordering::SeqCst);
    }
}

#[tokio::test]
async fn processing_pauses_while_postgresql_is_away_and_loses_nothing() {
    let db = Database::create().await;
    let proxy = Proxy::start().await;
    let topic = unique("outage");
    let mut settings = real_settings(&db, &topic, tributary::settings::CacheBackend::Memory);
    settings.postgres.url =
        format!("postgres://postgres@127.0.0.1:{}/{}", proxy.port, db.name).into();
    settings.postgres.acquire_timeout_secs = 1;
    let readings = fleet(10, 30, now_minus_minutes(40));
    let (first, second) = readings.split_at(120);
    publish(&settings, first).await;

    let shutdown = CancellationToken::new();
    let app = Application::build(
        &settings,
        Stages::parse("process").expect("stages"),
        shutdown.clone(),
    )
    .await
    .expect("builds");
    let running = tokio::spawn(app.run_until_stopped());
    let direct = db.store().await;
    settles_to_truth(&direct, first, Duration::from_secs(60)).await;

    proxy.cut();
    publish(&settings, second).await;
    tokio::time::sleep(Duration::from_secs(4)).await;
    assert_eq!(
        stored(&direct, &readings).await,
        truth(first),
        "nothing applied while the database is away"
    );
    proxy.restore();
    settles_to_truth(&direct, &readings, Duration::from_secs(60)).await;
    shutdown.cancel();
    running.await.expect("task").expect("clean stop");
}
