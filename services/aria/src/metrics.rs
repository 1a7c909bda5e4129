//! ARIA's metrics. Every series is created at start-up (labelled ones with each of
//! their known label values, at zero), so dashboards and alerts see them before the
//! first question.

use std::sync::OnceLock;

use prometheus::{Counter, Histogram, HistogramOpts, IntCounterVec, Opts};

pub struct AriaMetrics {
    /// Chat requests by the help policy applied.
    pub requests: IntCounterVec,
    /// A whole chat request, model included.
    pub request_seconds: Histogram,
    pub retrieval_seconds: Histogram,
    /// The best passage's score per question (0 when nothing matched).
    pub retrieval_top_score: Histogram,
    pub model_requests: IntCounterVec,
    pub model_latency_seconds: Histogram,
    pub first_token_seconds: Histogram,
    pub tokens: IntCounterVec,
    pub cost_euros: Counter,
    pub budget_refusals: IntCounterVec,
    pub flags: IntCounterVec,
    pub ratings: IntCounterVec,
    /// Websockets closed by ARIA: `slow_consumer` (4008), `revoked` (a revocation's
    /// check failed).
    pub ws_closes: IntCounterVec,
}

fn counter(name: &str, help: &str, label: &str, values: &[&str]) -> IntCounterVec {
    let counter = IntCounterVec::new(Opts::new(name, help), &[label]).expect("metric");
    for value in values {
        counter.with_label_values(&[*value]);
    }
    counter
}

fn histogram(name: &str, help: &str, buckets: &[f64]) -> Histogram {
    Histogram::with_opts(HistogramOpts::new(name, help).buckets(buckets.to_vec())).expect("metric")
}

const SECONDS: &[f64] = &[
    0.0005, 0.001, 0.0025, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1.0, 2.5, 5.0, 10.0, 30.0,
];

pub fn metrics() -> &'static AriaMetrics {
    static METRICS: OnceLock<AriaMetrics> = OnceLock::new();
    METRICS.get_or_init(|| {
        let m = AriaMetrics {
            requests: counter(
                "aria_requests_total",
                "ARIA chat requests by help policy",
                "policy",
                &["explain", "hints", "exam_refused", "support"],
            ),
            request_seconds: histogram(
                "aria_request_seconds",
                "A whole ARIA chat request, model included",
                SECONDS,
            ),
            retrieval_seconds: histogram(
                "aria_retrieval_seconds",
                "Course-content retrieval time per question",
                SECONDS,
            ),
            retrieval_top_score: histogram(
                "aria_retrieval_top_score",
                "Score of the best passage per question",
                &[0.0, 0.01, 0.02, 0.05, 0.1, 0.2, 0.5, 1.0],
            ),
            model_requests: counter(
                "aria_model_requests_total",
                "Calls to the language model by outcome",
                "outcome",
                &["success", "error", "timeout", "circuit_open"],
            ),
            model_latency_seconds: histogram(
                "aria_model_latency_seconds",
                "Whole model answer time",
                &[0.1, 0.25, 0.5, 1.0, 2.5, 5.0, 10.0, 20.0, 30.0, 60.0],
            ),
            first_token_seconds: histogram(
                "aria_first_token_seconds",
                "From the model request to its first streamed token",
                SECONDS,
            ),
            tokens: counter(
                "aria_tokens_total",
                "Model tokens by kind",
                "kind",
                &["prompt", "completion"],
            ),
            cost_euros: Counter::new(
                "aria_cost_euros_total",
                "Money spent on the model, in euros",
            )
            .expect("metric"),
            budget_refusals: counter(
                "aria_budget_refusals_total",
                "Questions refused because a daily token budget was spent",
                "scope",
                &["student", "class"],
            ),
            flags: counter(
                "aria_flags_total",
                "Questions and answers flagged by moderation, by category",
                "category",
                &[
                    "self_harm",
                    "harassment",
                    "violence",
                    "personal_data",
                    "provider",
                ],
            ),
            ratings: counter(
                "aria_ratings_total",
                "Students' ratings of answers",
                "helpful",
                &["true", "false"],
            ),
            ws_closes: counter(
                "aria_ws_closes_total",
                "Websockets ARIA closed: client too slow, or tokens revoked",
                "reason",
                &["slow_consumer", "revoked"],
            ),
        };
        let registry = nexus_telemetry::registry();
        let collectors: Vec<Box<dyn prometheus::core::Collector>> = vec![
            Box::new(m.requests.clone()),
            Box::new(m.request_seconds.clone()),
            Box::new(m.retrieval_seconds.clone()),
            Box::new(m.retrieval_top_score.clone()),
            Box::new(m.model_requests.clone()),
            Box::new(m.model_latency_seconds.clone()),
            Box::new(m.first_token_seconds.clone()),
            Box::new(m.tokens.clone()),
            Box::new(m.cost_euros.clone()),
            Box::new(m.budget_refusals.clone()),
            Box::new(m.flags.clone()),
            Box::new(m.ratings.clone()),
            Box::new(m.ws_closes.clone()),
        ];
        for collector in collectors {
            let _ = registry.register(collector);
        }
        m
    })
}
