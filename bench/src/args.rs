//! `--key value` arguments without a CLI framework.

use std::collections::HashMap;
use std::time::Duration;

use anyhow::{Context as _, bail};

/// Parsed `--key value` pairs; a key may repeat (`all`).
#[derive(Debug, Default)]
pub struct Args {
    values: HashMap<String, Vec<String>>,
}

impl Args {
    /// Parses `std::env::args()`, accepting only the keys in `known`.
    ///
    /// # Errors
    /// An unknown key, or a key without a value.
    pub fn parse(known: &[&str], usage: &str) -> anyhow::Result<Self> {
        let mut values: HashMap<String, Vec<String>> = HashMap::new();
        let mut args = std::env::args().skip(1);
        while let Some(arg) = args.next() {
            if arg == "-h" || arg == "--help" {
                println!("{usage}");
                std::process::exit(0);
            }
            let Some(key) = arg.strip_prefix("--") else {
                bail!("unexpected argument {arg:?}\n{usage}");
            };
            if !known.contains(&key) {
                bail!("unknown option --{key}\n{usage}");
            }
            let value = args
                .next()
                .with_context(|| format!("--{key} needs a value\n{usage}"))?;
            values.entry(key.to_owned()).or_default().push(value);
        }
        Ok(Self { values })
    }

    /// The last value given for `key`.
    pub fn get(&self, key: &str) -> Option<&str> {
        self.values
            .get(key)
            .and_then(|values| values.last())
            .map(String::as_str)
    }

    /// Every value given for `key`, in order.
    pub fn all(&self, key: &str) -> &[String] {
        self.values.get(key).map_or(&[], Vec::as_slice)
    }

    /// The value of `key` parsed as `T`, or `default`.
    ///
    /// # Errors
    /// A value that does not parse.
    pub fn parsed<T>(&self, key: &str, default: T) -> anyhow::Result<T>
    where
        T: std::str::FromStr,
        T::Err: std::fmt::Display,
    {
        match self.get(key) {
            None => Ok(default),
            Some(raw) => raw
                .parse()
                .map_err(|error| anyhow::anyhow!("--{key} {raw:?}: {error}")),
        }
    }

    /// The value of `key` as a duration (`10s`, `500ms`, `2m` or plain seconds), or `default`.
    ///
    /// # Errors
    /// A value that does not parse.
    pub fn duration(&self, key: &str, default: Duration) -> anyhow::Result<Duration> {
        match self.get(key) {
            None => Ok(default),
            Some(raw) => parse_duration(raw).with_context(|| format!("--{key} {raw:?}")),
        }
    }
}

/// `10s`, `500ms`, `2m`, `1.5` (seconds).
///
/// # Errors
/// Anything else.
pub fn parse_duration(raw: &str) -> anyhow::Result<Duration> {
    let raw = raw.trim();
    let (number, scale) = if let Some(number) = raw.strip_suffix("ms") {
        (number, 0.001)
    } else if let Some(number) = raw.strip_suffix('s') {
        (number, 1.0)
    } else if let Some(number) = raw.strip_suffix('m') {
        (number, 60.0)
    } else {
        (raw, 1.0)
    };
    let value: f64 = number.trim().parse().context("not a duration")?;
    if !value.is_finite() || value < 0.0 {
        bail!("not a duration");
    }
    Ok(Duration::from_secs_f64(value * scale))
}
