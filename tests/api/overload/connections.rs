//! Connection bounds over real sockets: idle and slow-header connections are closed after their
//! timeouts, and connections past the limit wait unserved until a slot frees.

use super::spawn_with;
use std::time::{Duration, Instant};
use tokio::io::{AsyncReadExt, AsyncWriteExt};
use tokio::net::TcpStream;

const GET_HEALTHZ: &[u8] = b"GET /healthz HTTP/1.1\r\nHost: t\r\n\r\n";

async fn connect(base: &str) -> TcpStream {
    TcpStream::connect(base.trim_start_matches("http://"))
        .await
        .expect("connects")
}

/// Reads until the server closes the connection (or `within` passes: `None`); returns what it sent.
async fn read_until_closed(stream: &mut TcpStream, within: Duration) -> Option<Vec<u8>> {
    let mut got = Vec::new();
    let mut buf = [0u8; 4096];
    let deadline = tokio::time::Instant::now() + within;
    loop {
        match tokio::time::timeout_at(deadline, stream.read(&mut buf)).await {
            Err(_) => return None,
            Ok(Ok(0)) | Ok(Err(_)) => return Some(got),
            Ok(Ok(n)) => got.extend_from_slice(&buf[..n]),
        }
    }
}

/// Reads one whole `/healthz` response (it is short and has a Content-Length).
async fn read_response(stream: &mut TcpStream, within: Duration) -> Option<String> {
    let mut got = Vec::new();
    let mut buf = [0u8; 1024];
    let deadline = tokio::time::Instant::now() + within;
    while !String::from_utf8_lossy(&got).contains("\r\n\r\n") {
        match tokio::time::timeout_at(deadline, stream.read(&mut buf)).await {
            Ok(Ok(n)) if n > 0 => got.extend_from_slice(&buf[..n]),
            _ => return None,
        }
    }
    Some(String::from_utf8_lossy(&got).into_owned())
}

#[tokio::test]
async fn an_idle_keep_alive_connection_is_closed_after_the_idle_timeout() {
    let app = spawn_with(|s| {
        s.overload.idle_timeout_ms = 600;
        s.overload.header_read_timeout_ms = 30_000;
    })
    .await;
    let mut stream = connect(&app.base).await;
    stream.write_all(GET_HEALTHZ).await.expect("request");
    let response = read_response(&mut stream, Duration::from_secs(5))
        .await
        .expect("a response");
    assert!(response.starts_with("HTTP/1.1 200"), "{response}");
    let idle_since = Instant::now();
    read_until_closed(&mut stream, Duration::from_secs(10))
        .await
        .expect("the idle connection is closed");
    let idle_for = idle_since.elapsed();
    assert!(
        idle_for >= Duration::from_millis(500),
        "closed because idle, not at once: {idle_for:?}"
    );
}

#[tokio::test]
async fn a_connection_that_sends_its_headers_too_slowly_is_closed() {
    let app = spawn_with(|s| {
        s.overload.idle_timeout_ms = 60_000;
        s.overload.header_read_timeout_ms = 700;
    })
    .await;
    let mut stream = connect(&app.base).await;
    let started = Instant::now();
    stream
        .write_all(b"GET /healthz HTTP/1.1\r\nHost: t\r\n")
        .await
        .expect("start of a request");
    // A header line every 100 ms: always busy, never done.
    let mut closed = false;
    for i in 0..100 {
        if stream
            .write_all(format!("X-Slow-{i}: x\r\n").as_bytes())
            .await
            .is_err()
        {
            closed = true;
            break;
        }
        let mut buf = [0u8; 1024];
        match tokio::time::timeout(Duration::from_millis(100), stream.read(&mut buf)).await {
            Ok(Ok(0)) | Ok(Err(_)) => {
                closed = true;
                break;
            }
            Ok(Ok(n)) => {
                let text = String::from_utf8_lossy(&buf[..n]).into_owned();
                assert!(!text.contains(" 200 "), "never served: {text}");
            }
            Err(_) => {}
        }
    }
    assert!(closed, "the slow client was cut off");
    let after = started.elapsed();
    assert!(
        after >= Duration::from_millis(600) && after < Duration::from_secs(9),
        "closed at the header timeout, not at once nor never: {after:?}"
    );
}

#[tokio::test]
async fn connections_past_the_limit_wait_until_one_closes() {
    let app = spawn_with(|s| {
        s.overload.max_connections = 2;
        s.overload.idle_timeout_ms = 60_000;
        s.overload.header_read_timeout_ms = 60_000;
    })
    .await;
    let mut first = connect(&app.base).await;
    let mut second = connect(&app.base).await;
    // Both are served (so both hold a slot).
    for stream in [&mut first, &mut second] {
        stream.write_all(GET_HEALTHZ).await.expect("request");
        let response = read_response(stream, Duration::from_secs(5)).await;
        assert!(response.is_some_and(|r| r.starts_with("HTTP/1.1 200")));
    }
    let mut third = connect(&app.base).await; // the kernel's backlog takes it
    third.write_all(GET_HEALTHZ).await.expect("request");
    assert_eq!(
        read_response(&mut third, Duration::from_millis(700)).await,
        None,
        "a third connection is not served while two are open"
    );
    drop(first);
    let response = read_response(&mut third, Duration::from_secs(5))
        .await
        .expect("served once a slot is free");
    assert!(response.starts_with("HTTP/1.1 200"), "{response}");
}
