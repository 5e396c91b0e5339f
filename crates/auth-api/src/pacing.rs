//! Pacing refusals: a request refused for load (`503`: hashing saturated,
//! storage down) or by a limit (`429`) is answered after `--refusal-delay`.
//!
//! Without it, a flood whose clients retry at once turns into tens of
//! thousands of refusals a second (measured: 22,000–28,000 `503`s a second
//! from a 1,000-connection login flood, `bench/run.sh` row 6), which take
//! the CPU the hashing threads need, so the logins that were admitted
//! starve. A refused client is told to retry after a second anyway; holding
//! its answer costs a timer, and caps each connection at a few refusals a
//! second.

use std::time::Duration;

use poem::Response;
use poem::http::StatusCode;

/// Holds a `429` or `503` answer for `delay` before it is sent (a step of `edge.rs`).
pub async fn hold_refusal(response: &Response, delay: Duration) {
    let refused = matches!(
        response.status(),
        StatusCode::TOO_MANY_REQUESTS | StatusCode::SERVICE_UNAVAILABLE
    );
    if refused && !delay.is_zero() {
        tokio::time::sleep(delay).await;
    }
}
