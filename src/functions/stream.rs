//! `GET /api/stream[?device=…]` (function Stream): server-sent events, one `reading` event per
//! processed reading (with an `id` where the feed numbers them), and a `gap` event `{"missed": n}`
//! when the client fell behind or reconnected past what the feed still holds (`n` null: unknown).
//! A reconnect sending `Last-Event-ID` resumes after that update. Ends when the server shuts down.

use super::params;
use crate::http_error::ApiError;
use crate::state::QueryState;
use axum::extract::rejection::QueryRejection;
use axum::extract::{Query, State};
use axum::http::HeaderMap;
use axum::response::sse::{Event, KeepAlive, Sse};
use axum::routing::get;
use axum::Router;
use futures::stream::{Stream, StreamExt};
use serde::Deserialize;
use std::convert::Infallible;
use std::time::Duration;
use tributary_core::ports::LiveUpdate;

pub const ROUTE: &str = "/api/stream";

pub fn router() -> Router<QueryState> {
    Router::new().route(ROUTE, get(handle))
}

#[derive(Deserialize)]
struct StreamQuery {
    device: Option<String>,
}

async fn handle(
    State(state): State<QueryState>,
    headers: HeaderMap,
    query: Result<Query<StreamQuery>, QueryRejection>,
) -> Result<Sse<impl Stream<Item = Result<Event, Infallible>>>, ApiError> {
    let Query(q) = query.map_err(|e| ApiError::BadRequest(e.body_text()))?;
    let only = q.device.as_deref().map(params::device_id).transpose()?;
    let resume_after = match headers.get("last-event-id") {
        None => None,
        Some(v) => Some(
            v.to_str()
                .ok()
                .and_then(|t| t.trim().parse::<u64>().ok())
                .ok_or_else(|| ApiError::BadRequest("Last-Event-ID must be an event id".into()))?,
        ),
    };
    let stopped = state.shutdown.clone().cancelled_owned();
    let events = state
        .live
        .subscribe(resume_after)
        .filter(move |update| {
            std::future::ready(match update {
                LiveUpdate::Reading { reading, .. } => {
                    only.as_ref().is_none_or(|d| *d == reading.device_id)
                }
                LiveUpdate::Missed(_) => true,
            })
        })
        .map(|update| Ok(event(update)))
        .take_until(stopped);
    Ok(Sse::new(events).keep_alive(KeepAlive::new().interval(Duration::from_secs(15))))
}

fn event(update: LiveUpdate) -> Event {
    let unencodable = || Event::default().comment("unencodable");
    match update {
        LiveUpdate::Reading { id, reading } => {
            let event = Event::default().event("reading");
            let event = match id {
                Some(id) => event.id(id.to_string()),
                None => event,
            };
            event.json_data(&reading).unwrap_or_else(|_| unencodable())
        }
        LiveUpdate::Missed(missed) => Event::default()
            .event("gap")
            .json_data(serde_json::json!({ "missed": missed }))
            .unwrap_or_else(|_| unencodable()),
    }
}
