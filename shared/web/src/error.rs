//! The contract's error body: `{"success": false, "error", "code", "details"?}` with the
//! right status. Internal failures answer a generic body; their cause travels to the
//! logging middleware in a response extension and is logged once, with the request id.

use std::borrow::Cow;

use axum::{
    http::{HeaderValue, StatusCode, header},
    response::{IntoResponse, Response},
};
use serde::Serialize;
use serde_json::Value;

#[derive(Debug, Serialize, utoipa::ToSchema)]
pub struct ErrorBody {
    /// Always `false`.
    pub success: bool,
    /// A message for a person, in French.
    pub error: String,
    /// A stable machine-readable code.
    pub code: String,
    /// Per-field details, when there are any.
    #[serde(skip_serializing_if = "Option::is_none")]
    #[schema(value_type = Option<Object>)]
    pub details: Option<Value>,
}

#[derive(Debug)]
pub struct ApiError {
    pub status: StatusCode,
    pub code: &'static str,
    pub message: Cow<'static, str>,
    pub details: Option<Value>,
    pub retry_after: Option<u64>,
    /// The cause of a 5xx, for the log only.
    pub cause: Option<anyhow::Error>,
}

/// Carried in the response extensions so the logging middleware can report the cause.
#[derive(Clone, Debug)]
pub struct InternalCause(pub String);

impl ApiError {
    pub fn new(
        status: StatusCode,
        code: &'static str,
        message: impl Into<Cow<'static, str>>,
    ) -> Self {
        Self {
            status,
            code,
            message: message.into(),
            details: None,
            retry_after: None,
            cause: None,
        }
    }

    pub fn with_details(mut self, details: Value) -> Self {
        self.details = Some(details);
        self
    }

    pub fn bad_request(code: &'static str, message: impl Into<Cow<'static, str>>) -> Self {
        Self::new(StatusCode::BAD_REQUEST, code, message)
    }

    pub fn unauthorized(code: &'static str, message: impl Into<Cow<'static, str>>) -> Self {
        Self::new(StatusCode::UNAUTHORIZED, code, message)
    }

    pub fn forbidden() -> Self {
        Self::new(
            StatusCode::FORBIDDEN,
            "forbidden",
            "Vous n'avez pas accès à cette ressource.",
        )
    }

    pub fn not_found(message: impl Into<Cow<'static, str>>) -> Self {
        Self::new(StatusCode::NOT_FOUND, "not_found", message)
    }

    pub fn conflict(code: &'static str, message: impl Into<Cow<'static, str>>) -> Self {
        Self::new(StatusCode::CONFLICT, code, message)
    }

    /// 422 with a message per invalid field.
    pub fn invalid_fields(fields: Vec<(&'static str, Cow<'static, str>)>) -> Self {
        let details: serde_json::Map<String, Value> = fields
            .into_iter()
            .map(|(field, message)| (field.to_owned(), Value::String(message.into_owned())))
            .collect();
        Self::new(
            StatusCode::UNPROCESSABLE_ENTITY,
            "invalid_fields",
            "Certains champs sont invalides.",
        )
        .with_details(Value::Object(details))
    }

    pub fn too_many_requests(retry_after_secs: u64) -> Self {
        let mut error = Self::new(
            StatusCode::TOO_MANY_REQUESTS,
            "rate_limited",
            "Trop de requêtes. Réessayez dans quelques instants.",
        );
        error.retry_after = Some(retry_after_secs.max(1));
        error
    }

    pub fn unavailable(dependency: &'static str) -> Self {
        Self::new(
            StatusCode::SERVICE_UNAVAILABLE,
            "service_unavailable",
            "Le service est momentanément indisponible. Réessayez dans quelques instants.",
        )
        .with_details(serde_json::json!({ "dependency": dependency }))
    }

    pub fn internal(cause: anyhow::Error) -> Self {
        let mut error = Self::new(
            StatusCode::INTERNAL_SERVER_ERROR,
            "internal_error",
            "Une erreur interne est survenue.",
        );
        error.cause = Some(cause);
        error
    }

    pub fn body(&self) -> ErrorBody {
        ErrorBody {
            success: false,
            error: self.message.to_string(),
            code: self.code.to_owned(),
            details: self.details.clone(),
        }
    }
}

impl IntoResponse for ApiError {
    fn into_response(self) -> Response {
        let mut response = (self.status, axum::Json(self.body())).into_response();
        if let Some(seconds) = self.retry_after {
            response
                .headers_mut()
                .insert(header::RETRY_AFTER, HeaderValue::from(seconds));
        }
        if let Some(cause) = self.cause {
            response
                .extensions_mut()
                .insert(InternalCause(format!("{cause:#}")));
        }
        response
    }
}

impl From<anyhow::Error> for ApiError {
    fn from(error: anyhow::Error) -> Self {
        match error.downcast::<sqlx::Error>() {
            Ok(sql) => sql.into(),
            Err(other) => Self::internal(other),
        }
    }
}

impl From<sqlx::Error> for ApiError {
    fn from(error: sqlx::Error) -> Self {
        match &error {
            sqlx::Error::PoolTimedOut | sqlx::Error::Io(_) | sqlx::Error::PoolClosed => {
                tracing::error!(error = %error, "Postgres unavailable");
                Self::unavailable("postgres")
            }
            // What a request referred to was deleted by another one in the meantime: the
            // handlers hold the rows they decide on, and this is the net under them.
            sqlx::Error::Database(db) if db.is_foreign_key_violation() => {
                tracing::info!(error = %error, "a referenced row went away during the request");
                Self::conflict(
                    "changed_meanwhile",
                    "Ces données ont changé pendant votre demande : rechargez la page et réessayez.",
                )
            }
            _ => Self::internal(error.into()),
        }
    }
}

/// The name of the unique constraint a query violated, if that is what failed: the one
/// place where unique violations become 409s.
pub fn unique_violation(error: &sqlx::Error) -> Option<&str> {
    match error {
        sqlx::Error::Database(db) if db.is_unique_violation() => db.constraint(),
        _ => None,
    }
}

pub type ApiResult<T> = Result<T, ApiError>;
