//! The HTTP ceiling reference: a minimal poem hello-world on the same
//! runtime shape as `auth-server` (Tokio multi-thread, one worker per core).
//! Bench-only; it is not a route of the server.
//!
//! Usage: `hello [ADDR]` (default `127.0.0.1:3000`). Runs until killed.

use poem::listener::TcpListener;
use poem::{Route, Server, get, handler};

#[handler]
fn hello() -> &'static str {
    "Hello, World!"
}

fn main() -> anyhow::Result<()> {
    let addr = std::env::args()
        .nth(1)
        .unwrap_or_else(|| "127.0.0.1:3000".to_owned());
    let runtime = tokio::runtime::Builder::new_multi_thread()
        .enable_all()
        .build()?;
    runtime.block_on(async {
        Server::new(TcpListener::bind(addr))
            .run(Route::new().at("/", get(hello)))
            .await
    })?;
    Ok(())
}
