//! Extractors that answer bad input with the contract's error body instead of axum's
//! plain-text rejections.

use axum::{
    extract::{
        FromRequest, FromRequestParts,
        rejection::{JsonRejection, PathRejection, QueryRejection},
    },
    http::StatusCode,
    response::{IntoResponse, Response},
};
use serde::Serialize;

use crate::ApiError;

#[derive(Debug, Clone, Copy, Default, FromRequest)]
#[from_request(via(axum::Json), rejection(ApiError))]
pub struct Json<T>(pub T);

impl<T: Serialize> IntoResponse for Json<T> {
    fn into_response(self) -> Response {
        axum::Json(self.0).into_response()
    }
}

#[derive(Debug, Clone, Copy, Default, FromRequestParts)]
#[from_request(via(axum::extract::Path), rejection(ApiError))]
pub struct Path<T>(pub T);

#[derive(Debug, Clone, Copy, Default, FromRequestParts)]
#[from_request(via(axum::extract::Query), rejection(ApiError))]
pub struct Query<T>(pub T);

impl From<JsonRejection> for ApiError {
    fn from(rejection: JsonRejection) -> Self {
        match rejection {
            JsonRejection::JsonDataError(error) => ApiError::new(
                StatusCode::UNPROCESSABLE_ENTITY,
                "invalid_fields",
                "Certains champs sont manquants ou invalides.",
            )
            .with_details(serde_json::json!({ "body": serde_reason(&error.body_text()) })),
            JsonRejection::JsonSyntaxError(_) => ApiError::bad_request(
                "malformed_json",
                "Le corps de la requête n'est pas un JSON valide.",
            ),
            JsonRejection::MissingJsonContentType(_) => ApiError::new(
                StatusCode::UNSUPPORTED_MEDIA_TYPE,
                "unsupported_media_type",
                "Le corps de la requête doit être du JSON (Content-Type: application/json).",
            ),
            JsonRejection::BytesRejection(error)
                if error.status() == StatusCode::PAYLOAD_TOO_LARGE =>
            {
                payload_too_large()
            }
            _ => ApiError::bad_request("invalid_body", "Le corps de la requête est illisible."),
        }
    }
}

pub fn payload_too_large() -> ApiError {
    ApiError::new(
        StatusCode::PAYLOAD_TOO_LARGE,
        "payload_too_large",
        "Le corps de la requête est trop volumineux.",
    )
}

impl From<PathRejection> for ApiError {
    fn from(_: PathRejection) -> Self {
        ApiError::bad_request("invalid_path", "Un paramètre de l'adresse est invalide.")
    }
}

impl From<QueryRejection> for ApiError {
    fn from(rejection: QueryRejection) -> Self {
        ApiError::bad_request("invalid_query", "Un paramètre de la requête est invalide.")
            .with_details(serde_json::json!({ "query": serde_reason(&rejection.body_text()) }))
    }
}

/// serde's explanation without axum's prefix ("Failed to deserialize the JSON body into
/// the target type: "), and without Rust type names.
fn serde_reason(text: &str) -> String {
    let reason = ["target type: ", "query string: "]
        .iter()
        .find_map(|prefix| text.split_once(prefix).map(|(_, r)| r))
        .unwrap_or(text);
    reason.chars().take(200).collect()
}
