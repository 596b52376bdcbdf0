//! The ingest ceiling: a no-op server with Tributary's `POST /api/telemetry` route that only parses
//! the body as JSON (into `serde_json::Value`, every field of every reading) and answers 202 with an
//! ingest-shaped report. Same runtime, allocator and HTTP stack as `tributary`; nothing validated or
//! stored. bench/run.sh measures `ingest_bench` against it and against `tributary dev`.
//!
//!     cargo run --release --example ceiling -- --port 7499

use axum::body::Bytes;
use axum::http::StatusCode;
use axum::routing::{get, post};
use axum::{Json, Router};
use clap::Parser;
use serde_json::{json, Value};

/// The same allocator as the `tributary` binary, so the comparison is of work, not of malloc.
#[global_allocator]
static GLOBAL: mimalloc::MiMalloc = mimalloc::MiMalloc;

#[derive(Parser)]
struct Args {
    #[arg(long, default_value_t = 7499)]
    port: u16,
    #[arg(long, default_value = "127.0.0.1")]
    host: std::net::IpAddr,
}

async fn telemetry(body: Bytes) -> (StatusCode, Json<Value>) {
    match serde_json::from_slice::<Value>(&body) {
        Ok(parsed) => {
            let accepted = parsed.as_array().map_or(1, Vec::len);
            let report = json!({"accepted": accepted, "duplicates": 0, "rejected": []});
            (StatusCode::ACCEPTED, Json(report))
        }
        Err(e) => (
            StatusCode::BAD_REQUEST,
            Json(json!({"error": format!("malformed JSON: {e}")})),
        ),
    }
}

#[tokio::main]
async fn main() -> anyhow::Result<()> {
    let args = Args::parse();
    let app = Router::new()
        .route("/api/telemetry", post(telemetry))
        .route("/healthz", get(|| async { Json(json!({"status": "ok"})) }));
    let listener = tokio::net::TcpListener::bind((args.host, args.port)).await?;
    println!("ceiling listening on http://{}", listener.local_addr()?);
    axum::serve(listener, app).await?;
    Ok(())
}
