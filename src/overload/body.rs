//! Reading a request body under the budget: each chunk is reserved before it is kept, so bodies in
//! flight never hold more than the budget allows (a request alone excepted).

use super::budget::{Exhausted, Reservation};
use axum::body::{Body, Bytes};
use futures::StreamExt;

/// Why a body was not read.
#[derive(Debug)]
pub enum BodyRead {
    /// Longer than the limit (declared or sent).
    TooLarge,
    /// The connection failed or the framing was invalid.
    Unreadable(String),
    /// The budget is spent.
    Exhausted,
}

impl From<Exhausted> for BodyRead {
    fn from(_: Exhausted) -> Self {
        Self::Exhausted
    }
}

/// Reads at most `limit` bytes, reserving the declared length up front (so an oversized or
/// unaffordable body is answered before it is read) and each chunk beyond it as it arrives.
pub async fn read_body(
    body: Body,
    declared: Option<usize>,
    limit: usize,
    reservation: &mut Reservation,
) -> Result<Bytes, BodyRead> {
    if let Some(len) = declared {
        if len > limit {
            return Err(BodyRead::TooLarge);
        }
        reservation.grow_to(reservation.held() + len)?;
    }
    let base = reservation.held() - declared.unwrap_or(0);
    let mut out = Vec::with_capacity(declared.unwrap_or(0));
    let mut chunks = body.into_data_stream();
    while let Some(chunk) = chunks.next().await {
        let chunk = chunk.map_err(|e| BodyRead::Unreadable(e.to_string()))?;
        if out.len() + chunk.len() > limit {
            return Err(BodyRead::TooLarge);
        }
        reservation.grow_to(base + out.len() + chunk.len())?;
        out.extend_from_slice(&chunk);
    }
    Ok(Bytes::from(out))
}
