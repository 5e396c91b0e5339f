//! `embedded-auth-cli`: wiring only. Parse the arguments, build the
//! [`auth_core::Authenticator`] over the JSON-file store, run one command,
//! print, exit with the command's code.
//!
//! ```sh
//! cargo run -p embedded-auth-cli -- register alice <<< 'tangerine maple orbit 42'
//! TOKEN=$(cargo run -q -p embedded-auth-cli -- login alice <<< 'tangerine maple orbit 42')
//! cargo run -p embedded-auth-cli -- whoami "$TOKEN"
//! cargo run -p embedded-auth-cli -- logout "$TOKEN"
//! ```

use std::io::{self, IsTerminal as _, Write as _};
use std::process::ExitCode;
use std::sync::Arc;

use auth_core::SystemClock;
use clap::Parser as _;
use embedded_auth_cli::cli::{self, Cli, Output};
use embedded_auth_cli::error::CommandError;

// One command at a time: a current-thread runtime. Hashing runs on the
// hasher's own thread and file I/O on Tokio's blocking pool either way.
#[tokio::main(flavor = "current_thread")]
async fn main() -> ExitCode {
    let cli = Cli::parse();
    match execute(&cli).await {
        Ok(output) => {
            // Printing the token may fail (a closed pipe); say so in the exit code.
            let printed = io::stdout().write_all(output.stdout.as_bytes());
            let _ = io::stderr().write_all(output.stderr.as_bytes());
            if printed.is_ok() {
                ExitCode::SUCCESS
            } else {
                ExitCode::FAILURE
            }
        }
        Err(error) => {
            let _ = writeln!(io::stderr(), "error: {}", error.report());
            ExitCode::from(error.exit_code())
        }
    }
}

async fn execute(cli: &Cli) -> Result<Output, CommandError> {
    let auth = cli::authenticator(cli, Arc::new(SystemClock))?;
    let stdin = io::stdin();
    if let Some(prompt) = cli.command.prompt()
        && stdin.is_terminal()
    {
        let _ = write!(io::stderr(), "{prompt}");
    }
    cli::run(&cli.command, &auth, &mut stdin.lock()).await
}
