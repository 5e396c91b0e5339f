//! `POST /register`.

use auth_core::{Authenticator, Client, EmailAddress, Password, Store, Username};
use poem::web::Data;
use poem_openapi::{ApiResponse, Object, OpenApi, payload::Json};
use uuid::Uuid;

use super::ApiTags;
use super::fields::{NewPassword, NewUsername, Text};
use crate::error::ApiError;

/// Registration.
#[derive(Debug)]
pub struct RegisterApi<S> {
    /// The service.
    pub auth: Authenticator<S>,
}

/// `{"username", "password"}`, the body of `/register`. The lengths are in
/// the schema; the rules it cannot state (the username's alphabet, the
/// password's guessability) are in the field docs.
#[derive(Debug, Object)]
#[oai(example)]
pub struct Registration {
    /// 3–64 letters, digits or `. _ - @ +` (counted after Unicode NFKC
    /// normalisation). Unique regardless of case and of look-alike letters:
    /// `John.Doe` and `john.doe` are one account. A name outside these
    /// rules is `400 invalid_username`.
    pub username: NewUsername,
    /// 15–256 characters, any Unicode including spaces; must not be a common
    /// or easily guessed password and must not contain the username.
    /// Otherwise `400 weak_password` (the message says what to change).
    #[oai(write_only)]
    pub password: NewPassword,
    /// Optional: the account's email address (`local@domain.tld`), for
    /// password resets. Stored unverified; a verification link is mailed
    /// to it. Unique across accounts without regard to case (`409
    /// email_taken`); `400 invalid_email` if it is not an address (or is
    /// longer than 254 characters, the SMTP limit). `null` is as absent.
    #[oai(nullable)]
    pub email: Option<Text>,
}

impl poem_openapi::types::Example for Registration {
    fn example() -> Self {
        Self {
            username: "john.doe".into(),
            password: "correct horse battery staple".into(),
            email: Some(Text::from("john.doe@example.com")),
        }
    }
}

/// `201` body.
#[derive(Debug, Object)]
#[oai(example)]
pub struct RegisteredBody {
    /// Always `User registered successfully`.
    pub message: String,
    /// The new user's id.
    pub user_id: Uuid,
}

impl poem_openapi::types::Example for RegisteredBody {
    fn example() -> Self {
        Self {
            message: "User registered successfully".into(),
            user_id: Uuid::nil(),
        }
    }
}

/// Success of `/register`.
#[derive(Debug, ApiResponse)]
pub enum RegisterResponse {
    /// The user was created.
    #[oai(status = 201)]
    Created(Json<RegisteredBody>),
}

crate::operation_errors! {
    /// What `/register` answers besides `201`: its handler's errors, the
    /// body limits and JSON checks of the middleware, the cross-site check
    /// (a request carrying the `session` cookie), the registration limits
    /// and the hashing queue. Never 401: registration needs no session.
    pub struct RegisterError {
        400 => [invalid_request, invalid_username, weak_password, invalid_email]
            "malformed JSON or a missing or mistyped field; a username or a password \
             that breaks its rules (the message says what to change); an email that \
             is not an address.",
        403 => [cross_site_request],
        408 => [request_timeout],
        409 => [username_taken, email_taken]
            "the name, a case variant of it or a look-alike of it is registered; \
             or another account has the email address.",
        413 => [payload_too_large],
        415 => [unsupported_media_type],
        429 => [too_many_attempts]
            "the registrations of this client address or of all clients are spent; \
             retry after `Retry-After` seconds.",
        500 => [internal_error],
        503 => [server_busy, storage_unavailable]
            "password hashing at capacity, or the database unreachable; \
             retry after `Retry-After` seconds.",
    }
}

#[OpenApi]
impl<S: Store> RegisterApi<S> {
    /// Register a new user
    ///
    /// Creates an account. Errors: `invalid_request` (malformed body),
    /// `invalid_username`, `weak_password` (the message says what to change),
    /// `username_taken` (409, also for case variants of an existing name and
    /// for look-alikes of it, such as `аdmin` with a Cyrillic `а` beside
    /// `admin`: Unicode UTS #39 confusable skeletons are unique too),
    /// `invalid_email`, `email_taken` (409, when `email` is given),
    /// `too_many_attempts` (429 with `Retry-After`: by default 20 registrations
    /// per client address per hour, 6,000 per hour in all; a taken name or a
    /// weak password spends none).
    #[oai(
        path = "/register",
        method = "post",
        operation_id = "register",
        tag = "ApiTags::Auth"
    )]
    async fn register(
        &self,
        body: Json<Registration>,
        client: Data<&Client>,
    ) -> Result<RegisterResponse, RegisterError> {
        let Registration {
            username,
            password,
            email,
        } = body.0;
        let username = Username::parse(username.as_str()).map_err(ApiError::InvalidUsername)?;
        let email = email
            .map(|email| EmailAddress::parse(email.as_str()).map_err(|_| ApiError::InvalidEmail))
            .transpose()?;
        let password = Password::new(password.into_inner());
        let registered = match email {
            Some(email) => {
                self.auth
                    .register_with_email(username, email, password, client.0)
                    .await
            }
            None => self.auth.register(username, password, client.0).await,
        };
        let user =
            registered.map_err(|error| ApiError::from_auth(error, ApiError::Unauthorized))?;
        tracing::info!(user_id = %user.id, "user registered");
        Ok(RegisterResponse::Created(Json(RegisteredBody {
            message: "User registered successfully".into(),
            user_id: *user.id.as_uuid(),
        })))
    }
}
