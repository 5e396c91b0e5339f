//! The hash ceiling: how long one scrypt hash takes in-process, with the
//! same code the server uses (`auth_core::PasswordHasher::hash_blocking`).
//!
//! Prints `HASH log_n=.. r=.. p=.. samples=.. median_ms=.. min_ms=.. max_ms=..`
//! (one hash at a time on one thread, after one unmeasured warm-up), and with
//! `--parallel N` also `HASH_PARALLEL threads=N hashes=.. wall_ms=.. per_s=..`:
//! N threads hashing at once, which shows whether cores scale (memory
//! bandwidth is shared).

use std::time::{Duration, Instant};

use auth_bench::args::Args;
use auth_core::{HashConfig, Password, PasswordHasher, ScryptParams};

const USAGE: &str =
    "hash_ceiling [--log-n 17] [--r 8] [--p 1] [--samples 20] [--parallel 0] [--parallel-hashes 4]";

fn main() -> anyhow::Result<()> {
    let args = Args::parse(
        &["log-n", "r", "p", "samples", "parallel", "parallel-hashes"],
        USAGE,
    )?;
    let log_n: u8 = args.parsed("log-n", 17)?;
    let r: u32 = args.parsed("r", 8)?;
    let p: u32 = args.parsed("p", 1)?;
    let samples: usize = args.parsed("samples", 20)?;
    let parallel: usize = args.parsed("parallel", 0)?;
    let parallel_hashes: usize = args.parsed("parallel-hashes", 4)?;
    anyhow::ensure!(samples > 0, "--samples must be at least 1");

    let hasher = PasswordHasher::new(HashConfig {
        params: ScryptParams::new(log_n, r, p)?,
        max_concurrent: 1,
        max_queued: 0,
        ..HashConfig::default()
    })?;
    let password = Password::new("correct horse battery staple");

    hasher.hash_blocking(&password)?;
    let mut times = Vec::with_capacity(samples);
    for _ in 0..samples {
        let start = Instant::now();
        hasher.hash_blocking(&password)?;
        times.push(start.elapsed());
    }
    times.sort();
    let median = if samples % 2 == 1 {
        times[samples / 2]
    } else {
        (times[samples / 2 - 1] + times[samples / 2]) / 2
    };
    println!(
        "HASH log_n={log_n} r={r} p={p} samples={samples} median_ms={:.2} min_ms={:.2} max_ms={:.2}",
        ms(median),
        ms(times[0]),
        ms(times[samples - 1]),
    );

    if parallel > 0 && parallel_hashes > 0 {
        let start = Instant::now();
        std::thread::scope(|scope| {
            let workers: Vec<_> = (0..parallel)
                .map(|_| {
                    scope.spawn(|| {
                        for _ in 0..parallel_hashes {
                            hasher.hash_blocking(&password)?;
                        }
                        Ok::<(), auth_core::HashError>(())
                    })
                })
                .collect();
            for worker in workers {
                worker
                    .join()
                    .map_err(|_| anyhow::anyhow!("a hashing thread panicked"))??;
            }
            Ok::<(), anyhow::Error>(())
        })?;
        let wall = start.elapsed();
        let hashes = parallel * parallel_hashes;
        println!(
            "HASH_PARALLEL threads={parallel} hashes={hashes} wall_ms={:.1} per_s={:.3}",
            ms(wall),
            hashes as f64 / wall.as_secs_f64()
        );
    }
    Ok(())
}

fn ms(duration: Duration) -> f64 {
    duration.as_secs_f64() * 1000.0
}
