//! The simulator's device client: POST one batch, retrying 408, 429, 5xx, timeouts and connection
//! errors with exponential backoff and jitter, honouring `Retry-After`. Every retry sends the same
//! bytes, so a retried reading the target already stored is a true duplicate.

use super::ledger::Outcome;
use super::rng::Rng;
use axum::body::Bytes;
use serde::Deserialize;
use std::time::Duration;
use tributary_core::Timestamp;

/// When to give up, and how long to wait between attempts.
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct RetryPolicy {
    pub max_attempts: u32,
    pub base: Duration,
    pub cap: Duration,
}

impl Default for RetryPolicy {
    fn default() -> Self {
        Self {
            max_attempts: 8,
            base: Duration::from_millis(100),
            cap: Duration::from_secs(5),
        }
    }
}

/// The wait before attempt `failures + 1`: `Retry-After` when the target gave one (plus up to 10 %,
/// so a fleet does not return at the same instant), else exponential with "equal jitter" (half
/// fixed, half random). `unit` is a uniform draw in [0, 1).
pub fn backoff(
    policy: &RetryPolicy,
    failures: u32,
    retry_after: Option<Duration>,
    unit: f64,
) -> Duration {
    if let Some(wait) = retry_after {
        return wait + wait.mul_f64(0.1 * unit);
    }
    let exp = policy
        .base
        .saturating_mul(1u32 << failures.saturating_sub(1).min(20))
        .min(policy.cap);
    exp / 2 + (exp / 2).mul_f64(unit)
}

/// Whether a status is worth retrying: the target is busy, timed out, or failed on its side.
pub fn retryable(status: u16) -> bool {
    status == 408 || status == 429 || (500..600).contains(&status)
}

#[derive(Debug, Default, Deserialize)]
struct Report {
    #[serde(default)]
    accepted: u64,
    #[serde(default)]
    duplicates: u64,
    #[serde(default)]
    rejected: Vec<RejectedItem>,
}

#[derive(Debug, Deserialize)]
struct RejectedItem {
    index: usize,
}

/// POSTs `body` (a JSON array) to `url` until it is answered or the policy gives up. Returns the
/// outcome and the number of attempts made.
pub async fn post_batch(
    client: &reqwest::Client,
    url: &str,
    body: Bytes,
    policy: &RetryPolicy,
    rng: &mut Rng,
) -> (Outcome, u32) {
    let mut attempts = 0;
    loop {
        attempts += 1;
        let sent = client
            .post(url)
            .header("content-type", "application/json")
            .body(body.clone())
            .send()
            .await;
        let retry_after = match sent {
            Ok(response) => {
                let status = response.status().as_u16();
                if (200..300).contains(&status) || status == 400 {
                    let at_ms = Timestamp::now().millis();
                    let text = response.bytes().await.unwrap_or_default();
                    let report = serde_json::from_slice::<Report>(&text);
                    return match (status, report) {
                        (400, Err(_)) => {
                            tracing::warn!(body = %String::from_utf8_lossy(&text), "target refused a batch");
                            (Outcome::Failed, attempts)
                        }
                        (_, report) => {
                            // A 2xx is durable storage whatever its body; a 400 report acknowledges nothing.
                            let report = report.unwrap_or_default();
                            let outcome = Outcome::Answered {
                                success: status != 400,
                                accepted: report.accepted,
                                duplicates: report.duplicates,
                                rejected: report.rejected.iter().map(|r| r.index).collect(),
                                at_ms,
                            };
                            (outcome, attempts)
                        }
                    };
                }
                if !retryable(status) {
                    tracing::warn!(status, "target refused a batch; not retrying");
                    return (Outcome::Failed, attempts);
                }
                tracing::debug!(status, attempts, "retrying a batch");
                response
                    .headers()
                    .get(reqwest::header::RETRY_AFTER)
                    .and_then(|v| v.to_str().ok())
                    .and_then(|v| v.trim().parse::<u64>().ok())
                    .map(Duration::from_secs)
            }
            Err(e) => {
                tracing::debug!(error = %e, attempts, "retrying a batch");
                None
            }
        };
        if attempts >= policy.max_attempts {
            tracing::warn!(attempts, "giving up on a batch");
            return (Outcome::Failed, attempts);
        }
        tokio::time::sleep(backoff(policy, attempts, retry_after, rng.unit())).await;
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn backoff_doubles_from_the_base_up_to_the_cap_with_jitter_in_the_upper_half() {
        let p = RetryPolicy::default();
        assert_eq!(backoff(&p, 1, None, 0.0), Duration::from_millis(50));
        assert_eq!(backoff(&p, 1, None, 0.999_999).as_millis(), 99);
        assert_eq!(backoff(&p, 3, None, 0.0), Duration::from_millis(200));
        assert_eq!(backoff(&p, 30, None, 0.0), Duration::from_millis(2_500));
        assert!(backoff(&p, 30, None, 0.999) <= p.cap);
    }

    #[test]
    fn retry_after_is_honoured_and_never_shortened() {
        let p = RetryPolicy::default();
        let asked = Some(Duration::from_secs(2));
        assert_eq!(backoff(&p, 1, asked, 0.0), Duration::from_secs(2));
        let most = backoff(&p, 1, asked, 0.999);
        assert!(most >= Duration::from_secs(2) && most <= Duration::from_millis(2_200));
    }

    /// A target that answers each request with the next of `statuses` (then 202s).
    async fn stub(statuses: Vec<u16>) -> (String, std::sync::Arc<std::sync::atomic::AtomicUsize>) {
        use axum::http::{HeaderValue, StatusCode};
        use axum::response::IntoResponse;
        use std::sync::atomic::{AtomicUsize, Ordering};
        let calls = std::sync::Arc::new(AtomicUsize::new(0));
        let counted = calls.clone();
        let route = axum::routing::post(move || {
            let n = counted.fetch_add(1, Ordering::SeqCst);
            let status = statuses.get(n).copied().unwrap_or(202);
            async move {
                let status = StatusCode::from_u16(status).unwrap();
                let mut response =
                    (status, r#"{"accepted":1,"duplicates":0,"rejected":[]}"#).into_response();
                response
                    .headers_mut()
                    .insert("retry-after", HeaderValue::from_static("0"));
                response
            }
        });
        let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
        let url = format!("http://{}/api/telemetry", listener.local_addr().unwrap());
        let app = axum::Router::new().route("/api/telemetry", route);
        tokio::spawn(async move { axum::serve(listener, app).await });
        (url, calls)
    }

    #[tokio::test]
    async fn a_busy_target_is_retried_until_it_answers() {
        let (url, calls) = stub(vec![503, 429]).await;
        let client = reqwest::Client::new();
        let policy = RetryPolicy::default();
        let (outcome, attempts) = post_batch(
            &client,
            &url,
            Bytes::from_static(b"[]"),
            &policy,
            &mut Rng::new(1),
        )
        .await;
        assert_eq!(attempts, 3);
        assert_eq!(calls.load(std::sync::atomic::Ordering::SeqCst), 3);
        assert!(matches!(
            outcome,
            Outcome::Answered {
                success: true,
                accepted: 1,
                ..
            }
        ));
    }

    #[tokio::test]
    async fn a_refusal_is_not_retried_and_exhausted_retries_give_up() {
        let (url, calls) = stub(vec![413]).await;
        let client = reqwest::Client::new();
        let policy = RetryPolicy::default();
        let (outcome, attempts) = post_batch(
            &client,
            &url,
            Bytes::from_static(b"[]"),
            &policy,
            &mut Rng::new(1),
        )
        .await;
        assert_eq!((outcome, attempts), (Outcome::Failed, 1));
        assert_eq!(calls.load(std::sync::atomic::Ordering::SeqCst), 1);
        let (url, _) = stub(vec![500; 10]).await;
        let quick = RetryPolicy {
            max_attempts: 3,
            base: Duration::from_millis(1),
            cap: Duration::from_millis(2),
        };
        let (outcome, attempts) = post_batch(
            &client,
            &url,
            Bytes::from_static(b"[]"),
            &quick,
            &mut Rng::new(1),
        )
        .await;
        assert_eq!((outcome, attempts), (Outcome::Failed, 3));
    }

    #[test]
    fn busy_timeouts_and_server_errors_are_retried_client_errors_are_not() {
        for status in [408, 429, 500, 502, 503, 504] {
            assert!(retryable(status), "{status}");
        }
        for status in [400, 404, 413, 415] {
            assert!(!retryable(status), "{status}");
        }
    }
}
