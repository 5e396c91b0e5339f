//! Cold start: polls `GET <path>` on a freshly spawned server in a tight
//! loop (every 200 µs) until it answers 200, and prints
//! `READY ready_ms=<ms since --since>`.
//!
//! `--since` is the wall-clock time the script took just before spawning
//! the server (bash `$EPOCHREALTIME`), so the figure is process spawn to
//! first 200: exec, runtime start, database open, migrations, bind.
//! `--pid` makes it give up at once if that process dies.

use std::io::{Read as _, Write as _};
use std::net::TcpStream;
use std::time::{Duration, Instant, SystemTime, UNIX_EPOCH};

use anyhow::{Context as _, bail};
use auth_bench::args::Args;

const USAGE: &str = "wait_ready --addr 127.0.0.1:PORT [--path /health] [--since EPOCHREALTIME] [--pid PID] [--timeout 60s]";

fn main() -> anyhow::Result<()> {
    let args = Args::parse(&["addr", "path", "since", "pid", "timeout"], USAGE)?;
    let addr = args.get("addr").context("--addr is required")?.to_owned();
    let path = args.get("path").unwrap_or("/health");
    let timeout = args.duration("timeout", Duration::from_secs(60))?;
    let since = match args.get("since") {
        Some(raw) => parse_epoch(raw)?,
        None => SystemTime::now().duration_since(UNIX_EPOCH)?,
    };
    let pid: Option<u32> = args.get("pid").map(str::parse).transpose()?;
    let request = format!("GET {path} HTTP/1.1\r\nHost: {addr}\r\nConnection: close\r\n\r\n");

    let started = Instant::now();
    loop {
        if probe(&addr, request.as_bytes()) == Some(200) {
            break;
        }
        if let Some(pid) = pid
            && !alive(pid)
        {
            bail!("process {pid} exited before answering 200 on {path}");
        }
        if started.elapsed() > timeout {
            bail!("no 200 from http://{addr}{path} within {timeout:?}");
        }
        std::thread::sleep(Duration::from_micros(200));
    }
    let now = SystemTime::now().duration_since(UNIX_EPOCH)?;
    let elapsed = now.saturating_sub(since);
    println!("READY ready_ms={:.1}", elapsed.as_secs_f64() * 1000.0);
    Ok(())
}

/// The status code of one request, or `None` if the server is not there yet.
fn probe(addr: &str, request: &[u8]) -> Option<u16> {
    let mut stream = TcpStream::connect(addr).ok()?;
    stream.set_read_timeout(Some(Duration::from_secs(5))).ok()?;
    stream.write_all(request).ok()?;
    let mut head = Vec::new();
    let mut chunk = [0u8; 512];
    while !head.windows(2).any(|window| window == b"\r\n") {
        let read = stream.read(&mut chunk).ok()?;
        if read == 0 {
            return None;
        }
        head.extend_from_slice(&chunk[..read]);
    }
    std::str::from_utf8(&head)
        .ok()?
        .split(' ')
        .nth(1)?
        .parse()
        .ok()
}

/// Whether `pid` exists and is not a zombie.
fn alive(pid: u32) -> bool {
    match std::fs::read_to_string(format!("/proc/{pid}/stat")) {
        // The state follows the parenthesised command name.
        Ok(stat) => stat
            .rsplit_once(") ")
            .is_some_and(|(_, rest)| !rest.starts_with('Z') && !rest.starts_with('X')),
        Err(_) => false,
    }
}

/// `1700000000.123456` (a comma works too: some locales print one).
fn parse_epoch(raw: &str) -> anyhow::Result<Duration> {
    let raw = raw.replace(',', ".");
    let (seconds, fraction) = raw.split_once('.').unwrap_or((&raw, "0"));
    let seconds: u64 = seconds.parse().context("--since: seconds")?;
    let digits = fraction.len().min(9);
    let mut nanos: u32 = fraction[..digits].parse().context("--since: fraction")?;
    for _ in digits..9 {
        nanos *= 10;
    }
    Ok(Duration::new(seconds, nanos))
}
