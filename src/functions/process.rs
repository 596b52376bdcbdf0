//! `POST /Process` (function Process): the Functions host's Kafka trigger (`cardinality: many`)
//! delivers a batch of events with their partitions and offsets; they go through the same
//! `KafkaBatches` as the native consumer: poison is dead-lettered, the batch applied exactly once
//! (positions and identities in the result store, so a redelivered batch counts nothing twice).
//! A retryable failure answers 503 so the host retries the batch instead of committing past it.

use super::invocation::{self, refuse};
use crate::host::{InvocationResult, KafkaEvent};
use crate::triggers::kafka_batch::KafkaBatches;
use axum::body::Bytes;
use axum::extract::State;
use axum::http::StatusCode;
use axum::response::{IntoResponse, Response};
use axum::routing::post;
use axum::{Json, Router};
use serde_json::json;
use std::sync::Arc;
use tributary_kafka::RawMessage;

pub const ROUTE: &str = "/Process";
/// The trigger binding's name in `functions/Process/function.json`.
pub const BINDING: &str = "events";

#[derive(Clone)]
pub struct ProcessHost {
    pub batches: Arc<KafkaBatches>,
    /// The trigger's consumer group: positions are stored per group and topic, as in native mode.
    pub consumer_group: String,
}

pub fn router() -> Router<ProcessHost> {
    Router::new().route(ROUTE, post(handle))
}

async fn handle(State(host): State<ProcessHost>, body: Bytes) -> Response {
    let items = match invocation::items(&body, BINDING) {
        Ok(items) => items,
        Err(e) => return refuse(StatusCode::BAD_REQUEST, e),
    };
    let events = match items
        .into_iter()
        .enumerate()
        .map(|(i, item)| {
            serde_json::from_value::<KafkaEvent>(item).map_err(|e| format!("event {i}: {e}"))
        })
        .collect::<Result<Vec<_>, _>>()
    {
        Ok(events) => events,
        Err(e) => return refuse(StatusCode::BAD_REQUEST, format!("not a Kafka event: {e}")),
    };
    let Some(topic) = events.first().map(|e| e.topic.clone()) else {
        return Json(InvocationResult::new(
            vec!["empty batch".into()],
            json!({"fresh": 0}),
        ))
        .into_response();
    };
    let messages: Vec<RawMessage> = events
        .iter()
        .map(|e| RawMessage {
            partition: e.partition,
            offset: e.offset,
            key: e.key_bytes(),
            payload: e.payload(),
        })
        .collect();
    let consumer = format!("{}/{topic}", host.consumer_group);
    let batch = host.batches.parse(&consumer, &messages).await;
    match host.batches.apply_once(&batch, &messages).await {
        Ok(report) => {
            let summary = format!(
                "{} fresh, {} redelivered, {} republished of {} events",
                report.fresh,
                report.redelivered,
                report.republished,
                messages.len()
            );
            let result = json!({"fresh": report.fresh, "redelivered": report.redelivered, "republished": report.republished});
            Json(InvocationResult::new(vec![summary], result)).into_response()
        }
        Err(e) => {
            host.batches.telemetry.stage_error("process", e.class());
            refuse(
                StatusCode::SERVICE_UNAVAILABLE,
                format!("result store unavailable; the host will retry: {e}"),
            )
        }
    }
}
