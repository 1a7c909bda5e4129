use nexus_auth::Role;
use reqwest::StatusCode;
use serde_json::json;

use crate::helpers::spawn_app;

#[tokio::test]
async fn a_student_edits_their_profile_and_clears_optional_fields() {
    let app = spawn_app().await;
    let student = app.user(Role::Student).await;
    let updated = app
        .patch(
            "/api/me",
            Some(&student.token),
            json!({"firstName": " Zoé ", "phone": "+33 6 12 34 56 78", "classLevel": "terminale",
                   "schoolName": "Lycée Condorcet", "academicYear": "2026-2027"}),
        )
        .await;
    assert_eq!(updated.status, StatusCode::OK, "{}", updated.body);
    assert_eq!(updated.body["user"]["firstName"], json!("Zoé"));
    assert_eq!(updated.body["user"]["lastName"], json!("Durand"));
    assert_eq!(updated.body["profile"]["classLevel"], json!("terminale"));
    assert_eq!(updated.body["profile"]["academicYear"], json!("2026-2027"));

    let cleared = app
        .patch(
            "/api/me",
            Some(&student.token),
            json!({"phone": "", "schoolName": ""}),
        )
        .await;
    assert_eq!(cleared.body["user"]["phone"], json!(null));
    assert_eq!(cleared.body["profile"]["schoolName"], json!(null));
    assert_eq!(cleared.body["profile"]["classLevel"], json!("terminale"));
}

#[tokio::test]
async fn profile_edits_are_validated_and_student_fields_are_for_students() {
    let app = spawn_app().await;
    let student = app.user(Role::Student).await;
    let bad = app
        .patch(
            "/api/me",
            Some(&student.token),
            json!({"firstName": "", "classLevel": "cm2", "academicYear": "2026"}),
        )
        .await;
    assert_eq!(bad.status, StatusCode::UNPROCESSABLE_ENTITY);
    for field in ["firstName", "classLevel", "academicYear"] {
        assert!(
            bad.body["details"][field].is_string(),
            "{field}: {}",
            bad.body
        );
    }
    let parent = app.user(Role::Parent).await;
    let refused = app
        .patch(
            "/api/me",
            Some(&parent.token),
            json!({"classLevel": "premiere"}),
        )
        .await;
    assert_eq!(refused.status, StatusCode::UNPROCESSABLE_ENTITY);
    let role = app
        .patch("/api/me", Some(&parent.token), json!({"role": "admin"}))
        .await;
    assert_eq!(
        role.status,
        StatusCode::UNPROCESSABLE_ENTITY,
        "unknown fields such as role are refused"
    );
}

#[tokio::test]
async fn a_parent_links_a_child_with_the_pairing_code_once() {
    let app = spawn_app().await;
    let student = app.user(Role::Student).await;
    let parent = app.user(Role::Parent).await;
    let other_parent = app.user(Role::Parent).await;

    let code = app
        .post("/api/me/pairing-code", Some(&student.token), json!({}))
        .await;
    assert_eq!(code.status, StatusCode::CREATED, "{}", code.body);
    let code = code.body["code"].as_str().expect("code").to_owned();
    assert_eq!(code.len(), 8);

    // Typed with a dash and in lower case: still the same code.
    let typed = format!("{}-{}", &code[..4], &code[4..]).to_lowercase();
    let linked = app
        .post(
            "/api/me/children",
            Some(&parent.token),
            json!({"code": typed}),
        )
        .await;
    assert_eq!(linked.status, StatusCode::CREATED, "{}", linked.body);
    assert_eq!(linked.body["child"]["id"], json!(student.id));

    let children = app.get("/api/me/children", Some(&parent.token)).await;
    let children = children.body["children"]
        .as_array()
        .expect("children")
        .clone();
    assert_eq!(children.len(), 1);
    assert_eq!(children[0]["classLevel"], json!("premiere"));

    let reused = app
        .post(
            "/api/me/children",
            Some(&other_parent.token),
            json!({"code": code}),
        )
        .await;
    assert_eq!(reused.status, StatusCode::BAD_REQUEST);
    assert_eq!(reused.error_code(), "invalid_pairing_code");
    assert_eq!(
        app.get("/api/me/children", Some(&other_parent.token))
            .await
            .body["children"],
        json!([])
    );

    let parents = app.get("/api/me/parents", Some(&student.token)).await;
    assert_eq!(parents.body["parents"][0]["id"], json!(parent.id));
}

#[tokio::test]
async fn an_expired_or_replaced_pairing_code_is_refused() {
    let app = spawn_app().await;
    let student = app.user(Role::Student).await;
    let parent = app.user(Role::Parent).await;
    let first = app
        .post("/api/me/pairing-code", Some(&student.token), json!({}))
        .await
        .body["code"]
        .clone();
    let second = app
        .post("/api/me/pairing-code", Some(&student.token), json!({}))
        .await
        .body["code"]
        .clone();
    let replaced = app
        .post(
            "/api/me/children",
            Some(&parent.token),
            json!({"code": first}),
        )
        .await;
    assert_eq!(replaced.status, StatusCode::BAD_REQUEST);

    let expiry: chrono::DateTime<chrono::Utc> =
        sqlx::query_scalar("select expires_at from pairing_codes where used_at is null")
            .fetch_one(&app.pool)
            .await
            .expect("code row");
    let days = (expiry - chrono::Utc::now()).num_hours();
    assert!((167..=168).contains(&days), "valid 7 days, got {days} h");
    sqlx::query("update pairing_codes set expires_at = now() - interval '1 second'")
        .execute(&app.pool)
        .await
        .expect("expire");
    let expired = app
        .post(
            "/api/me/children",
            Some(&parent.token),
            json!({"code": second}),
        )
        .await;
    assert_eq!(expired.status, StatusCode::BAD_REQUEST);
}

#[tokio::test]
async fn linking_the_same_child_twice_conflicts() {
    let app = spawn_app().await;
    let student = app.user(Role::Student).await;
    let parent = app.user(Role::Parent).await;
    for expected in [StatusCode::CREATED, StatusCode::CONFLICT] {
        let code = app
            .post("/api/me/pairing-code", Some(&student.token), json!({}))
            .await
            .body["code"]
            .clone();
        assert_eq!(
            app.post(
                "/api/me/children",
                Some(&parent.token),
                json!({"code": code})
            )
            .await
            .status,
            expected
        );
    }
}
