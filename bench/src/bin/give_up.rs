//! Clients that give up, then one that does not: how soon the server serves
//! a real client after a flood whose clients all went away.
//!
//! For `--duration`, each of `--clients` connections sends `POST <path>`
//! with the `--post-json` body; when no answer has come `--give-up-after`
//! later it closes the connection (as a client with a timeout does) and
//! starts over on a new one. When the duration ends, every connection is
//! closed at once, the in-flight requests with them. Then, immediately, one
//! more request of the same kind goes out on a fresh connection and is sent
//! again (50 ms after an answer other than 200, or an error) until a 200
//! comes or `--final-timeout` passes. Any work the server still does for
//! the flood's abandoned requests is work that last request waits behind.
//!
//! Prints one line:
//! `GIVE_UP clients=.. duration_s=.. give_up_ms=.. sent=.. answered=.. abandoned=.. errors=.. statuses=503:40 first_200_ms=.. attempts=.. first_status=..`
//! `statuses` counts the flood's answers that came in time (`-`: none);
//! `abandoned` the requests given up, those cut off at the end included;
//! `first_200_ms` is from the last request's first send to its 200 (`-`
//! when none came within `--final-timeout`); `first_status` is the status
//! of the first answer to it (`-`: an error).

use std::collections::BTreeMap;
use std::sync::{Arc, Mutex, PoisonError};
use std::time::{Duration, Instant};

use anyhow::Context as _;
use auth_bench::args::Args;
use auth_bench::http::{self, Response};
use tokio::net::TcpStream;

const USAGE: &str = "give_up --addr 127.0.0.1:PORT --post-json '{\"username\":..}' [--path /login] \
[--clients 32] [--give-up-after 300ms] [--duration 3s] [--final-timeout 30s]";

/// After an error (a refused connect, a reset), wait this long before the
/// next attempt, so a client whose server is gone does not spin.
const PAUSE_AFTER_ERROR: Duration = Duration::from_millis(50);

#[derive(Debug, Default)]
struct Tally {
    sent: u64,
    errors: u64,
    statuses: BTreeMap<u16, u64>,
}

type SharedTally = Arc<Mutex<Tally>>;

fn count(tally: &SharedTally, update: impl FnOnce(&mut Tally)) {
    // A panic elsewhere cannot leave counters half-written: keep counting.
    update(&mut tally.lock().unwrap_or_else(PoisonError::into_inner));
}

fn main() -> anyhow::Result<()> {
    let args = Args::parse(
        &[
            "addr",
            "path",
            "post-json",
            "clients",
            "give-up-after",
            "duration",
            "final-timeout",
        ],
        USAGE,
    )?;
    let addr = args.get("addr").context("--addr is required")?.to_owned();
    let path = args.get("path").unwrap_or("/login");
    let body = args.get("post-json").context("--post-json is required")?;
    let clients: usize = args.parsed("clients", 32)?;
    let give_up = args.duration("give-up-after", Duration::from_millis(300))?;
    let duration = args.duration("duration", Duration::from_secs(3))?;
    let final_timeout = args.duration("final-timeout", Duration::from_secs(30))?;
    anyhow::ensure!(clients > 0, "--clients must be at least 1");
    anyhow::ensure!(!give_up.is_zero(), "--give-up-after must be positive");
    let request = Arc::new(http::post_json_request(&addr, path, &[], body));

    let runtime = tokio::runtime::Builder::new_current_thread()
        .enable_all()
        .build()?;
    runtime.block_on(run(
        addr,
        request,
        clients,
        give_up,
        duration,
        final_timeout,
    ))
}

async fn run(
    addr: String,
    request: Arc<Vec<u8>>,
    clients: usize,
    give_up: Duration,
    duration: Duration,
    final_timeout: Duration,
) -> anyhow::Result<()> {
    let tally = SharedTally::default();
    let deadline = tokio::time::Instant::now() + duration;
    let mut tasks = Vec::with_capacity(clients);
    for _ in 0..clients {
        let client = impatient_client(
            addr.clone(),
            Arc::clone(&request),
            give_up,
            Arc::clone(&tally),
        );
        // At the deadline the client future is dropped: its connection closes
        // with whatever request it had in flight.
        tasks.push(tokio::spawn(async move {
            let _ = tokio::time::timeout_at(deadline, client).await;
        }));
    }
    for task in tasks {
        task.await.context("a flood client panicked")?;
    }

    let last = last_client(&addr, &request, final_timeout).await;

    let tally = std::mem::take(&mut *tally.lock().unwrap_or_else(PoisonError::into_inner));
    let answered: u64 = tally.statuses.values().sum();
    let abandoned = tally.sent.saturating_sub(answered + tally.errors);
    let statuses = if tally.statuses.is_empty() {
        "-".to_owned()
    } else {
        tally
            .statuses
            .iter()
            .map(|(status, n)| format!("{status}:{n}"))
            .collect::<Vec<_>>()
            .join(",")
    };
    println!(
        "GIVE_UP clients={clients} duration_s={:.1} give_up_ms={:.0} sent={} answered={answered} \
abandoned={abandoned} errors={} statuses={statuses} first_200_ms={} attempts={} first_status={}",
        duration.as_secs_f64(),
        ms(give_up),
        tally.sent,
        tally.errors,
        last.first_200
            .map_or_else(|| "-".to_owned(), |took| format!("{:.1}", ms(took))),
        last.attempts,
        last.first_status
            .map_or_else(|| "-".to_owned(), |status| status.to_string()),
    );
    Ok(())
}

/// Sends the request over and over; gives each one `give_up` (connecting
/// included), then closes the connection and starts again. Runs until
/// dropped.
async fn impatient_client(
    addr: String,
    request: Arc<Vec<u8>>,
    give_up: Duration,
    tally: SharedTally,
) {
    let mut stream = None;
    let mut buf = Vec::with_capacity(4096);
    loop {
        count(&tally, |tally| tally.sent += 1);
        match tokio::time::timeout(give_up, send(&mut stream, &request, &addr, &mut buf)).await {
            Ok(Ok(Response { status, close })) => {
                count(&tally, |tally| {
                    *tally.statuses.entry(status).or_default() += 1
                });
                if close {
                    stream = None;
                }
            }
            Ok(Err(_)) => {
                count(&tally, |tally| tally.errors += 1);
                stream = None;
                tokio::time::sleep(PAUSE_AFTER_ERROR).await;
            }
            // Given up: dropping the stream closes the connection.
            Err(_) => stream = None,
        }
    }
}

#[derive(Debug, Default)]
struct LastClient {
    first_200: Option<Duration>,
    attempts: u32,
    first_status: Option<u16>,
}

/// One request on a fresh connection, repeated until a 200 or `limit`.
async fn last_client(addr: &str, request: &[u8], limit: Duration) -> LastClient {
    let started = Instant::now();
    let mut outcome = LastClient::default();
    let mut stream = None;
    let mut buf = Vec::with_capacity(4096);
    while started.elapsed() < limit {
        outcome.attempts += 1;
        let left = limit.saturating_sub(started.elapsed());
        let answer = tokio::time::timeout(left, send(&mut stream, request, addr, &mut buf)).await;
        let status = match answer {
            Ok(Ok(Response { status, close })) => {
                if close {
                    stream = None;
                }
                Some(status)
            }
            Ok(Err(_)) | Err(_) => {
                stream = None;
                None
            }
        };
        if outcome.attempts == 1 {
            outcome.first_status = status;
        }
        if status == Some(200) {
            outcome.first_200 = Some(started.elapsed());
            break;
        }
        tokio::time::sleep(PAUSE_AFTER_ERROR).await;
    }
    outcome
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
