//! Data rights (issue #17, docs/PRIVACY.md): parental consent, the audit log.

pub mod audit;
pub mod consent;
pub mod deletion;
pub mod erasure;

use utoipa_axum::{router::OpenApiRouter, routes};

use crate::state::AppState;

pub fn router() -> OpenApiRouter<AppState> {
    OpenApiRouter::new()
        .routes(routes!(consent::get_consent, consent::set_consent))
        .routes(routes!(audit::list))
        .merge(deletion::router())
}
