//! `GET /api/stream[?device=…]` (function Stream): server-sent events, one `reading` event per
//! processed reading. Ends when the server shuts down so draining never waits on a listener.

use super::params;
use crate::http_error::ApiError;
use crate::state::QueryState;
use axum::extract::rejection::QueryRejection;
use axum::extract::{Query, State};
use axum::response::sse::{Event, KeepAlive, Sse};
use axum::routing::get;
use axum::Router;
use futures::stream::{Stream, StreamExt};
use serde::Deserialize;
use std::convert::Infallible;
use std::time::Duration;

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
    query: Result<Query<StreamQuery>, QueryRejection>,
) -> Result<Sse<impl Stream<Item = Result<Event, Infallible>>>, ApiError> {
    let Query(q) = query.map_err(|e| ApiError::BadRequest(e.body_text()))?;
    let only = q.device.as_deref().map(params::device_id).transpose()?;
    let stopped = state.shutdown.clone().cancelled_owned();
    let events = state
        .live
        .subscribe()
        .filter(move |r| std::future::ready(only.as_ref().is_none_or(|d| *d == r.device_id)))
        .map(|reading| {
            let event = Event::default().event("reading");
            Ok(event
                .json_data(&reading)
                .unwrap_or_else(|_| Event::default().comment("unencodable")))
        })
        .take_until(stopped);
    Ok(Sse::new(events).keep_alive(KeepAlive::new().interval(Duration::from_secs(15))))
}
