//! The middleware stack every service puts around its router.

use std::{
    any::Any,
    net::IpAddr,
    sync::Arc,
    time::{Duration, Instant},
};

use axum::{
    Router,
    extract::{DefaultBodyLimit, MatchedPath, Request},
    http::{HeaderName, HeaderValue, Method, StatusCode, header},
    middleware::{self, Next},
    response::{IntoResponse, Response},
};
use tower_http::{
    catch_panic::CatchPanicLayer,
    cors::{AllowOrigin, CorsLayer},
    request_id::{MakeRequestUuid, PropagateRequestIdLayer, RequestId, SetRequestIdLayer},
    set_header::SetResponseHeaderLayer,
    trace::TraceLayer,
};

use crate::{ApiError, error::InternalCause, net::TrustedProxies};

pub const REQUEST_ID: HeaderName = HeaderName::from_static("x-request-id");

pub struct StackSettings {
    pub service: &'static str,
    pub cors_origins: Vec<String>,
    pub trusted_proxies: Vec<IpAddr>,
    pub body_limit: usize,
}

/// Wraps a service's router: 404/405 as JSON, body limit, CORS, security headers,
/// request ids, a span per request, HTTP metrics, one log line per 5xx, and panics turned
/// into a generic 500 (the process keeps serving).
pub fn stack(router: Router, settings: StackSettings) -> Router {
    let service = settings.service;
    let cors = cors(&settings.cors_origins);
    let router = router
        .fallback(not_found)
        .method_not_allowed_fallback(method_not_allowed)
        .layer(DefaultBodyLimit::max(settings.body_limit))
        .layer(middleware::from_fn(run_to_completion))
        .layer(middleware::from_fn(log_internal_errors))
        .layer(middleware::from_fn(move |req: Request, next: Next| {
            record_metrics(service, req, next)
        }))
        .layer(axum::Extension(TrustedProxies(Arc::new(
            settings.trusted_proxies,
        ))))
        .layer(cors);
    let router = security_headers(router);
    router
        .layer(
            TraceLayer::new_for_http()
                .make_span_with(|request: &Request| {
                    let request_id = request
                        .headers()
                        .get(REQUEST_ID)
                        .and_then(|v| v.to_str().ok())
                        .unwrap_or("-");
                    // The path only: query strings may carry tokens (websocket `?token=`).
                    tracing::info_span!(
                        "request",
                        method = %request.method(),
                        path = %request.uri().path(),
                        request_id = %request_id,
                    )
                })
                .on_request(())
                .on_response(
                    tower_http::trace::DefaultOnResponse::new().level(tracing::Level::DEBUG),
                )
                .on_failure(()),
        )
        .layer(PropagateRequestIdLayer::new(REQUEST_ID))
        .layer(SetRequestIdLayer::new(REQUEST_ID, MakeRequestUuid))
        .layer(CatchPanicLayer::custom(panic_response))
}

/// Runs the handler in a task of its own, so that a client hanging up does not cancel it
/// half-way. Cancelled futures are what leaves a pooled Postgres connection inside a
/// transaction: sqlx 0.9.0 (the newest on the registry; the fix is in sqlx-postgres
/// 0.9.1) forgets the `BEGIN` it already sent when its future is dropped before the
/// answer, and the connection goes back to the pool with the transaction open ("there is
/// already a transaction in progress" for its next user). A handler now always reaches
/// its commit or rollback; its answer is dropped if nobody waits for it.
async fn run_to_completion(req: Request, next: Next) -> Response {
    use tracing::Instrument;
    match tokio::spawn(next.run(req).instrument(tracing::Span::current())).await {
        Ok(response) => response,
        Err(error) if error.is_panic() => panic_response(error.into_panic()),
        Err(error) => ApiError::internal(anyhow::anyhow!("handler task: {error}")).into_response(),
    }
}

fn security_headers(router: Router) -> Router {
    let headers: [(HeaderName, &'static str); 7] = [
        (header::X_CONTENT_TYPE_OPTIONS, "nosniff"),
        (header::X_FRAME_OPTIONS, "DENY"),
        (header::X_XSS_PROTECTION, "1; mode=block"),
        (
            header::STRICT_TRANSPORT_SECURITY,
            "max-age=31536000; includeSubDomains",
        ),
        (header::REFERRER_POLICY, "strict-origin-when-cross-origin"),
        // Children's data must not sit in shared caches.
        (header::CACHE_CONTROL, "no-store"),
        (
            header::CONTENT_SECURITY_POLICY,
            "default-src 'none'; frame-ancestors 'none'",
        ),
    ];
    headers.into_iter().fold(router, |router, (name, value)| {
        router.layer(SetResponseHeaderLayer::if_not_present(
            name,
            HeaderValue::from_static(value),
        ))
    })
}

fn cors(origins: &[String]) -> CorsLayer {
    let origins: Vec<HeaderValue> = origins.iter().filter_map(|o| o.parse().ok()).collect();
    CorsLayer::new()
        .allow_origin(AllowOrigin::list(origins))
        .allow_methods([
            Method::GET,
            Method::POST,
            Method::PUT,
            Method::PATCH,
            Method::DELETE,
        ])
        .allow_headers([header::AUTHORIZATION, header::CONTENT_TYPE, REQUEST_ID])
        .expose_headers([REQUEST_ID, header::RETRY_AFTER])
        .allow_credentials(true)
        .max_age(Duration::from_secs(600))
}

async fn not_found() -> ApiError {
    ApiError::not_found("Cette adresse n'existe pas.")
}

async fn method_not_allowed() -> ApiError {
    ApiError::new(
        StatusCode::METHOD_NOT_ALLOWED,
        "method_not_allowed",
        "Cette méthode n'est pas acceptée à cette adresse.",
    )
}

async fn record_metrics(service: &'static str, request: Request, next: Next) -> Response {
    let started = Instant::now();
    let method = request.method().clone();
    let route = request
        .extensions()
        .get::<MatchedPath>()
        .map_or_else(|| "unmatched".to_owned(), |p| p.as_str().to_owned());
    let response = next.run(request).await;
    let status = response.status().as_u16().to_string();
    let labels = [service, method.as_str(), route.as_str(), status.as_str()];
    let metrics = nexus_telemetry::http_metrics();
    metrics.requests_total.with_label_values(&labels).inc();
    metrics
        .request_duration
        .with_label_values(&labels)
        .observe(started.elapsed().as_secs_f64());
    response
}

/// The one place 5xx answers are logged, with their cause and the request id.
async fn log_internal_errors(request: Request, next: Next) -> Response {
    let request_id = request
        .extensions()
        .get::<RequestId>()
        .and_then(|id| id.header_value().to_str().ok())
        .unwrap_or("-")
        .to_owned();
    let method = request.method().clone();
    let path = request.uri().path().to_owned();
    let mut response = next.run(request).await;
    if response.status().is_server_error() {
        let cause = response
            .extensions_mut()
            .remove::<InternalCause>()
            .map_or_else(|| "-".to_owned(), |c| c.0);
        tracing::error!(
            status = response.status().as_u16(),
            %method, %path, %request_id, %cause,
            "request failed"
        );
    }
    response
}

fn panic_response(panic: Box<dyn Any + Send + 'static>) -> Response {
    let detail = panic
        .downcast_ref::<String>()
        .map(String::as_str)
        .or_else(|| panic.downcast_ref::<&str>().copied())
        .unwrap_or("unknown panic");
    tracing::error!(panic = %detail, "handler panicked");
    ApiError::internal(anyhow::anyhow!("panic: {detail}")).into_response()
}

#[cfg(test)]
mod tests {
    use std::sync::atomic::{AtomicBool, Ordering};

    use axum::routing::get;
    use tokio::io::AsyncWriteExt;

    use super::*;

    /// Serves `router` and sends it one request from a client that hangs up 50 ms later,
    /// while the handler (300 ms) still runs; tells whether the handler ran to its end.
    async fn handler_finishes_after_hang_up(wrap: fn(Router) -> Router) -> std::io::Result<bool> {
        let finished = Arc::new(AtomicBool::new(false));
        let flag = finished.clone();
        let router = wrap(Router::new().route(
            "/slow",
            get(move || async move {
                tokio::time::sleep(Duration::from_millis(300)).await;
                flag.store(true, Ordering::SeqCst);
                "done"
            }),
        ));
        let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await?;
        let addr = listener.local_addr()?;
        let server = tokio::spawn(async move { axum::serve(listener, router).await });
        let mut client = tokio::net::TcpStream::connect(addr).await?;
        client
            .write_all(b"GET /slow HTTP/1.1\r\nhost: test\r\n\r\n")
            .await?;
        tokio::time::sleep(Duration::from_millis(50)).await;
        drop(client);
        tokio::time::sleep(Duration::from_millis(600)).await;
        server.abort();
        Ok(finished.load(Ordering::SeqCst))
    }

    #[tokio::test]
    async fn a_client_hanging_up_does_not_cancel_the_handler() -> std::io::Result<()> {
        // Without the layer hyper drops the handler's future when the client goes away
        // (this is what left sqlx connections inside a transaction)…
        assert!(!handler_finishes_after_hang_up(|router| router).await?);
        // …with it, the handler reaches its end.
        assert!(
            handler_finishes_after_hang_up(|router| {
                router.layer(middleware::from_fn(run_to_completion))
            })
            .await?
        );
        Ok(())
    }
}
