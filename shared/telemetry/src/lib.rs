//! Logs, error reporting and metrics, set up the same way in every service.

use std::sync::OnceLock;

use prometheus::{HistogramOpts, HistogramVec, IntCounterVec, Opts, Registry};
use tracing_subscriber::{
    EnvFilter, Layer, filter::LevelFilter, fmt, layer::SubscriberExt, util::SubscriberInitExt,
};

/// What is logged when `RUST_LOG` is not set.
const DEFAULT_FILTER: &str = "info,sqlx=warn,tower_http=info";

/// Installs the global tracing subscriber: JSON lines by default (what log shippers
/// read), human-readable with `LOG_FORMAT=pretty`. Request bodies and headers are never
/// logged, so secrets cannot leak through the logs.
pub fn init_tracing(service: &'static str) {
    let filter =
        EnvFilter::try_from_default_env().unwrap_or_else(|_| EnvFilter::new(DEFAULT_FILTER));
    let max_level = filter.max_level_hint();
    let pretty = std::env::var("LOG_FORMAT").is_ok_and(|f| f == "pretty");
    let registry = tracing_subscriber::registry()
        .with(filter)
        // Error-level events become Sentry events (a no-op while Sentry is not initialised).
        .with(sentry::integrations::tracing::ErrorLayer::new().with_filter(LevelFilter::ERROR));
    let result = if pretty {
        registry.with(fmt::layer().with_target(false)).try_init()
    } else {
        registry
            .with(
                fmt::layer()
                    .json()
                    .flatten_event(true)
                    .with_current_span(true)
                    .with_span_list(false),
            )
            .try_init()
    };
    if result.is_ok() {
        // Crates that log through `log` (tungstenite writes a trace line per frame)
        // check log's own maximum before doing anything. The bridge installed above
        // leaves it at `trace` here, so every such line went through the bridge only to
        // be filtered out: ~12 % of the hub's user time in a broadcast (perf).
        log::set_max_level(log_level(max_level));
        tracing::debug!(service, "tracing initialised");
    }
}

/// The `log` crate's level for a tracing level (none: everything may be enabled).
fn log_level(level: Option<LevelFilter>) -> log::LevelFilter {
    match level {
        None => log::LevelFilter::Trace,
        Some(level) if level == LevelFilter::OFF => log::LevelFilter::Off,
        Some(level) if level == LevelFilter::ERROR => log::LevelFilter::Error,
        Some(level) if level == LevelFilter::WARN => log::LevelFilter::Warn,
        Some(level) if level == LevelFilter::INFO => log::LevelFilter::Info,
        Some(level) if level == LevelFilter::DEBUG => log::LevelFilter::Debug,
        Some(_) => log::LevelFilter::Trace,
    }
}

/// Starts Sentry when a DSN is configured; the guard flushes events when dropped.
pub fn init_sentry(
    dsn: Option<&str>,
    service: &'static str,
    environment: &str,
) -> Option<sentry::ClientInitGuard> {
    let dsn = dsn?;
    let mut options = sentry::ClientOptions::default();
    options.release = sentry::release_name!();
    options.environment = Some(environment.to_owned().into());
    options.send_default_pii = false;
    options.server_name = Some(service.into());
    match dsn.parse() {
        Ok(dsn) => {
            options.dsn = Some(dsn);
            Some(sentry::init(options))
        }
        Err(_) => {
            tracing::error!("SENTRY_DSN is not a valid DSN; error reporting stays off");
            None
        }
    }
}

/// The HTTP metrics every service exposes, with the labels the seed's Grafana queries use.
#[derive(Clone)]
pub struct HttpMetrics {
    pub requests_total: IntCounterVec,
    pub request_duration: HistogramVec,
}

/// The process-wide registry: one per process, shared by every router built in it.
pub fn registry() -> &'static Registry {
    static REGISTRY: OnceLock<Registry> = OnceLock::new();
    REGISTRY.get_or_init(Registry::new)
}

/// The HTTP metrics, registered once per process (tests start several apps in one).
pub fn http_metrics() -> &'static HttpMetrics {
    static METRICS: OnceLock<HttpMetrics> = OnceLock::new();
    METRICS.get_or_init(|| {
        let labels = ["service", "method", "route", "status"];
        let requests_total = IntCounterVec::new(
            Opts::new("http_requests_total", "HTTP requests answered"),
            &labels,
        )
        .expect("valid metric definition");
        let request_duration = HistogramVec::new(
            HistogramOpts::new(
                "http_request_duration_seconds",
                "Time from request received to response headers sent",
            )
            .buckets(vec![
                0.001, 0.0025, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1.0, 2.5, 5.0, 10.0,
            ]),
            &labels,
        )
        .expect("valid metric definition");
        let registry = registry();
        registry
            .register(Box::new(requests_total.clone()))
            .expect("http_requests_total registered once");
        registry
            .register(Box::new(request_duration.clone()))
            .expect("http_request_duration_seconds registered once");
        HttpMetrics {
            requests_total,
            request_duration,
        }
    })
}

/// The registry in Prometheus' text exposition format.
pub fn render() -> String {
    use prometheus::Encoder;
    let mut buffer = Vec::new();
    let encoder = prometheus::TextEncoder::new();
    if encoder.encode(&registry().gather(), &mut buffer).is_err() {
        return String::new();
    }
    String::from_utf8(buffer).unwrap_or_default()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn log_records_below_the_filter_stop_at_the_log_crate() {
        init_tracing("telemetry-test");
        let filter =
            EnvFilter::try_from_default_env().unwrap_or_else(|_| EnvFilter::new(DEFAULT_FILTER));
        assert_eq!(log::max_level(), log_level(filter.max_level_hint()));
        if filter.max_level_hint() < Some(LevelFilter::TRACE) {
            assert!(!log::log_enabled!(log::Level::Trace));
        }
    }
}
