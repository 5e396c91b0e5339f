//! `auth-server`: parse the flags, then run what [`auth_api::app::Root`]
//! builds (the server, or an admin subcommand). Configuration mistakes exit
//! with code 2 before anything binds, as clap's own usage errors do.

use std::process::ExitCode;

use anyhow::Context as _;
use auth_api::app::{Root, StartError};
use auth_api::config::{Cli, Command, SecretKeyCommand};
use auth_api::telemetry;
use clap::Parser as _;

fn main() -> ExitCode {
    let cli = Cli::parse();
    let command = cli.command.unwrap_or(Command::Serve);
    if let Command::Openapi { admin } = command {
        if admin {
            println!("{}", auth_api::admin_openapi_json());
        } else {
            println!("{}", auth_api::openapi_json());
        }
        return ExitCode::SUCCESS;
    }
    // Before the root: adding the first key of a PostgreSQL deployment
    // must work while the file the root requires does not exist yet.
    if let Command::SecretKey(command) = &command {
        return secret_key(&cli.config, command);
    }
    let root = match Root::new(cli.config) {
        Ok(root) => root,
        Err(error) => return fail(&error.into()),
    };
    let outcome = match command {
        Command::Openapi { .. } | Command::Serve => serve(&root),
        Command::ImportFlask(args) => {
            auth_api::admin::import_flask(&root, &args).map_err(Into::into)
        }
        Command::User(command) => auth_api::admin::user(&root, command).map_err(Into::into),
        Command::AdminKey(command) => {
            auth_api::admin::admin_key(&root, &command).map_err(Into::into)
        }
        Command::SecretKey(_) => Ok(()),
    };
    match outcome {
        Ok(()) => ExitCode::SUCCESS,
        Err(error) => fail(&error),
    }
}

/// `auth-server secret-key add`: appends a key, prints its id.
fn secret_key(config: &auth_api::config::Config, command: &SecretKeyCommand) -> ExitCode {
    let SecretKeyCommand::Add { id } = command;
    let file = auth_store_sea::Backend::of_url(&config.database_url)
        .map_err(anyhow::Error::from)
        .and_then(|backend| {
            // The flag, or the SQLite default beside the database.
            auth_api::keys::key_file(
                config.keys.secret_key_file.as_deref(),
                backend,
                &config.database_url,
            )
            .map_err(anyhow::Error::from)
        })
        .and_then(|file| file.context("an in-memory database keeps no key file"));
    match file.and_then(|file| {
        let id = auth_api::keys::add(&file, id.as_deref())?;
        Ok((file, id))
    }) {
        Ok((file, id)) => {
            println!(
                "added key {id} to {} (it seals from each instance's next start)",
                file.display()
            );
            ExitCode::SUCCESS
        }
        Err(error) => fail(&error),
    }
}

/// Prints the error with its causes; code 2 for a usage error, 1 otherwise.
fn fail(error: &anyhow::Error) -> ExitCode {
    eprintln!("error: {error:#}");
    let usage = error.chain().any(|cause| {
        cause
            .downcast_ref::<StartError>()
            .is_some_and(StartError::is_usage)
            || cause
                .downcast_ref::<auth_api::admin::AdminError>()
                .is_some_and(auth_api::admin::AdminError::is_usage)
    });
    if usage {
        ExitCode::from(2)
    } else {
        ExitCode::FAILURE
    }
}

fn serve(root: &Root) -> anyhow::Result<()> {
    let runtime = tokio::runtime::Builder::new_multi_thread()
        .enable_all()
        .build()
        .context("starting the Tokio runtime")?;
    runtime.block_on(async {
        let config = root.config();
        telemetry::init(config.log_format, &config.log);
        let app = root.start().await?;
        let listener = tokio::net::TcpListener::bind(config.bind)
            .await
            .with_context(|| format!("binding {}", config.bind))?;
        let admin_listener = match config.admin_bind {
            Some(address) => Some(
                tokio::net::TcpListener::bind(address)
                    .await
                    .with_context(|| format!("binding {address} (--admin-bind)"))?,
            ),
            None => None,
        };
        tracing::info!(bind = %config.bind, backend = %app.backend(), "auth-server listening");
        // One signal stops both listeners.
        let (stop, stopped) = tokio::sync::watch::channel(false);
        tokio::spawn(async move {
            shutdown_signal().await;
            let _ = stop.send(true);
        });
        let until_stopped = |mut stopped: tokio::sync::watch::Receiver<bool>| async move {
            let _ = stopped.wait_for(|stop| *stop).await;
        };
        let public = app.serve(listener, until_stopped(stopped.clone()));
        let admin = async {
            match (admin_listener, config.admin_bind) {
                (Some(listener), Some(address)) => {
                    tracing::info!(admin_bind = %address, "admin API listening");
                    app.serve_admin(listener, until_stopped(stopped.clone()))
                        .await
                        .with_context(|| format!("serving the admin API on {address}"))
                }
                _ => Ok(()),
            }
        };
        let (public, admin) = tokio::join!(public, admin);
        public.with_context(|| format!("serving on {}", config.bind))?;
        admin?;
        tracing::info!("stopped accepting; in-flight requests finished; closing the database pool");
        app.shutdown().await;
        Ok(())
    })
}

/// Resolves on SIGINT (Ctrl-C) or SIGTERM.
async fn shutdown_signal() {
    let interrupt = async {
        if let Err(error) = tokio::signal::ctrl_c().await {
            tracing::error!(%error, "cannot listen for SIGINT");
            std::future::pending::<()>().await;
        }
    };
    #[cfg(unix)]
    let terminate = async {
        match tokio::signal::unix::signal(tokio::signal::unix::SignalKind::terminate()) {
            Ok(mut signal) => {
                signal.recv().await;
            }
            Err(error) => {
                tracing::error!(%error, "cannot listen for SIGTERM");
                std::future::pending::<()>().await;
            }
        }
    };
    #[cfg(not(unix))]
    let terminate = std::future::pending::<()>();
    tokio::select! {
        () = interrupt => tracing::info!("SIGINT received, shutting down"),
        () = terminate => tracing::info!("SIGTERM received, shutting down"),
    }
}
