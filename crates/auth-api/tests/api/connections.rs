//! The listener's limits, over real sockets: slow or idle clients are cut
//! off, and connections beyond the cap wait instead of exhausting the
//! process. Timeouts are set to a second or less, and every wait is bounded
//! generously, so a loaded machine cannot make these fail.

use std::time::{Duration, Instant};

use tokio::io::{AsyncReadExt as _, AsyncWriteExt as _};
use tokio::net::TcpStream;

use crate::helpers::{Options, spawn_app_with};

/// Reads until the server closes the connection (or `limit` passes);
/// returns what was read and how long it took.
async fn read_until_closed(stream: &mut TcpStream, limit: Duration) -> (String, Duration) {
    let started = Instant::now();
    let mut raw = Vec::new();
    let _ = tokio::time::timeout(limit, stream.read_to_end(&mut raw)).await;
    (
        String::from_utf8_lossy(&raw).into_owned(),
        started.elapsed(),
    )
}

#[tokio::test]
async fn a_connection_dribbling_its_header_is_closed_after_the_header_timeout() {
    let app = spawn_app_with(Options::default().with("--header-read-timeout", "1s")).await;
    let server = app.serve_on_socket().await;
    let mut stream = TcpStream::connect(server.addr).await.unwrap();
    stream
        .write_all(b"GET /health HTTP/1.1\r\nHost: x\r\n")
        .await
        .unwrap();
    // One header byte every 200 ms: activity, but never a whole header.
    let dribble = async {
        for _ in 0..100 {
            tokio::time::sleep(Duration::from_millis(200)).await;
            if stream.write_all(b"X").await.is_err() {
                return true;
            }
        }
        false
    };
    let cut_off = tokio::time::timeout(Duration::from_secs(15), dribble).await;

    assert_eq!(cut_off, Ok(true), "the server kept the connection open");
}

#[tokio::test]
async fn a_kept_alive_connection_waits_for_its_next_request_at_most_the_header_timeout() {
    let app = spawn_app_with(Options::default().with("--header-read-timeout", "1s")).await;
    let server = app.serve_on_socket().await;
    let mut stream = TcpStream::connect(server.addr).await.unwrap();
    stream
        .write_all(b"GET /health HTTP/1.1\r\nHost: x\r\n\r\n")
        .await
        .unwrap();

    let (raw, took) = read_until_closed(&mut stream, Duration::from_secs(15)).await;

    assert!(raw.starts_with("HTTP/1.1 200"), "{raw}");
    assert!(took < Duration::from_secs(15), "still open after {took:?}");
}

#[tokio::test]
async fn a_body_that_does_not_arrive_in_time_gets_408() {
    let app = spawn_app_with(Options::default().with("--body-read-timeout", "500ms")).await;
    let server = app.serve_on_socket().await;
    let mut stream = TcpStream::connect(server.addr).await.unwrap();
    stream
        .write_all(
            b"POST /login HTTP/1.1\r\nHost: x\r\nContent-Type: application/json\r\nContent-Length: 100\r\n\r\n{\"user",
        )
        .await
        .unwrap();

    let (raw, _) = read_until_closed(&mut stream, Duration::from_secs(15)).await;

    assert!(raw.starts_with("HTTP/1.1 408"), "{raw}");
    assert!(raw.contains(r#""code":"request_timeout""#), "{raw}");
}

#[tokio::test]
async fn connections_beyond_the_cap_wait_until_one_closes() {
    let app = spawn_app_with(Options::default().with("--max-connections", 2)).await;
    let server = app.serve_on_socket().await;
    let first = TcpStream::connect(server.addr).await.unwrap();
    let _second = TcpStream::connect(server.addr).await.unwrap();
    // Accepted by the kernel, not yet by the server.
    let mut third = TcpStream::connect(server.addr).await.unwrap();
    third
        .write_all(b"GET /health HTTP/1.1\r\nHost: x\r\nConnection: close\r\n\r\n")
        .await
        .unwrap();
    let mut byte = [0u8; 1];
    let early = tokio::time::timeout(Duration::from_millis(500), third.read(&mut byte)).await;
    assert!(early.is_err(), "served beyond the cap");

    drop(first);
    let (raw, _) = read_until_closed(&mut third, Duration::from_secs(15)).await;

    assert!(raw.starts_with("HTTP/1.1 200"), "{raw}");
}
