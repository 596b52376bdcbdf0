//! `GET /openapi.json` (function OpenApi): the OpenAPI 3.1 description of the HTTP API, the same file
//! API Management imports (`schemas/openapi.json`), compiled into the binary.

use axum::http::header;
use axum::response::IntoResponse;
use axum::routing::get;
use axum::Router;

pub const ROUTE: &str = "/openapi.json";
/// The description, as committed.
pub const DESCRIPTION: &str = include_str!("../../schemas/openapi.json");

pub fn router() -> Router {
    Router::new().route(
        ROUTE,
        get(|| async {
            ([(header::CONTENT_TYPE, "application/json")], DESCRIPTION).into_response()
        }),
    )
}
