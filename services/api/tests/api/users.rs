use nexus_auth::Role;
use reqwest::StatusCode;
use serde_json::json;

use crate::helpers::{PASSWORD, spawn_app};

#[tokio::test]
async fn an_admin_lists_users_filtered_searched_and_paginated() {
    let app = spawn_app().await;
    let admin = app.user(Role::Admin).await;
    for _ in 0..3 {
        app.user(Role::Student).await;
    }
    app.user(Role::Teacher).await;

    let students = app
        .get("/api/users?role=student&page=1&limit=2", Some(&admin.token))
        .await;
    assert_eq!(students.status, StatusCode::OK, "{}", students.body);
    assert_eq!(students.body["users"].as_array().expect("users").len(), 2);
    assert_eq!(
        students.body["pagination"],
        json!({"page": 1, "limit": 2, "total": 3, "pages": 2})
    );
    assert!(
        students.body["users"]
            .as_array()
            .expect("users")
            .iter()
            .all(|u| u["role"] == json!("student"))
    );

    let page_two = app
        .get("/api/users?role=student&page=2&limit=2", Some(&admin.token))
        .await;
    assert_eq!(page_two.body["users"].as_array().expect("users").len(), 1);

    let search = app.get("/api/users?q=TEACHER-", Some(&admin.token)).await;
    assert_eq!(search.body["pagination"]["total"], json!(1));
    // `%` and `_` are literal characters in a search, not wildcards.
    let wildcard = app.get("/api/users?q=%25", Some(&admin.token)).await;
    assert_eq!(wildcard.body["pagination"]["total"], json!(0));

    let capped = app.get("/api/users?limit=1000", Some(&admin.token)).await;
    assert_eq!(capped.body["pagination"]["limit"], json!(100));
}

#[tokio::test]
async fn an_admin_creates_a_teacher_who_can_then_log_in() {
    let app = spawn_app().await;
    let admin = app.user(Role::Admin).await;
    let created = app
        .post(
            "/api/users",
            Some(&admin.token),
            json!({"email": "prof.nsi@lycee.fr", "password": PASSWORD, "firstName": "Paul", "lastName": "Lefèvre", "role": "teacher"}),
        )
        .await;
    assert_eq!(created.status, StatusCode::CREATED, "{}", created.body);
    let id = created.body["userId"].as_i64().expect("id");
    let login = app.login("prof.nsi@lycee.fr", PASSWORD).await;
    assert_eq!(login.body["user"]["role"], json!("teacher"));
    let shown = app
        .get(&format!("/api/users/{id}"), Some(&admin.token))
        .await;
    assert_eq!(shown.body["user"]["lastName"], json!("Lefèvre"));
    assert_eq!(
        app.get("/api/users/999999", Some(&admin.token))
            .await
            .status,
        StatusCode::NOT_FOUND
    );
}

#[tokio::test]
async fn deactivating_an_account_ends_its_sessions_and_reactivating_restores_login() {
    let app = spawn_app().await;
    let admin = app.user(Role::Admin).await;
    let student = app.user(Role::Student).await;
    let path = format!("/api/users/{}/status", student.id);

    let off = app
        .patch(&path, Some(&admin.token), json!({"isActive": false}))
        .await;
    assert_eq!(off.status, StatusCode::OK, "{}", off.body);
    assert_eq!(off.body["user"]["isActive"], json!(false));
    assert_eq!(
        app.get("/api/auth/me", Some(&student.token)).await.status,
        StatusCode::FORBIDDEN
    );
    let revoked: i64 = sqlx::query_scalar(
        "select count(*) from auth_tokens where user_id = $1 and revoked_at is null",
    )
    .bind(student.id)
    .fetch_one(&app.pool)
    .await
    .expect("count");
    assert_eq!(revoked, 0);
    let told: i64 = sqlx::query_scalar(
        "select count(*) from outbox where topic = 'account' and payload->>'userId' = $1::text",
    )
    .bind(student.id)
    .fetch_one(&app.pool)
    .await
    .expect("outbox");
    assert_eq!(
        told, 1,
        "the hub is told to close the account's open connections"
    );

    app.patch(&path, Some(&admin.token), json!({"isActive": true}))
        .await;
    assert_eq!(
        app.login(&student.email, PASSWORD).await.status,
        StatusCode::OK
    );
}

#[tokio::test]
async fn a_role_change_takes_effect_on_the_next_request() {
    let app = spawn_app().await;
    let admin = app.user(Role::Admin).await;
    let parent = app.user(Role::Parent).await;
    assert_eq!(
        app.get("/api/me/children", Some(&parent.token))
            .await
            .status,
        StatusCode::OK
    );

    let changed = app
        .patch(
            &format!("/api/users/{}/role", parent.id),
            Some(&admin.token),
            json!({"role": "teacher"}),
        )
        .await;
    assert_eq!(changed.status, StatusCode::OK, "{}", changed.body);
    assert_eq!(changed.body["user"]["role"], json!("teacher"));
    assert_eq!(
        app.get("/api/me/children", Some(&parent.token))
            .await
            .status,
        StatusCode::FORBIDDEN
    );

    let needs_level = app
        .patch(
            &format!("/api/users/{}/role", parent.id),
            Some(&admin.token),
            json!({"role": "student"}),
        )
        .await;
    assert_eq!(needs_level.status, StatusCode::UNPROCESSABLE_ENTITY);
    let student = app
        .patch(
            &format!("/api/users/{}/role", parent.id),
            Some(&admin.token),
            json!({"role": "student", "classLevel": "premiere"}),
        )
        .await;
    assert_eq!(student.body["user"]["classLevel"], json!("premiere"));
}

#[tokio::test]
async fn an_admin_cannot_lock_themselves_out() {
    let app = spawn_app().await;
    let admin = app.user(Role::Admin).await;
    let status = app
        .patch(
            &format!("/api/users/{}/status", admin.id),
            Some(&admin.token),
            json!({"isActive": false}),
        )
        .await;
    assert_eq!(status.status, StatusCode::CONFLICT);
    let role = app
        .patch(
            &format!("/api/users/{}/role", admin.id),
            Some(&admin.token),
            json!({"role": "student", "classLevel": "premiere"}),
        )
        .await;
    assert_eq!(role.status, StatusCode::CONFLICT);
    assert_eq!(role.error_code(), "cannot_change_self");
}

#[tokio::test]
async fn the_create_admin_command_creates_a_first_administrator() {
    let app = spawn_app().await;
    let output = tokio::process::Command::new(env!("CARGO_BIN_EXE_nexus-api"))
        .args([
            "create-admin",
            "--email",
            "Direction@Lycee.fr",
            "--first-name",
            "Anne",
            "--last-name",
            "Proviseure",
        ])
        .env("DATABASE_URL", app.settings.common.database_url.expose())
        .env("ADMIN_PASSWORD", PASSWORD)
        .env("LOG_FORMAT", "pretty")
        .output()
        .await
        .expect("run nexus-api");
    assert!(
        output.status.success(),
        "{}",
        String::from_utf8_lossy(&output.stderr)
    );
    let login = app.login("direction@lycee.fr", PASSWORD).await;
    assert_eq!(login.body["user"]["role"], json!("admin"));

    let weak = tokio::process::Command::new(env!("CARGO_BIN_EXE_nexus-api"))
        .args(["create-admin", "--email", "other@lycee.fr"])
        .env("DATABASE_URL", app.settings.common.database_url.expose())
        .env("ADMIN_PASSWORD", "password")
        .output()
        .await
        .expect("run nexus-api");
    assert!(!weak.status.success(), "a weak password is refused");
}
