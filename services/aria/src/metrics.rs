//! ARIA's metrics (the model's — latency, tokens, cost, budget — come with generation).

use std::sync::OnceLock;

use prometheus::{Histogram, HistogramOpts, IntCounterVec, Opts};

pub struct AriaMetrics {
    /// Chat requests by the help policy applied (`explain`, `exam_in_progress`).
    pub requests: IntCounterVec,
    pub retrieval_seconds: Histogram,
}

pub fn metrics() -> &'static AriaMetrics {
    static METRICS: OnceLock<AriaMetrics> = OnceLock::new();
    METRICS.get_or_init(|| {
        let requests = IntCounterVec::new(
            Opts::new("aria_requests_total", "ARIA chat requests by help policy"),
            &["policy"],
        )
        .expect("metric");
        let retrieval_seconds = Histogram::with_opts(
            HistogramOpts::new(
                "aria_retrieval_seconds",
                "Course-content retrieval time per question",
            )
            .buckets(vec![
                0.0005, 0.001, 0.0025, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5,
            ]),
        )
        .expect("metric");
        let registry = nexus_telemetry::registry();
        let _ = registry.register(Box::new(requests.clone()));
        let _ = registry.register(Box::new(retrieval_seconds.clone()));
        AriaMetrics {
            requests,
            retrieval_seconds,
        }
    })
}

/// The model's metrics, registered on the first call to a model: a deployment without
/// one exports none of them.
pub struct ModelMetrics {
    pub requests: IntCounterVec,
    pub latency_seconds: Histogram,
    pub tokens: IntCounterVec,
}

pub fn model_metrics() -> &'static ModelMetrics {
    static METRICS: OnceLock<ModelMetrics> = OnceLock::new();
    METRICS.get_or_init(|| {
        let requests = IntCounterVec::new(
            Opts::new(
                "aria_model_requests_total",
                "Calls to the language model by outcome",
            ),
            &["outcome"],
        )
        .expect("metric");
        let latency_seconds = Histogram::with_opts(
            HistogramOpts::new("aria_model_latency_seconds", "Whole model answer time")
                .buckets(vec![0.1, 0.25, 0.5, 1.0, 2.5, 5.0, 10.0, 20.0, 30.0, 60.0]),
        )
        .expect("metric");
        let tokens = IntCounterVec::new(
            Opts::new("aria_tokens_total", "Model tokens by kind"),
            &["kind"],
        )
        .expect("metric");
        let registry = nexus_telemetry::registry();
        let _ = registry.register(Box::new(requests.clone()));
        let _ = registry.register(Box::new(latency_seconds.clone()));
        let _ = registry.register(Box::new(tokens.clone()));
        ModelMetrics {
            requests,
            latency_seconds,
            tokens,
        }
    })
}
