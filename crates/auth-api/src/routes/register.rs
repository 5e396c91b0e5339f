//! `POST /register`.

use auth_core::{Authenticator, Client, Password, Store, Username};
use poem::web::Data;
use poem_openapi::{ApiResponse, Object, OpenApi, payload::Json};
use uuid::Uuid;

use super::{ApiTags, Credentials};
use crate::error::{ApiError, ErrorResponse};

/// Registration.
#[derive(Debug)]
pub struct RegisterApi<S> {
    /// The service.
    pub auth: Authenticator<S>,
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

#[OpenApi]
impl<S: Store> RegisterApi<S> {
    /// Register a new user
    ///
    /// Creates an account. Errors: `invalid_request` (malformed body),
    /// `invalid_username`, `weak_password` (the message says what to change),
    /// `username_taken` (409, also for case variants of an existing name and
    /// for look-alikes of it, such as `аdmin` with a Cyrillic `а` beside
    /// `admin`: Unicode UTS #39 confusable skeletons are unique too),
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
        body: Json<Credentials>,
        client: Data<&Client>,
    ) -> Result<RegisterResponse, ErrorResponse> {
        let Credentials { username, password } = body.0;
        let username = Username::parse(&username).map_err(ApiError::InvalidUsername)?;
        let user = self
            .auth
            .register(username, Password::new(password), client.0)
            .await
            .map_err(|error| ApiError::from_auth(error, ApiError::Unauthorized))?;
        tracing::info!(user_id = %user.id, "user registered");
        Ok(RegisterResponse::Created(Json(RegisteredBody {
            message: "User registered successfully".into(),
            user_id: *user.id.as_uuid(),
        })))
    }
}
