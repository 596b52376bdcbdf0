//! `GET /` (function Dashboard): the single-page live dashboard, compiled into the binary.

use axum::response::Html;
use axum::routing::get;
use axum::Router;

pub const ROUTE: &str = "/";
const PAGE: &str = include_str!("../../assets/dashboard.html");

pub fn router() -> Router {
    Router::new().route(ROUTE, get(|| async { Html(PAGE) }))
}
