use nexus_auth::{AccessClaims, JwtKeys, Role};
use reqwest::StatusCode;
use secrecy::ExposeSecret;
use serde_json::json;

use crate::helpers::{PASSWORD, spawn_app};

fn student_registration(email: &str) -> serde_json::Value {
    json!({
        "email": email, "password": PASSWORD, "firstName": "Léa", "lastName": "Martin",
        "role": "student", "classLevel": "terminale", "schoolName": "Lycée Hugo"
    })
}

#[tokio::test]
async fn a_registered_student_logs_in_and_me_shows_the_profile() {
    let app = spawn_app().await;
    let registered = app
        .post(
            "/api/auth/register",
            None,
            student_registration("Lea.Martin@Lycee.fr"),
        )
        .await;
    assert_eq!(
        registered.status,
        StatusCode::CREATED,
        "{}",
        registered.body
    );
    assert_eq!(registered.body["success"], json!(true));
    let user_id = registered.body["userId"].as_i64().expect("userId");

    let login = app.login("lea.martin@lycee.fr", PASSWORD).await;
    assert_eq!(login.status, StatusCode::OK, "{}", login.body);
    assert_eq!(login.body["user"]["id"], json!(user_id));
    assert_eq!(login.body["user"]["role"], json!("student"));
    let token = login.body["accessToken"].as_str().expect("token");

    let me = app.get("/api/auth/me", Some(token)).await;
    assert_eq!(me.status, StatusCode::OK);
    assert_eq!(me.body["user"]["email"], json!("lea.martin@lycee.fr"));
    assert_eq!(me.body["user"]["firstName"], json!("Léa"));
    assert_eq!(me.body["profile"]["classLevel"], json!("terminale"));
    assert_eq!(me.body["profile"]["schoolName"], json!("Lycée Hugo"));
    assert!(me.body["user"].get("passwordHash").is_none());
}

#[tokio::test]
async fn stored_passwords_are_argon2id_hashes() {
    let app = spawn_app().await;
    app.post(
        "/api/auth/register",
        None,
        student_registration("hash@lycee.fr"),
    )
    .await;
    let stored: String =
        sqlx::query_scalar("select password_hash from users where email = 'hash@lycee.fr'")
            .fetch_one(&app.pool)
            .await
            .expect("user");
    assert!(
        stored.starts_with("$argon2id$v=19$m=19456,t=2,p=1$"),
        "{stored}"
    );
    assert!(!stored.contains(PASSWORD));
}

#[tokio::test]
async fn a_parent_registers_without_a_class_level() {
    let app = spawn_app().await;
    let answer = app
        .post(
            "/api/auth/register",
            None,
            json!({"email": "parent@famille.fr", "password": PASSWORD, "firstName": "Sophie", "lastName": "Martin", "role": "parent"}),
        )
        .await;
    assert_eq!(answer.status, StatusCode::CREATED, "{}", answer.body);
    let me = app.login("parent@famille.fr", PASSWORD).await;
    let me = app
        .get("/api/auth/me", me.body["accessToken"].as_str())
        .await;
    assert_eq!(me.body["user"]["role"], json!("parent"));
    assert!(me.body.get("profile").is_none());
}

#[tokio::test]
async fn teachers_and_admins_cannot_register_themselves() {
    let app = spawn_app().await;
    for role in ["teacher", "admin"] {
        let mut body = student_registration(&format!("{role}@lycee.fr"));
        body["role"] = json!(role);
        body.as_object_mut().expect("object").remove("classLevel");
        let answer = app.post("/api/auth/register", None, body).await;
        assert_eq!(answer.status, StatusCode::FORBIDDEN, "{role}");
        assert_eq!(answer.error_code(), "role_not_allowed");
    }
    let count: i64 = sqlx::query_scalar("select count(*) from users")
        .fetch_one(&app.pool)
        .await
        .expect("count");
    assert_eq!(count, 0);
}

#[tokio::test]
async fn an_email_already_registered_in_another_case_conflicts() {
    let app = spawn_app().await;
    assert_eq!(
        app.post(
            "/api/auth/register",
            None,
            student_registration("lea@lycee.fr")
        )
        .await
        .status,
        StatusCode::CREATED
    );
    let again = app
        .post(
            "/api/auth/register",
            None,
            student_registration("  LEA@Lycee.FR "),
        )
        .await;
    assert_eq!(again.status, StatusCode::CONFLICT);
    assert_eq!(again.error_code(), "email_taken");
}

#[tokio::test]
async fn registration_reports_every_invalid_field() {
    let app = spawn_app().await;
    let answer = app
        .post(
            "/api/auth/register",
            None,
            json!({"email": "not-an-email", "password": "azerty", "firstName": "", "lastName": "x".repeat(101),
                   "role": "student", "classLevel": "seconde", "phone": "abc"}),
        )
        .await;
    assert_eq!(answer.status, StatusCode::UNPROCESSABLE_ENTITY);
    assert_eq!(answer.error_code(), "invalid_fields");
    for field in [
        "email",
        "password",
        "firstName",
        "lastName",
        "classLevel",
        "phone",
    ] {
        assert!(
            answer.body["details"][field].is_string(),
            "{field} missing in {}",
            answer.body
        );
    }
}

#[tokio::test]
async fn common_and_personal_passwords_are_refused() {
    let app = spawn_app().await;
    for password in ["motdepasse123", "password1", "Martin-2026!", "lea.martin99"] {
        let mut body = student_registration("lea.martin99@lycee.fr");
        body["password"] = json!(password);
        let answer = app.post("/api/auth/register", None, body).await;
        assert_eq!(
            answer.status,
            StatusCode::UNPROCESSABLE_ENTITY,
            "{password}"
        );
        assert!(answer.body["details"]["password"].is_string());
    }
}

#[tokio::test]
async fn a_wrong_password_is_answered_exactly_like_an_unknown_email() {
    let app = spawn_app().await;
    let student = app.user(Role::Student).await;
    let wrong_password = app.login(&student.email, "Wrong-Password-1").await;
    let unknown_email = app.login("nobody-here@lycee.fr", "Wrong-Password-1").await;
    assert_eq!(wrong_password.status, StatusCode::UNAUTHORIZED);
    assert_eq!(wrong_password.status, unknown_email.status);
    assert_eq!(wrong_password.body, unknown_email.body);
    assert_eq!(wrong_password.error_code(), "invalid_credentials");
}

#[tokio::test]
async fn login_accepts_the_email_in_any_case() {
    let app = spawn_app().await;
    let student = app.user(Role::Student).await;
    assert_eq!(
        app.login(&student.email.to_uppercase(), PASSWORD)
            .await
            .status,
        StatusCode::OK
    );
}

#[tokio::test]
async fn a_deactivated_account_cannot_log_in_and_its_tokens_stop_working() {
    let app = spawn_app().await;
    let student = app.user(Role::Student).await;
    sqlx::query("update users set is_active = false where id = $1")
        .bind(student.id)
        .execute(&app.pool)
        .await
        .expect("update");

    let login = app.login(&student.email, PASSWORD).await;
    assert_eq!(login.status, StatusCode::FORBIDDEN);
    assert_eq!(login.error_code(), "account_disabled");
    let me = app.get("/api/auth/me", Some(&student.token)).await;
    assert_eq!(me.status, StatusCode::FORBIDDEN);
    let refresh = app.refresh(&student.refresh_token).await;
    assert_eq!(refresh.status, StatusCode::FORBIDDEN);
}

#[tokio::test]
async fn refresh_rotates_the_pair_and_the_old_refresh_token_is_used_up() {
    let app = spawn_app().await;
    let student = app.user(Role::Student).await;
    let rotated = app.refresh(&student.refresh_token).await;
    assert_eq!(rotated.status, StatusCode::OK, "{}", rotated.body);
    let new_refresh = rotated.body["refreshToken"].as_str().expect("refresh");
    assert_ne!(new_refresh, student.refresh_token);
    let access = rotated.body["accessToken"].as_str().expect("access");
    assert_eq!(
        app.get("/api/auth/me", Some(access)).await.status,
        StatusCode::OK
    );

    let next = app.refresh(new_refresh).await;
    assert_eq!(next.status, StatusCode::OK);
}

#[tokio::test]
async fn reusing_a_refresh_token_revokes_its_whole_family() {
    let app = spawn_app().await;
    let student = app.user(Role::Student).await;
    let stolen = student.refresh_token.clone();
    let legit = app.refresh(&stolen).await;
    let legit_refresh = legit.body["refreshToken"]
        .as_str()
        .expect("refresh")
        .to_owned();

    let replay = app.refresh(&stolen).await;
    assert_eq!(replay.status, StatusCode::UNAUTHORIZED);
    assert_eq!(replay.error_code(), "refresh_token_reused");

    // The legitimate holder's newer token belongs to the same family: revoked too.
    let after = app.refresh(&legit_refresh).await;
    assert_eq!(after.status, StatusCode::UNAUTHORIZED);
    assert_eq!(after.error_code(), "invalid_refresh_token");

    // Another session of the same user (another family) is untouched.
    let other = app.login(&student.email, PASSWORD).await;
    let other_refresh = other.body["refreshToken"].as_str().expect("refresh");
    assert_eq!(app.refresh(other_refresh).await.status, StatusCode::OK);
}

#[tokio::test]
async fn an_unknown_or_expired_refresh_token_is_refused() {
    let app = spawn_app().await;
    let student = app.user(Role::Student).await;
    let unknown = app.refresh("not-a-token").await;
    assert_eq!(unknown.status, StatusCode::UNAUTHORIZED);
    sqlx::query(
        "update auth_tokens set expires_at = now() - interval '1 second' where user_id = $1",
    )
    .bind(student.id)
    .execute(&app.pool)
    .await
    .expect("expire");
    let expired = app.refresh(&student.refresh_token).await;
    assert_eq!(expired.status, StatusCode::UNAUTHORIZED);
    assert_eq!(expired.error_code(), "invalid_refresh_token");
}

#[tokio::test]
async fn logout_ends_the_session_of_the_refresh_token() {
    let app = spawn_app().await;
    let student = app.user(Role::Student).await;
    let out = app
        .post(
            "/api/auth/logout",
            None,
            json!({"refreshToken": student.refresh_token}),
        )
        .await;
    assert_eq!(out.status, StatusCode::OK);
    assert_eq!(out.body["success"], json!(true));
    let refresh = app.refresh(&student.refresh_token).await;
    assert_eq!(refresh.status, StatusCode::UNAUTHORIZED);
    // Logging out with an unknown token answers the same (it reveals nothing).
    assert_eq!(
        app.post("/api/auth/logout", None, json!({"refreshToken": "nope"}))
            .await
            .status,
        StatusCode::OK
    );
}

fn keys_of(app: &crate::helpers::TestApp) -> JwtKeys {
    JwtKeys::new(
        app.settings.common.jwt_secret.expose_secret().as_bytes(),
        &app.settings.common.jwt_audience,
        std::time::Duration::from_secs(3600),
    )
}

fn claims(user_id: i64, role: Role) -> AccessClaims {
    let now = chrono::Utc::now().timestamp();
    AccessClaims {
        sub: user_id.to_string(),
        user_id,
        role,
        exp: now + 600,
        iat: now,
        aud: "nexus-reussite".into(),
        token_type: "access".into(),
        jti: "test".into(),
        sid: None,
    }
}

#[tokio::test]
async fn expired_tampered_unsigned_and_wrong_type_tokens_are_refused() {
    let app = spawn_app().await;
    let student = app.user(Role::Student).await;
    let keys = keys_of(&app);
    assert_eq!(
        app.get(
            "/api/auth/me",
            Some(&keys.sign(&claims(student.id, Role::Student)))
        )
        .await
        .status,
        StatusCode::OK
    );

    let mut expired = claims(student.id, Role::Student);
    expired.exp = chrono::Utc::now().timestamp() - 60;
    expired.iat = expired.exp - 3600;
    let answer = app.get("/api/auth/me", Some(&keys.sign(&expired))).await;
    assert_eq!(answer.status, StatusCode::UNAUTHORIZED);
    assert_eq!(answer.error_code(), "token_expired");

    let mut refresh_typed = claims(student.id, Role::Student);
    refresh_typed.token_type = "refresh".into();
    let mut other_audience = claims(student.id, Role::Student);
    other_audience.aud = "another-app".into();

    // Tampered: the payload says admin, the signature is the student's.
    let token = student.token.clone();
    let parts: Vec<&str> = token.split('.').collect();
    use base64::{Engine, engine::general_purpose::URL_SAFE_NO_PAD};
    let forged_payload =
        URL_SAFE_NO_PAD.encode(serde_json::to_vec(&claims(student.id, Role::Admin)).expect("json"));
    let tampered = format!("{}.{}.{}", parts[0], forged_payload, parts[2]);
    let none_header = URL_SAFE_NO_PAD.encode(br#"{"alg":"none","typ":"JWT"}"#);
    let unsigned = format!("{none_header}.{forged_payload}.");
    let hs512 = jsonwebtoken::encode(
        &jsonwebtoken::Header::new(jsonwebtoken::Algorithm::HS512),
        &claims(student.id, Role::Admin),
        &jsonwebtoken::EncodingKey::from_secret(
            app.settings.common.jwt_secret.expose_secret().as_bytes(),
        ),
    )
    .expect("sign");
    let other_key = JwtKeys::new(
        b"some-other-secret-some-other-secret",
        "nexus-reussite",
        std::time::Duration::from_secs(60),
    )
    .issue_access(student.id, Role::Admin);

    for (name, token) in [
        ("wrong type", keys.sign(&refresh_typed)),
        ("wrong audience", keys.sign(&other_audience)),
        ("tampered payload", tampered),
        ("alg none", unsigned),
        ("HS512 (not allowed)", hs512),
        ("other key", other_key),
        ("garbage", "abc.def.ghi".to_owned()),
    ] {
        let answer = app.get("/api/auth/me", Some(&token)).await;
        assert_eq!(answer.status, StatusCode::UNAUTHORIZED, "{name}");
        assert_eq!(answer.error_code(), "invalid_token", "{name}");
    }
}

#[tokio::test]
async fn a_token_for_a_deleted_user_is_refused() {
    let app = spawn_app().await;
    let student = app.user(Role::Student).await;
    sqlx::query("delete from users where id = $1")
        .bind(student.id)
        .execute(&app.pool)
        .await
        .expect("delete");
    assert_eq!(
        app.get("/api/auth/me", Some(&student.token)).await.status,
        StatusCode::UNAUTHORIZED
    );
}
