//! `nexus-aria` answers health, readiness and metrics on its own port.

use nexus_aria::Application;

async fn spawn(redis_url: Option<String>) -> String {
    let _ = rustls::crypto::ring::default_provider().install_default();
    let mut common = nexus_config::CommonSettings::from_env("UNUSED_PORT", 0).expect("settings");
    common.port = 0;
    common.bind_addr = "127.0.0.1".parse().expect("ip");
    if let Some(url) = redis_url {
        common.redis_url = nexus_config::ConnectionUrl::new(url);
    }
    let app = Application::build(common).await.expect("build");
    let address = format!("http://127.0.0.1:{}", app.port());
    tokio::spawn(app.run_until_stopped(std::future::pending()));
    address
}

#[tokio::test]
async fn it_is_healthy_ready_and_exposes_metrics() {
    let address = spawn(None).await;
    let client = reqwest::Client::new();
    let health = client
        .get(format!("{address}/health"))
        .send()
        .await
        .expect("health");
    assert_eq!(health.status(), 200);
    let ready: serde_json::Value = client
        .get(format!("{address}/ready"))
        .send()
        .await
        .expect("ready")
        .json()
        .await
        .expect("json");
    assert_eq!(
        ready["checks"],
        serde_json::json!({"postgres": "up", "redis": "up"})
    );
    let metrics = client
        .get(format!("{address}/metrics"))
        .send()
        .await
        .expect("metrics")
        .text()
        .await
        .expect("text");
    assert!(
        metrics.contains(r#"route="/ready",service="nexus-aria",status="200""#),
        "{metrics}"
    );
}

#[tokio::test]
async fn it_is_not_ready_without_redis_and_says_so() {
    let port = std::net::TcpListener::bind("127.0.0.1:0")
        .expect("bind")
        .local_addr()
        .expect("addr")
        .port();
    let address = spawn(Some(format!("redis://127.0.0.1:{port}"))).await;
    let ready = reqwest::get(format!("{address}/ready"))
        .await
        .expect("ready");
    assert_eq!(ready.status(), 503);
    let body: serde_json::Value = ready.json().await.expect("json");
    assert_eq!(body["failed"], serde_json::json!(["redis"]));
}
