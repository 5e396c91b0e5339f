//! `GET /health` and `GET /ready`.

use poem_openapi::{ApiResponse, Object, OpenApi, payload::Json};

use super::ApiTags;
use crate::Readiness;
use crate::error::{ApiError, error_chain};

/// Liveness and readiness.
#[derive(Debug)]
pub struct OpsApi<R> {
    /// What `/ready` checks.
    pub readiness: R,
}

/// `{"status": "ok"}`.
#[derive(Debug, Object)]
pub struct StatusBody {
    /// `ok`.
    pub status: String,
}

/// Liveness.
#[derive(Debug, ApiResponse)]
pub enum HealthResponse {
    /// The process runs.
    #[oai(status = 200)]
    Ok(Json<StatusBody>),
}

/// Readiness.
#[derive(Debug, ApiResponse)]
pub enum ReadyResponse {
    /// The database answers.
    #[oai(status = 200)]
    Ok(Json<StatusBody>),
}

crate::operation_errors! {
    /// What `/ready` answers besides `200`. The handler builds its one error
    /// itself, so there is no `500` to declare.
    pub struct ReadyError {
        503 => [not_ready]
            "the database does not answer; probe again after `Retry-After` seconds.",
    }
}

#[OpenApi]
impl<R: Readiness> OpsApi<R> {
    /// Liveness
    ///
    /// `200` while the process runs; no dependency is checked.
    #[oai(
        path = "/health",
        method = "get",
        operation_id = "health",
        tag = "ApiTags::Operations"
    )]
    async fn health(&self) -> HealthResponse {
        HealthResponse::Ok(Json(StatusBody {
            status: "ok".into(),
        }))
    }

    /// Readiness
    ///
    /// `200` when the database answers, `503 not_ready` when it does not.
    #[oai(
        path = "/ready",
        method = "get",
        operation_id = "ready",
        tag = "ApiTags::Operations"
    )]
    async fn ready(&self) -> Result<ReadyResponse, ReadyError> {
        match self.readiness.check().await {
            Ok(()) => Ok(ReadyResponse::Ok(Json(StatusBody {
                status: "ok".into(),
            }))),
            Err(error) => {
                tracing::warn!(error = %error_chain(&error), "not ready");
                Err(ApiError::NotReady.into())
            }
        }
    }
}
