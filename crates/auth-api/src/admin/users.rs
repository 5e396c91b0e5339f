//! `auth-server user create | set-password | list | revoke-sessions |
//! clear-backoff | disable | enable | delete`. The last five are the admin
//! API's use cases, recorded as events by the actor `operator`.
//!
//! Passwords come from standard input, one line, never from arguments: an
//! argument stays in shell history and shows in `ps` to every local user.
//! Output (one line per action, a tab-separated table for `list`):
//!
//! ```text
//! $ printf '%s\n' 'correct horse battery staple' | auth-server user create alice
//! created user alice (id 0193…)
//! $ printf '%s\n' 'another long passphrase' | auth-server user set-password alice
//! password of alice changed; all of their sessions were ended
//! $ auth-server user list          # columns separated by tabs
//! id  username  created_at  password_hash  flask_id
//! 0193…  alice  2026-11-24T10:00:00Z  scrypt  -
//! 0193…  bob  2026-11-24T10:00:00Z  werkzeug  2
//! $ auth-server user revoke-sessions alice
//! ended 1 session of alice
//! $ auth-server user clear-backoff alice
//! cleared 6 failed logins of alice
//! $ auth-server user disable alice
//! disabled alice; ended 1 session
//! $ auth-server user enable alice
//! enabled alice
//! $ auth-server user delete alice
//! deleted alice and everything tied to the account
//! ```

use std::io::{BufRead, IsTerminal as _, Write};

use auth_core::{
    Actor, Authenticator, Client, HashKind, Password, PasswordHash, User, UserRepository as _,
    Username,
};
use auth_store_sea::{SeaStore, UserListing};

use super::AdminError;
use crate::app::Root;
use crate::config::UserCommand;

/// Users fetched per query by `user list`.
const LIST_PAGE: u64 = 500;

/// Runs one `user` command against the database of `config`, reading a
/// password from standard input where one is needed.
///
/// # Errors
/// [`AdminError`] naming what failed.
pub async fn run(root: &Root, command: UserCommand) -> Result<(), AdminError> {
    let store = root.store(true).await?;
    let stdin = std::io::stdin();
    let prompt = stdin.is_terminal();
    let outcome = {
        let mut input = stdin.lock();
        let mut output = std::io::stdout().lock();
        match &command {
            // Listing needs no hasher: skip computing the dummy hash.
            UserCommand::List { after, limit } => {
                list(&store, after.as_deref(), *limit, &mut output).await
            }
            _ => {
                let auth = root.authenticator(store.clone())?;
                execute(&auth, command, &mut input, prompt, &mut output).await
            }
        }
    };
    store.close().await;
    outcome
}

/// Runs a `user` command other than `list` (which needs only the store).
///
/// # Errors
/// [`AdminError`] naming what failed.
pub async fn execute(
    auth: &Authenticator<SeaStore>,
    command: UserCommand,
    input: &mut dyn BufRead,
    prompt: bool,
    output: &mut dyn Write,
) -> Result<(), AdminError> {
    let line = match command {
        UserCommand::Create { username } => {
            let name = parse(&username)?;
            let password = read_password(input, prompt, &username)?;
            let user = auth
                .create_user(name, password)
                .await
                .map_err(|error| AdminError::from_auth(error, &username))?;
            format!("created user {} (id {})", user.username.as_str(), user.id)
        }
        UserCommand::SetPassword { username } => {
            let user = find(auth, &username).await?;
            let password = read_password(input, prompt, &username)?;
            // Ends every session too, so a stolen one does not outlive the reset.
            auth.set_password(user.id, password)
                .await
                .map_err(|error| AdminError::from_auth(error, &username))?;
            format!(
                "password of {} changed; all of their sessions were ended",
                user.username.as_str()
            )
        }
        UserCommand::RevokeSessions { username } => {
            let user = find(auth, &username).await?;
            let sessions = auth
                .revoke_user_sessions(user.id, &Actor::operator(), &Client::default())
                .await
                .map_err(|error| AdminError::from_auth(error, &username))?;
            format!(
                "ended {} of {}",
                plural(sessions, "session"),
                user.username.as_str()
            )
        }
        UserCommand::ClearBackoff { username } => {
            let user = find(auth, &username).await?;
            let cleared = auth
                .clear_user_backoff(user.id, &Actor::operator(), &Client::default())
                .await
                .map_err(|error| AdminError::from_auth(error, &username))?;
            format!(
                "cleared {} of {}",
                plural(cleared, "failed login"),
                user.username.as_str()
            )
        }
        UserCommand::Disable { username } => {
            let user = find(auth, &username).await?;
            let (_, sessions) = auth
                .disable_user(user.id, &Actor::operator(), &Client::default())
                .await
                .map_err(|error| AdminError::from_auth(error, &username))?;
            format!(
                "disabled {}; ended {}",
                user.username.as_str(),
                plural(sessions, "session")
            )
        }
        UserCommand::Enable { username } => {
            let user = find(auth, &username).await?;
            auth.enable_user(user.id, &Actor::operator(), &Client::default())
                .await
                .map_err(|error| AdminError::from_auth(error, &username))?;
            format!("enabled {}", user.username.as_str())
        }
        UserCommand::Delete { username } => {
            let user = find(auth, &username).await?;
            auth.remove_user(user.id, &Actor::operator(), &Client::default())
                .await
                .map_err(|error| AdminError::from_auth(error, &username))?;
            format!(
                "deleted {} and everything tied to the account",
                user.username.as_str()
            )
        }
        UserCommand::List { after, limit } => {
            return list(auth.store(), after.as_deref(), limit, output).await;
        }
    };
    writeln!(output, "{line}").map_err(AdminError::Output)
}

/// `user list`: a header, then one tab-separated line per user, by
/// canonical name, fetched a page at a time.
///
/// # Errors
/// [`AdminError::Storage`], [`AdminError::Output`].
pub async fn list(
    store: &SeaStore,
    after: Option<&str>,
    limit: Option<u64>,
    output: &mut dyn Write,
) -> Result<(), AdminError> {
    // Paging is by canonical key: accept a name as typed.
    let mut cursor = match after {
        Some(name) => Some(parse(name)?.canonical().to_owned()),
        None => None,
    };
    let mut remaining = limit.unwrap_or(u64::MAX);
    writeln!(output, "id\tusername\tcreated_at\tpassword_hash\tflask_id")
        .map_err(AdminError::Output)?;
    while remaining > 0 {
        let wanted = remaining.min(LIST_PAGE);
        let page = store
            .list_users(cursor.as_deref(), wanted)
            .await
            .map_err(AdminError::Storage)?;
        for listing in &page {
            writeln!(output, "{}", row(listing)).map_err(AdminError::Output)?;
        }
        let got = page.len() as u64;
        remaining = remaining.saturating_sub(got);
        match page.last() {
            Some(last) if got == wanted => {
                cursor = Some(last.user.username.canonical().to_owned());
            }
            _ => break,
        }
    }
    Ok(())
}

fn row(listing: &UserListing) -> String {
    let user = &listing.user;
    format!(
        "{}\t{}\t{}\t{}\t{}",
        user.id,
        user.username.as_str(),
        user.created_at
            .to_rfc3339_opts(chrono::SecondsFormat::Secs, true),
        hash_kind(&user.password_hash),
        listing
            .flask_id
            .map_or_else(|| "-".to_owned(), |id| id.to_string())
    )
}

/// What kind of hash a user has, never the hash: `scrypt` (ours),
/// `werkzeug` (imported from Flask; replaced at the next login) or `other`.
fn hash_kind(hash: &PasswordHash) -> &'static str {
    match hash.kind() {
        HashKind::Scrypt => "scrypt",
        HashKind::Werkzeug => "werkzeug",
        HashKind::Unknown => "other",
    }
}

fn parse(username: &str) -> Result<Username, AdminError> {
    Username::parse(username).map_err(|reason| AdminError::InvalidUsername {
        name: username.to_owned(),
        reason,
    })
}

async fn find(auth: &Authenticator<SeaStore>, username: &str) -> Result<User, AdminError> {
    let name =
        Username::parse(username).map_err(|_| AdminError::UnknownUser(username.to_owned()))?;
    auth.store()
        .find_user_by_username(&name)
        .await
        .map_err(AdminError::Storage)?
        .ok_or_else(|| AdminError::UnknownUser(username.to_owned()))
}

/// Reads one line: the password, without its line ending (spaces are part
/// of it). Prompts on standard error when standard input is a terminal
/// (the typed password is shown: prefer a pipe from a password manager).
fn read_password(
    input: &mut dyn BufRead,
    prompt: bool,
    username: &str,
) -> Result<Password, AdminError> {
    if prompt {
        eprint!("New password for {username} (one line; it is shown as typed): ");
    }
    let mut line = String::new();
    input
        .read_line(&mut line)
        .map_err(AdminError::ReadPassword)?;
    let password = line
        .strip_suffix('\n')
        .map(|rest| rest.strip_suffix('\r').unwrap_or(rest))
        .unwrap_or(&line);
    if password.is_empty() {
        return Err(AdminError::NoPassword);
    }
    let password = Password::new(password);
    // `line` held the secret too: Password zeroises its own copy only.
    line.clear();
    line.shrink_to_fit();
    Ok(password)
}

fn plural(count: u64, noun: &str) -> String {
    if count == 1 {
        format!("1 {noun}")
    } else {
        format!("{count} {noun}s")
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn read(input: &str) -> Result<String, AdminError> {
        read_password(&mut input.as_bytes(), false, "alice").map(|p| p.expose().to_owned())
    }

    #[test]
    fn the_password_is_one_line_without_its_ending_and_keeps_spaces() {
        assert_eq!(read("  two spaces  \n").unwrap(), "  two spaces  ");
        assert_eq!(
            read("windows line\r\nsecond line\n").unwrap(),
            "windows line"
        );
        assert_eq!(read("no newline at all").unwrap(), "no newline at all");
    }

    #[test]
    fn an_empty_line_or_no_input_is_refused() {
        assert!(matches!(read(""), Err(AdminError::NoPassword)));
        assert!(matches!(read("\n"), Err(AdminError::NoPassword)));
        assert!(matches!(read("\r\n"), Err(AdminError::NoPassword)));
    }

    #[test]
    fn hash_kinds_never_show_the_hash() {
        assert_eq!(
            hash_kind(&PasswordHash::from_stored(
                "$scrypt$ln=4,r=8,p=1$c2FsdA$aGFzaA"
            )),
            "scrypt"
        );
        assert_eq!(
            hash_kind(&PasswordHash::from_stored("pbkdf2:sha256:600000$s$00")),
            "werkzeug"
        );
        assert_eq!(hash_kind(&PasswordHash::from_stored("hunter2")), "other");
    }
}
