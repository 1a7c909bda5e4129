//! The hub's own metrics, next to the HTTP ones every service exposes.

use std::sync::OnceLock;

use prometheus::{Histogram, HistogramOpts, IntCounter, IntCounterVec, IntGauge, Opts};

pub struct HubMetrics {
    pub connections: IntGauge,
    pub connections_total: IntCounter,
    pub messages_in: IntCounter,
    pub messages_out: IntCounterVec,
    /// `messages_out{type="event"}`, resolved once: it is counted on every delivery.
    pub events_out: IntCounter,
    pub delivery_seconds: Histogram,
    pub slow_consumers: IntCounter,
    pub auth_failures: IntCounter,
    /// Tokens checked again after a revocation, by outcome: `kept`, `closed`, `unavailable`.
    pub revocation_checks: IntCounterVec,
    /// Connections refused because their user had `HUB_MAX_CONNECTIONS_PER_USER` open.
    pub connection_cap_refusals: IntCounter,
}

pub fn metrics() -> &'static HubMetrics {
    static METRICS: OnceLock<HubMetrics> = OnceLock::new();
    METRICS.get_or_init(|| {
        let registry = nexus_telemetry::registry();
        let connections = IntGauge::new(
            "hub_connections",
            "Open authenticated websocket connections",
        )
        .expect("metric");
        let connections_total = IntCounter::new(
            "hub_connections_total",
            "Websocket connections authenticated",
        )
        .expect("metric");
        let messages_in = IntCounter::new("hub_messages_in_total", "Frames received from clients")
            .expect("metric");
        let messages_out = IntCounterVec::new(
            Opts::new("hub_messages_out_total", "Frames sent to clients"),
            &["type"],
        )
        .expect("metric");
        let delivery_seconds = Histogram::with_opts(
            HistogramOpts::new(
                "hub_delivery_latency_seconds",
                "From the event's creation to its frame written to the socket",
            )
            .buckets(vec![
                0.001, 0.0025, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1.0, 2.5, 5.0,
            ]),
        )
        .expect("metric");
        let slow_consumers = IntCounter::new(
            "hub_slow_consumers_dropped_total",
            "Connections closed because they read too slowly",
        )
        .expect("metric");
        let auth_failures = IntCounter::new(
            "hub_auth_failures_total",
            "Connections refused at authentication",
        )
        .expect("metric");
        let revocation_checks = IntCounterVec::new(
            Opts::new(
                "hub_revocation_checks_total",
                "Tokens of open connections checked again after a revocation, by outcome",
            ),
            &["outcome"],
        )
        .expect("metric");
        let connection_cap_refusals = IntCounter::new(
            "hub_connection_cap_refusals_total",
            "Connections refused (4429) because their user had the most allowed open",
        )
        .expect("metric");
        let _ = registry.register(Box::new(revocation_checks.clone()));
        let _ = registry.register(Box::new(connection_cap_refusals.clone()));
        let _ = registry.register(Box::new(connections.clone()));
        let _ = registry.register(Box::new(connections_total.clone()));
        let _ = registry.register(Box::new(messages_in.clone()));
        let _ = registry.register(Box::new(messages_out.clone()));
        let _ = registry.register(Box::new(delivery_seconds.clone()));
        let _ = registry.register(Box::new(slow_consumers.clone()));
        let _ = registry.register(Box::new(auth_failures.clone()));
        HubMetrics {
            connections,
            connections_total,
            messages_in,
            events_out: messages_out.with_label_values(&["event"]),
            messages_out,
            delivery_seconds,
            slow_consumers,
            auth_failures,
            revocation_checks,
            connection_cap_refusals,
        }
    })
}
