//! The API describes itself: `/api/openapi.json`, and an interactive page at `/api/docs`
//! whose assets are compiled into the binary (it works offline).

use axum::{Router, http::HeaderValue};
use tower_http::set_header::SetResponseHeaderLayer;
use utoipa::{
    Modify, OpenApi,
    openapi::security::{HttpAuthScheme, HttpBuilder, SecurityScheme},
};
use utoipa_axum::router::OpenApiRouter;
use utoipa_swagger_ui::SwaggerUi;

use crate::state::AppState;

#[derive(OpenApi)]
#[openapi(
    info(
        title = "Nexus Réussite API",
        description = "REST API of the Nexus Réussite NSI platform. Every operation states the roles allowed to call it; errors use the body `{success:false, error, code, details?}`.",
    ),
    modifiers(&BearerAuth),
    tags(
        (name = "auth", description = "Sign-up, sign-in, tokens, password reset"),
        (name = "me", description = "The signed-in user's own account and family links"),
        (name = "users", description = "Account administration (admins)"),
        (name = "classes", description = "Classes, join codes and rosters"),
        (name = "courses", description = "Courses: drafts, publication, assignment to classes"),
        (name = "progress", description = "Progress per course and section"),
        (name = "assessments", description = "Quizzes, TPs, exams and projects; attempts and grading"),
        (name = "dashboard", description = "Dashboards per role"),
        (name = "notifications", description = "Notifications and their read state"),
        (name = "privacy", description = "Consent, data export, deletion, audit log (RGPD)"),
        (name = "chat", description = "Conversations and messages (real-time delivery: the hub)"),
        (name = "exports", description = "Grades as CSV and XLSX files for the school gradebook"),
    )
)]
struct ApiDoc;

struct BearerAuth;

impl Modify for BearerAuth {
    fn modify(&self, openapi: &mut utoipa::openapi::OpenApi) {
        let components = openapi.components.get_or_insert_with(Default::default);
        components.add_security_scheme(
            "bearer",
            SecurityScheme::Http(
                HttpBuilder::new()
                    .scheme(HttpAuthScheme::Bearer)
                    .bearer_format("JWT")
                    .build(),
            ),
        );
    }
}

/// Every feature's routes, with their OpenAPI description.
pub fn api_router() -> OpenApiRouter<AppState> {
    OpenApiRouter::with_openapi(ApiDoc::openapi())
        .merge(crate::auth::router())
        .merge(crate::me::router())
        .merge(crate::users::router())
        .merge(crate::classes::router())
        .merge(crate::courses::router())
        .merge(crate::progress::router())
        .merge(crate::assessments::router())
        .merge(crate::dashboard::router())
        .merge(crate::notifications::router())
        .merge(crate::chat::router())
        .merge(crate::exports::router())
        .merge(crate::roster::router())
        .merge(crate::digest::router())
        .merge(crate::report::router())
        .merge(crate::privacy::router())
}

/// Splits the routes from their description, with the error responses shared by
/// whole kinds of operations added once here instead of on every handler:
/// - an operation behind the bearer token may answer 401 (no or bad token) and 429
///   (the per-user request limit);
/// - an operation with a request body may answer 400 (unreadable body), 413 (too
///   large) and 422 (a field refused, with `details`), and 415 when the body is JSON.
///
/// A handler lists only the errors particular to it (403, 404, 409…) and any status
/// it describes itself (a response it declares is kept as it is).
pub fn split<S: Clone + Send + Sync + 'static>(
    router: OpenApiRouter<S>,
) -> (Router<S>, utoipa::openapi::OpenApi) {
    let (router, mut spec) = router.split_for_parts();
    add_common_errors(&mut spec);
    (router, spec)
}

fn add_common_errors(spec: &mut utoipa::openapi::OpenApi) {
    use utoipa::openapi::{ContentBuilder, Ref, ResponseBuilder};
    let error = || {
        ResponseBuilder::new()
            .content(
                "application/json",
                ContentBuilder::new()
                    .schema(Some(Ref::from_schema_name("ErrorBody")))
                    .build(),
            )
            .build()
    };
    for item in spec.paths.paths.values_mut() {
        for operation in [
            &mut item.get,
            &mut item.put,
            &mut item.post,
            &mut item.delete,
            &mut item.patch,
        ]
        .into_iter()
        .flatten()
        {
            let mut statuses = Vec::new();
            if operation.security.as_ref().is_some_and(|s| !s.is_empty()) {
                statuses.extend(["401", "429"]);
            }
            if let Some(utoipa::openapi::RefOr::T(body)) = &operation.request_body {
                statuses.extend(["400", "413", "422"]);
                if body.content.contains_key("application/json") {
                    statuses.push("415");
                }
            }
            for status in statuses {
                operation
                    .responses
                    .responses
                    .entry(status.to_string())
                    .or_insert_with(|| error().into());
            }
        }
    }
}

pub fn docs_router(spec: utoipa::openapi::OpenApi) -> Router {
    let ui: Router = SwaggerUi::new("/api/docs")
        .url("/api/openapi.json", spec)
        .into();
    // The documentation page runs its own (bundled) scripts: a CSP of its own, looser than
    // the API's `default-src 'none'`, still allowing nothing from elsewhere.
    ui.layer(SetResponseHeaderLayer::overriding(
        axum::http::header::CONTENT_SECURITY_POLICY,
        HeaderValue::from_static(
            "default-src 'self'; img-src 'self' data:; style-src 'self' 'unsafe-inline'; script-src 'self' 'unsafe-inline'; frame-ancestors 'none'",
        ),
    ))
}
