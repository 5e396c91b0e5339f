//! An open-loop client: `GET <path>` (or, with `--post-json`, a `POST` of
//! that body) at a fixed rate over a few keep-alive connections, for latency
//! while something else loads the server.
//!
//! Request i is due at `start + i / rate`. A dispatcher thread releases each
//! request at its due time whatever happened to the earlier ones, and its
//! latency is measured from the due time to the end of the response. When
//! the server stalls, requests queue up on the client side and that wait is
//! counted, so coordinated omission is not hidden (wrk, a closed loop,
//! would simply send less).
//!
//! Prints one line:
//! `FIXED_RATE rate=.. duration_s=.. sent=.. ok=.. non200=.. errors=.. p50_ms=.. p90_ms=.. p99_ms=.. max_ms=.. dispatch_late_max_ms=.. statuses=200:12,503:1`
//! (`statuses` is `-` when nothing was answered; errors and timeouts are not in it).

use std::collections::BTreeMap;
use std::sync::Arc;
use std::time::{Duration, Instant};

use anyhow::Context as _;
use auth_bench::args::Args;
use auth_bench::http::{self, Response};
use tokio::net::TcpStream;
use tokio::sync::{Mutex, mpsc};

const USAGE: &str = "fixed_rate --addr 127.0.0.1:PORT [--path /protected] [--header 'Name: value']... \
[--post-json '{\"username\":..}'] [--rate 100] [--duration 10s] [--connections 4] [--timeout 5s]";

#[derive(Debug)]
struct Sample {
    latency: Duration,
    outcome: Result<u16, String>,
}

fn main() -> anyhow::Result<()> {
    let args = Args::parse(
        &[
            "addr",
            "path",
            "header",
            "post-json",
            "rate",
            "duration",
            "connections",
            "timeout",
        ],
        USAGE,
    )?;
    let addr = args.get("addr").context("--addr is required")?.to_owned();
    let path = args.get("path").unwrap_or("/protected").to_owned();
    let rate: f64 = args.parsed("rate", 100.0)?;
    let duration = args.duration("duration", Duration::from_secs(10))?;
    let connections: usize = args.parsed("connections", 4)?;
    let timeout = args.duration("timeout", Duration::from_secs(5))?;
    anyhow::ensure!(rate > 0.0 && rate.is_finite(), "--rate must be positive");
    anyhow::ensure!(connections > 0, "--connections must be at least 1");
    let request = Arc::new(match args.get("post-json") {
        Some(body) => http::post_json_request(&addr, &path, args.all("header"), body),
        None => http::get_request(&addr, &path, args.all("header")),
    });

    let runtime = tokio::runtime::Builder::new_current_thread()
        .enable_all()
        .build()?;
    runtime.block_on(run(addr, request, rate, duration, connections, timeout))
}

async fn run(
    addr: String,
    request: Arc<Vec<u8>>,
    rate: f64,
    duration: Duration,
    connections: usize,
    timeout: Duration,
) -> anyhow::Result<()> {
    // Connect first, so connection set-up is not in the first latencies.
    let mut streams = Vec::with_capacity(connections);
    for _ in 0..connections {
        let stream = TcpStream::connect(&addr)
            .await
            .with_context(|| format!("connecting to {addr}"))?;
        stream.set_nodelay(true)?;
        streams.push(stream);
    }

    let total = (rate * duration.as_secs_f64()).round() as u64;
    let (sender, receiver) = mpsc::unbounded_channel::<Instant>();
    let receiver = Arc::new(Mutex::new(receiver));
    let start = Instant::now() + Duration::from_millis(10);

    // A thread, not a Tokio timer: std sleeps are precise to tens of
    // microseconds, Tokio's timer wheel to a millisecond.
    let dispatcher = std::thread::spawn(move || {
        let mut latest = Duration::ZERO;
        for i in 0..total {
            let due = start + Duration::from_secs_f64(i as f64 / rate);
            let now = Instant::now();
            if due > now {
                std::thread::sleep(due - now);
            }
            latest = latest.max(Instant::now().saturating_duration_since(due));
            if sender.send(due).is_err() {
                break;
            }
        }
        latest
    });

    let mut workers = Vec::with_capacity(connections);
    for stream in streams {
        workers.push(tokio::spawn(worker(
            Some(stream),
            Arc::clone(&receiver),
            Arc::clone(&request),
            addr.clone(),
            timeout,
        )));
    }
    let mut samples = Vec::with_capacity(usize::try_from(total).unwrap_or(0));
    for worker in workers {
        samples.extend(worker.await?);
    }
    let dispatch_late = dispatcher
        .join()
        .map_err(|_| anyhow::anyhow!("the dispatcher thread panicked"))?;

    let mut latencies: Vec<Duration> = samples.iter().map(|sample| sample.latency).collect();
    latencies.sort();
    let ok = samples
        .iter()
        .filter(|sample| sample.outcome == Ok(200))
        .count();
    let non200 = samples
        .iter()
        .filter(|sample| matches!(sample.outcome, Ok(status) if status != 200))
        .count();
    let errors: Vec<&String> = samples
        .iter()
        .filter_map(|sample| sample.outcome.as_ref().err())
        .collect();
    if let Some(first) = errors.first() {
        eprintln!("fixed_rate: {} errors, first: {first}", errors.len());
    }
    let mut statuses: BTreeMap<u16, usize> = BTreeMap::new();
    for sample in &samples {
        if let Ok(status) = sample.outcome {
            *statuses.entry(status).or_default() += 1;
        }
    }
    let statuses = if statuses.is_empty() {
        "-".to_owned()
    } else {
        statuses
            .iter()
            .map(|(status, count)| format!("{status}:{count}"))
            .collect::<Vec<_>>()
            .join(",")
    };
    let pick = |p: f64| http::percentile(&latencies, p).map_or(f64::NAN, ms);
    println!(
        "FIXED_RATE rate={rate} duration_s={:.1} sent={} ok={ok} non200={non200} errors={} \
p50_ms={:.2} p90_ms={:.2} p99_ms={:.2} max_ms={:.2} dispatch_late_max_ms={:.2} statuses={statuses}",
        duration.as_secs_f64(),
        samples.len(),
        errors.len(),
        pick(50.0),
        pick(90.0),
        pick(99.0),
        pick(100.0),
        ms(dispatch_late),
    );
    Ok(())
}

/// Takes due times off the shared queue one at a time and sends a request
/// for each on its own connection (reconnecting after errors or `close`).
async fn worker(
    mut stream: Option<TcpStream>,
    receiver: Arc<Mutex<mpsc::UnboundedReceiver<Instant>>>,
    request: Arc<Vec<u8>>,
    addr: String,
    timeout: Duration,
) -> Vec<Sample> {
    let mut samples = Vec::new();
    let mut buf = Vec::with_capacity(4096);
    loop {
        let due = {
            let mut receiver = receiver.lock().await;
            match receiver.recv().await {
                Some(due) => due,
                None => break,
            }
        };
        let outcome =
            tokio::time::timeout(timeout, send(&mut stream, &request, &addr, &mut buf)).await;
        let latency = due.elapsed();
        let outcome = match outcome {
            Ok(Ok(Response { status, close })) => {
                if close {
                    stream = None;
                }
                Ok(status)
            }
            Ok(Err(error)) => {
                stream = None;
                Err(format!("{error:#}"))
            }
            Err(_) => {
                stream = None;
                Err(format!("no response within {timeout:?}"))
            }
        };
        samples.push(Sample { latency, outcome });
    }
    samples
}

async fn send(
    stream: &mut Option<TcpStream>,
    request: &[u8],
    addr: &str,
    buf: &mut Vec<u8>,
) -> anyhow::Result<Response> {
    if stream.is_none() {
        let fresh = TcpStream::connect(addr).await?;
        fresh.set_nodelay(true)?;
        *stream = Some(fresh);
    }
    let Some(connection) = stream.as_mut() else {
        anyhow::bail!("no connection");
    };
    http::exchange(connection, request, buf).await
}

fn ms(duration: Duration) -> f64 {
    duration.as_secs_f64() * 1000.0
}
