//! Work done only so that timing tells nothing about an account: the dummy
//! hash an unknown user is verified against, and the padding that brings
//! the verification of a weaker stored hash up to the configured cost.
//!
//! Both run on the hashing threads, inside the job that verifies, never on
//! an async worker.

use password_hash::phc::{Output, PasswordHash as PhcHash, Salt};
use scrypt::Params;

use super::params::scrypt_cost;
use super::{HashError, ScryptParams};

/// A PHC string with the given parameters, a random salt and a random
/// output: verifying against it costs a real verification and never matches.
pub(super) fn dummy_hash(params: Params) -> Result<String, HashError> {
    let mut salt = [0u8; Salt::RECOMMENDED_LENGTH];
    let mut output = [0u8; Params::RECOMMENDED_LEN];
    getrandom::fill(&mut salt).map_err(HashError::failed)?;
    getrandom::fill(&mut output).map_err(HashError::failed)?;
    let hash = PhcHash {
        algorithm: scrypt::phc::ALG_ID,
        version: None,
        params: params.try_into().map_err(HashError::failed)?,
        salt: Some(Salt::new(&salt).map_err(HashError::failed)?),
        hash: Some(Output::new(&output).map_err(HashError::failed)?),
    };
    Ok(hash.to_string())
}

/// The work of one verification with `params`: 128 · r · N · p bytes.
pub(super) fn work_of(params: &Params) -> u128 {
    scrypt_cost(params.log_n(), params.r(), params.p()).map_or(u128::MAX, |(_, work)| work)
}

/// scrypt runs whose work adds up to what one verification at the
/// configured parameters does beyond `done`.
///
/// scrypt's time is close to linear in 128 · r · N · p, so the missing work
/// is cut into runs at the configured r: the whole configured N-blocks as p
/// (never more memory than a configured hash takes), then the rest as one
/// run per set bit of N. A deficit below 256 · r bytes (N = 2) is dropped.
#[derive(Debug, PartialEq, Eq)]
pub(super) struct Padding {
    runs: Vec<ScryptParams>,
}

impl Padding {
    pub(super) fn between(configured: ScryptParams, done: u128) -> Self {
        let unit = 128 * u128::from(configured.r());
        let full = u128::from(configured.work_bytes());
        let blocks = full.saturating_sub(done) / unit;
        let log_n = configured.log_n();
        let mut runs = Vec::new();
        let whole = u32::try_from(blocks >> log_n).unwrap_or(0);
        if whole > 0 {
            runs.extend(ScryptParams::new(log_n, configured.r(), whole).ok());
        }
        for bit in (1..log_n).rev() {
            if blocks & (1 << bit) != 0 {
                runs.extend(ScryptParams::new(bit, configured.r(), 1).ok());
            }
        }
        Self { runs }
    }

    /// Runs the padding and returns its work in bytes (0 if none was needed).
    pub(super) fn run(&self, password: &[u8]) -> u64 {
        let mut work = 0u64;
        for run in &self.runs {
            let Ok(params) = run.to_scrypt() else {
                continue;
            };
            let mut output = [0u8; 32];
            // Only the time matters; black_box keeps the optimiser from
            // deciding the unused result makes the work unnecessary.
            if scrypt::scrypt(password, b"timing padding", &params, &mut output).is_ok() {
                std::hint::black_box(&output);
                work = work.saturating_add(run.work_bytes());
            }
        }
        work
    }

    #[cfg(test)]
    fn work(&self) -> u64 {
        self.runs.iter().map(ScryptParams::work_bytes).sum()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn params(log_n: u8, r: u32, p: u32) -> ScryptParams {
        ScryptParams::new(log_n, r, p).unwrap()
    }

    fn work(log_n: u8, r: u32, p: u32) -> u128 {
        u128::from(params(log_n, r, p).work_bytes())
    }

    #[test]
    fn a_weaker_hash_is_padded_to_exactly_the_configured_work() {
        let configured = params(17, 8, 1);
        for (log_n, r, p) in [(15, 8, 1), (16, 8, 1), (14, 8, 3), (16, 4, 1), (10, 8, 1)] {
            let padding = Padding::between(configured, work(log_n, r, p));
            assert_eq!(
                u128::from(padding.work()) + work(log_n, r, p),
                work(17, 8, 1),
                "ln={log_n},r={r},p={p}"
            );
            assert!(
                padding
                    .runs
                    .iter()
                    .all(|run| run.memory_bytes() <= configured.memory_bytes()),
                "no run takes more memory than a configured hash"
            );
        }
        // ln=15 is a quarter of ln=17: the rest is one ln=16 and one ln=15 run.
        assert_eq!(
            Padding::between(configured, work(15, 8, 1)).runs,
            [params(16, 8, 1), params(15, 8, 1)]
        );
    }

    #[test]
    fn with_p_above_one_whole_configured_blocks_become_p() {
        let configured = params(15, 8, 3);
        let padding = Padding::between(configured, work(15, 8, 1));
        assert_eq!(padding.runs, [params(15, 8, 2)]);
        // Nothing done: one whole configured verification.
        assert_eq!(Padding::between(configured, 0).runs, [configured]);
    }

    #[test]
    fn an_equal_or_stronger_hash_needs_no_padding() {
        let configured = params(6, 8, 1);
        for done in [work(6, 8, 1), work(5, 8, 2), work(7, 8, 1), u128::MAX] {
            let padding = Padding::between(configured, done);
            assert!(padding.runs.is_empty(), "{done}");
            assert_eq!(padding.run(b"pw"), 0);
        }
    }

    #[test]
    fn running_the_padding_reports_its_work() {
        let configured = params(6, 8, 1);
        let padding = Padding::between(configured, work(4, 8, 1));
        assert_eq!(padding.run(b"pw"), 3 * 16 * 1024);
    }
}
