//! Data rights (issue #17, docs/PRIVACY.md): parental consent, the audit log.

pub mod archive;
pub mod audit;
pub mod consent;
pub mod deletion;
pub mod erasure;
pub mod export;
pub mod jobs;
pub mod retention;

use utoipa_axum::{router::OpenApiRouter, routes};

use crate::state::AppState;

pub fn router() -> OpenApiRouter<AppState> {
    OpenApiRouter::new()
        .routes(routes!(consent::get_consent, consent::set_consent))
        .routes(routes!(audit::list))
        .routes(routes!(export::request_own, export::list_own))
        .routes(routes!(export::request_child))
        .routes(routes!(export::download))
        .merge(deletion::router())
}
