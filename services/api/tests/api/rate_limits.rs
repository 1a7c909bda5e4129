use nexus_auth::Role;
use reqwest::StatusCode;
use serde_json::json;

use crate::helpers::{PASSWORD, spawn_app_with, test_settings};

#[tokio::test]
async fn the_sixth_failed_login_within_five_minutes_is_refused_on_another_instance_too() {
    let settings = test_settings().await;
    let first = spawn_app_with(settings.clone()).await;
    let second = spawn_app_with(settings).await;
    let student = first.user(Role::Student).await;

    for attempt in 1..=5 {
        let answer = first.login(&student.email, "Wrong-Password-1").await;
        assert_eq!(answer.status, StatusCode::UNAUTHORIZED, "attempt {attempt}");
    }
    // Sixth attempt, on the other replica, even with the right password.
    let refused = second.login(&student.email, PASSWORD).await;
    assert_eq!(
        refused.status,
        StatusCode::TOO_MANY_REQUESTS,
        "{}",
        refused.body
    );
    assert_eq!(refused.error_code(), "rate_limited");
    let retry_after: u64 = refused.headers["retry-after"]
        .to_str()
        .expect("ascii")
        .parse()
        .expect("seconds");
    assert!((1..=300).contains(&retry_after), "{retry_after}");

    // Another account from the same place is not locked out.
    let classmate = second.user(Role::Student).await;
    assert_eq!(
        second.login(&classmate.email, PASSWORD).await.status,
        StatusCode::OK
    );
}

#[tokio::test]
async fn a_successful_login_clears_earlier_failures() {
    let app = spawn_app_with(test_settings().await).await;
    let student = app.user(Role::Student).await;
    for _ in 0..4 {
        app.login(&student.email, "Wrong-Password-1").await;
    }
    assert_eq!(
        app.login(&student.email, PASSWORD).await.status,
        StatusCode::OK
    );
    for _ in 0..4 {
        assert_eq!(
            app.login(&student.email, "Wrong-Password-1").await.status,
            StatusCode::UNAUTHORIZED
        );
    }
    assert_eq!(
        app.login(&student.email, PASSWORD).await.status,
        StatusCode::OK
    );
}

#[tokio::test]
async fn the_per_user_api_limit_holds_across_two_instances() {
    let mut settings = test_settings().await;
    settings.rate_limits.api_per_user.max = 6;
    let first = spawn_app_with(settings.clone()).await;
    let second = spawn_app_with(settings).await;
    let student = first.user(Role::Student).await;
    for call in 0..6 {
        let app = if call % 2 == 0 { &first } else { &second };
        assert_eq!(
            app.get("/api/auth/me", Some(&student.token)).await.status,
            StatusCode::OK,
            "call {call}"
        );
    }
    let refused = second.get("/api/auth/me", Some(&student.token)).await;
    assert_eq!(refused.status, StatusCode::TOO_MANY_REQUESTS);
    assert!(refused.headers.contains_key("retry-after"));
    // The limit is per user: a classmate is served.
    let classmate = first.user(Role::Student).await;
    assert_eq!(
        first
            .get("/api/auth/me", Some(&classmate.token))
            .await
            .status,
        StatusCode::OK
    );
}

#[tokio::test]
async fn registrations_from_one_address_are_capped() {
    let mut settings = test_settings().await;
    settings.rate_limits.register_per_ip.max = 3;
    let app = spawn_app_with(settings).await;
    for n in 0..3 {
        let body = json!({"email": format!("p{n}@famille.fr"), "password": PASSWORD, "firstName": "A", "lastName": "B", "role": "parent"});
        assert_eq!(
            app.post("/api/auth/register", None, body).await.status,
            StatusCode::CREATED
        );
    }
    let body = json!({"email": "p9@famille.fr", "password": PASSWORD, "firstName": "A", "lastName": "B", "role": "parent"});
    let refused = app.post("/api/auth/register", None, body).await;
    assert_eq!(refused.status, StatusCode::TOO_MANY_REQUESTS);
    assert!(refused.headers.contains_key("retry-after"));
}

#[tokio::test]
async fn the_default_per_ip_ceilings_let_a_class_of_35_sign_up_and_in_together() {
    let app = spawn_app_with(test_settings().await).await;
    for n in 0..35 {
        let email = format!("eleve{n}@lycee.fr");
        let body = json!({"email": email, "password": PASSWORD, "firstName": "Élève", "lastName": "Nsi", "role": "student", "classLevel": "premiere"});
        assert_eq!(
            app.post("/api/auth/register", None, body).await.status,
            StatusCode::CREATED,
            "student {n}"
        );
        // Each mistypes once, then signs in.
        assert_eq!(
            app.login(&email, "Wrong-Password-1").await.status,
            StatusCode::UNAUTHORIZED
        );
        assert_eq!(
            app.login(&email, PASSWORD).await.status,
            StatusCode::OK,
            "student {n}"
        );
    }
}

#[tokio::test]
async fn forwarded_addresses_count_only_from_trusted_proxies() {
    let mut settings = test_settings().await;
    settings.rate_limits.register_per_ip.max = 1;
    let app = spawn_app_with(settings).await;
    let register = |n: u32, forwarded: &'static str| {
        let app = &app;
        async move {
            app.client
                .post(format!("{}/api/auth/register", app.address))
                .header("x-forwarded-for", forwarded)
                .json(&json!({"email": format!("f{n}@famille.fr"), "password": PASSWORD, "firstName": "A", "lastName": "B", "role": "parent"}))
                .send()
                .await
                .expect("sent")
                .status()
        }
    };
    // The test client connects from 127.0.0.1, a trusted proxy by default: two different
    // forwarded clients each get their own budget.
    assert_eq!(register(1, "198.51.100.1").await, StatusCode::CREATED);
    assert_eq!(register(2, "198.51.100.2").await, StatusCode::CREATED);
    assert_eq!(
        register(3, "198.51.100.1").await,
        StatusCode::TOO_MANY_REQUESTS
    );
}
