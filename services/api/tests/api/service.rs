//! What operators rely on: health, readiness, metrics, headers, request ids, CORS, the
//! OpenAPI document and its page, and logs without secrets.

use nexus_auth::Role;
use nexus_config::ConnectionUrl;
use reqwest::StatusCode;
use serde_json::json;

use crate::helpers::{PASSWORD, spawn_app, spawn_app_with, test_settings};

#[tokio::test]
async fn health_and_readiness_answer_when_dependencies_are_up() {
    let app = spawn_app().await;
    let health = app.get("/health", None).await;
    assert_eq!(health.status, StatusCode::OK);
    assert_eq!(health.body["status"], json!("healthy"));
    let ready = app.get("/ready", None).await;
    assert_eq!(ready.status, StatusCode::OK);
    assert_eq!(
        ready.body["checks"],
        json!({"postgres": "up", "redis": "up"})
    );
}

/// Both pools open all their connections as the API starts, before any request needs
/// one, and keep them: a burst of requests then never waits for Postgres to start new
/// backends (the maxima this removed: docs/PERFORMANCE.md).
#[tokio::test]
async fn the_pools_open_their_connections_at_start() {
    let app = spawn_app().await;
    // The tests' DATABASE_MAX_CONNECTIONS, and a quarter of it (2 at least) for the
    // dashboards; no request has been sent (the background jobs use a few of the first).
    let sizes = |s: &nexus_api::state::AppState| (s.pool.size(), s.generic_plans.size());
    let deadline = std::time::Instant::now() + std::time::Duration::from_secs(20);
    while sizes(&app.state) != (5, 2) && std::time::Instant::now() < deadline {
        tokio::time::sleep(std::time::Duration::from_millis(50)).await;
    }
    assert_eq!(
        sizes(&app.state),
        (5, 2),
        "connections open before any request"
    );
    // Kept: handed back to the pool, not closed (only the jobs' pool is in use).
    while app.state.generic_plans.num_idle() != 2 && std::time::Instant::now() < deadline {
        tokio::time::sleep(std::time::Duration::from_millis(50)).await;
    }
    assert_eq!(app.state.generic_plans.num_idle(), 2);
}

async fn free_port() -> u16 {
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0")
        .await
        .expect("bind");
    listener.local_addr().expect("addr").port()
}

#[tokio::test]
async fn without_redis_the_api_is_not_ready_but_still_signs_people_in() {
    let mut settings = test_settings().await;
    settings.common.redis_url =
        ConnectionUrl::new(format!("redis://127.0.0.1:{}", free_port().await));
    let app = spawn_app_with(settings).await;
    let ready = app.get("/ready", None).await;
    assert_eq!(ready.status, StatusCode::SERVICE_UNAVAILABLE);
    assert_eq!(ready.body["failed"], json!(["redis"]));
    // Rate limits fail open: a class keeps working during a Redis outage.
    let student = app.user(Role::Student).await;
    assert_eq!(
        app.get("/api/auth/me", Some(&student.token)).await.status,
        StatusCode::OK
    );
}

#[tokio::test]
async fn without_postgres_readiness_names_it_and_requests_get_a_503() {
    let mut settings = test_settings().await;
    settings.common.database_url = ConnectionUrl::new(format!(
        "postgres://nexus:nexus@127.0.0.1:{}/nexus",
        free_port().await
    ));
    settings.migrate_on_start = false;
    let app = spawn_app_with(settings).await;
    let ready = app.get("/ready", None).await;
    assert_eq!(ready.status, StatusCode::SERVICE_UNAVAILABLE);
    assert_eq!(ready.body["failed"], json!(["postgres"]));
    let login = app.login("someone@lycee.fr", PASSWORD).await;
    assert_eq!(
        login.status,
        StatusCode::SERVICE_UNAVAILABLE,
        "{}",
        login.body
    );
    assert_eq!(login.error_code(), "service_unavailable");
}

#[tokio::test]
async fn metrics_count_requests_by_service_method_route_and_status() {
    let app = spawn_app().await;
    let student = app.user(Role::Student).await;
    app.get("/api/auth/me", Some(&student.token)).await;
    app.get("/api/users/12", Some(&student.token)).await;
    let metrics = app
        .client
        .get(format!("{}/metrics", app.address))
        .send()
        .await
        .expect("metrics");
    assert_eq!(metrics.status(), StatusCode::OK);
    let text = metrics.text().await.expect("text");
    assert!(text.contains(r#"http_requests_total{method="GET",route="/api/auth/me",service="nexus-api",status="200"}"#), "{text}");
    assert!(text.contains(r#"route="/api/users/{id}",service="nexus-api",status="403""#));
    assert!(text.contains("http_request_duration_seconds_bucket{"));
}

#[tokio::test]
async fn responses_carry_security_headers_and_a_request_id() {
    let app = spawn_app().await;
    let response = app
        .client
        .get(format!("{}/health", app.address))
        .send()
        .await
        .expect("sent");
    let headers = response.headers();
    for (name, value) in [
        ("x-content-type-options", "nosniff"),
        ("x-frame-options", "DENY"),
        (
            "strict-transport-security",
            "max-age=31536000; includeSubDomains",
        ),
        ("referrer-policy", "strict-origin-when-cross-origin"),
        ("cache-control", "no-store"),
    ] {
        assert_eq!(
            headers.get(name).and_then(|v| v.to_str().ok()),
            Some(value),
            "{name}"
        );
    }
    assert!(headers.get("x-request-id").is_some_and(|id| id.len() >= 32));
    let echoed = app
        .client
        .get(format!("{}/health", app.address))
        .header("x-request-id", "trace-me-42")
        .send()
        .await
        .expect("sent");
    assert_eq!(echoed.headers()["x-request-id"], "trace-me-42");
}

#[tokio::test]
async fn cors_allows_the_configured_origins_only() {
    let mut settings = test_settings().await;
    settings.common.cors_origins = vec!["https://app.nexus-reussite.fr".into()];
    let app = spawn_app_with(settings).await;
    let preflight = |origin: &'static str| {
        app.client
            .request(
                reqwest::Method::OPTIONS,
                format!("{}/api/auth/login", app.address),
            )
            .header("origin", origin)
            .header("access-control-request-method", "POST")
            .header("access-control-request-headers", "content-type")
            .send()
    };
    let allowed = preflight("https://app.nexus-reussite.fr")
        .await
        .expect("sent");
    assert_eq!(
        allowed.headers()["access-control-allow-origin"],
        "https://app.nexus-reussite.fr"
    );
    let other = preflight("https://evil.example").await.expect("sent");
    assert!(other.headers().get("access-control-allow-origin").is_none());
}

#[tokio::test]
async fn the_api_describes_itself_and_serves_its_documentation_offline() {
    let app = spawn_app().await;
    let spec = app.get("/api/openapi.json", None).await;
    assert_eq!(spec.status, StatusCode::OK);
    assert!(
        spec.body["openapi"]
            .as_str()
            .is_some_and(|v| v.starts_with("3."))
    );
    assert!(spec.body["paths"]["/api/auth/login"]["post"].is_object());
    assert!(spec.body["components"]["securitySchemes"]["bearer"].is_object());

    let page = app
        .client
        .get(format!("{}/api/docs/", app.address))
        .send()
        .await
        .expect("docs");
    assert_eq!(page.status(), StatusCode::OK);
    let html = page.text().await.expect("html");
    assert!(html.contains("swagger"), "{html}");
    // The page's assets come from the binary, not from a CDN.
    assert!(!html.contains("https://"), "no external asset: {html}");
    let asset = app
        .client
        .get(format!("{}/api/docs/swagger-ui-bundle.js", app.address))
        .send()
        .await
        .expect("asset");
    assert_eq!(asset.status(), StatusCode::OK);
    let initializer = app
        .client
        .get(format!("{}/api/docs/swagger-initializer.js", app.address))
        .send()
        .await
        .expect("init");
    assert!(
        initializer
            .text()
            .await
            .expect("js")
            .contains("/api/openapi.json")
    );
}

/// Runs the real binary, signs in, refreshes and asks for a reset, then reads every log
/// line it wrote: no password, token or secret may appear.
#[tokio::test]
async fn the_logs_never_contain_passwords_tokens_or_secrets() {
    let settings = test_settings().await;
    // Migrate and seed a user through a first app in-process.
    let app = spawn_app_with(settings.clone()).await;
    let student = app.user(Role::Student).await;
    let secret = "a-jwt-secret-that-must-never-be-logged-123456";
    let (mut child, port, mut stdout, mut logs) = spawn_binary(&[
        ("DATABASE_URL", settings.common.database_url.expose()),
        ("REDIS_URL", settings.common.redis_url.expose()),
        ("REDIS_KEY_PREFIX", &settings.common.redis_key_prefix),
        ("JWT_SECRET_KEY", secret),
        ("MAILBOX_DIR", &settings.mail.mailbox_dir.to_string_lossy()),
        ("RUST_LOG", "trace"),
    ])
    .await;
    let base = format!("http://127.0.0.1:{port}");
    let login: serde_json::Value = app
        .client
        .post(format!("{base}/api/auth/login"))
        .json(&json!({"email": student.email, "password": PASSWORD}))
        .send()
        .await
        .expect("login")
        .json()
        .await
        .expect("json");
    let access = login["accessToken"].as_str().expect("access").to_owned();
    let refresh = login["refreshToken"].as_str().expect("refresh").to_owned();
    app.client
        .get(format!("{base}/api/auth/me"))
        .bearer_auth(&access)
        .send()
        .await
        .expect("me");
    app.client
        .post(format!("{base}/api/auth/refresh"))
        .json(&json!({"refreshToken": refresh}))
        .send()
        .await
        .expect("refresh");
    app.client
        .post(format!("{base}/api/auth/password-reset/request"))
        .json(&json!({"email": student.email}))
        .send()
        .await
        .expect("reset");
    let reset_mail =
        crate::helpers::eventually("the reset mail", || async { app.mails().await.pop() }).await;
    child.start_kill().expect("stop");
    while let Ok(Some(line)) = stdout.next_line().await {
        logs.push(line);
    }
    let logs = logs.join("\n");
    assert!(logs.contains("login"), "the logs were captured: {logs}");
    let reset_token = crate::helpers::reset_token_in(&reset_mail);
    for (what, secret_value) in [
        ("password", PASSWORD),
        ("access token", access.as_str()),
        ("refresh token", refresh.as_str()),
        ("reset token", reset_token.as_str()),
        ("JWT secret", secret),
    ] {
        assert!(!logs.contains(secret_value), "the logs contain the {what}");
    }
}

type Lines = tokio::io::Lines<tokio::io::BufReader<tokio::process::ChildStdout>>;

/// Starts the real `nexus-api` binary on a free port with these variables; returns the
/// child, its port, its log stream and the lines read until it listened.
async fn spawn_binary(vars: &[(&str, &str)]) -> (tokio::process::Child, u64, Lines, Vec<String>) {
    use tokio::io::{AsyncBufReadExt, BufReader};

    let mut command = tokio::process::Command::new(env!("CARGO_BIN_EXE_nexus-api"));
    command
        .env("API_PORT", "0")
        .env("BIND_ADDR", "127.0.0.1")
        .env_remove("LOG_FORMAT")
        .stdout(std::process::Stdio::piped())
        .stderr(std::process::Stdio::null())
        .kill_on_drop(true);
    for (name, value) in vars {
        command.env(name, value);
    }
    let mut child = command.spawn().expect("spawn nexus-api");
    let mut stdout = BufReader::new(child.stdout.take().expect("stdout")).lines();
    let mut logs = Vec::new();
    loop {
        let line = tokio::time::timeout(std::time::Duration::from_secs(30), stdout.next_line())
            .await
            .expect("the service starts")
            .expect("read")
            .expect("a line");
        logs.push(line.clone());
        let parsed: serde_json::Value = serde_json::from_str(&line).unwrap_or_default();
        if parsed["message"] == json!("listening") {
            let port = parsed["port"].as_u64().expect("port");
            return (child, port, stdout, logs);
        }
    }
}

/// A stand-in for sentry.io speaking its envelope protocol: every envelope it receives.
async fn sentry_sink() -> (u16, tokio::sync::mpsc::UnboundedReceiver<String>) {
    let (sender, receiver) = tokio::sync::mpsc::unbounded_channel();
    let app = axum::Router::new().route(
        "/api/{project}/envelope/",
        axum::routing::post(move |body: axum::body::Bytes| {
            let sender = sender.clone();
            async move {
                let _ = sender.send(String::from_utf8_lossy(&body).into_owned());
                axum::Json(json!({"id": "0"}))
            }
        }),
    );
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0")
        .await
        .expect("bind");
    let port = listener.local_addr().expect("addr").port();
    tokio::spawn(async move { axum::serve(listener, app).await });
    (port, receiver)
}

#[tokio::test]
async fn with_a_sentry_dsn_errors_are_reported_without_personal_data() {
    let (sentry_port, mut envelopes) = sentry_sink().await;
    let dsn = format!("http://public@127.0.0.1:{sentry_port}/42");
    let dead_postgres = format!(
        "postgres://nexus:nexus@127.0.0.1:{}/nexus",
        free_port().await
    );
    let (_child, port, _stdout, _logs) = spawn_binary(&[
        ("SENTRY_DSN", &dsn),
        ("DATABASE_URL", &dead_postgres),
        ("MIGRATE_ON_START", "false"),
        ("RUN_WORKER", "false"),
    ])
    .await;
    let answer = reqwest::Client::new()
        .post(format!("http://127.0.0.1:{port}/api/auth/login"))
        .json(&json!({"email": "lea@lycee.fr", "password": PASSWORD}))
        .send()
        .await
        .expect("login");
    assert_eq!(answer.status(), StatusCode::SERVICE_UNAVAILABLE);
    let envelope = tokio::time::timeout(std::time::Duration::from_secs(15), envelopes.recv())
        .await
        .expect("an envelope within 15 s")
        .expect("envelope");
    assert!(envelope.contains("Postgres unavailable"), "{envelope}");
    assert!(
        !envelope.contains(PASSWORD) && !envelope.contains("lea@lycee.fr"),
        "no personal data: {envelope}"
    );
}
