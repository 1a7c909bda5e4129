//! Issue #17: email verification, the seed's extra registration fields, and the
//! parental consent that gates chat for students under 15.

use nexus_auth::Role;
use reqwest::StatusCode;
use serde_json::{Value, json};

use crate::{
    fixtures::School,
    helpers::{PASSWORD, TestApp, eventually, spawn_app},
};

fn registration(email: &str) -> Value {
    json!({
        "email": email, "password": PASSWORD, "confirmPassword": PASSWORD,
        "firstName": "Inès", "lastName": "Morel", "role": "student", "classLevel": "premiere",
        "dateOfBirth": "2009-05-14",
    })
}

/// The verification code of the newest mail to `email`.
async fn verification_code(app: &TestApp, email: &str) -> String {
    let mail = eventually("the verification mail", || async {
        app.mails()
            .await
            .into_iter()
            .rev()
            .find(|m| m.contains(email) && m.contains("Code de v"))
    })
    .await;
    mail.lines()
        .skip_while(|l| !l.starts_with("Code de v"))
        .skip(1)
        .map(str::trim)
        .find(|l| !l.is_empty())
        .expect("code line")
        .to_owned()
}

#[tokio::test]
async fn registration_checks_confirm_password_and_birth_date_by_field() {
    let app = spawn_app().await;
    let mut body = registration("ines@lycee.fr");
    body["confirmPassword"] = json!("Autre-Chose-42");
    body["dateOfBirth"] = json!("14/05/2009");
    let answer = app.post("/api/auth/register", None, body).await;
    assert_eq!(
        answer.status,
        StatusCode::UNPROCESSABLE_ENTITY,
        "{}",
        answer.body
    );
    assert!(
        answer.body["details"]["confirmPassword"].is_string(),
        "{}",
        answer.body
    );
    assert!(
        answer.body["details"]["dateOfBirth"].is_string(),
        "{}",
        answer.body
    );

    let mut future = registration("ines@lycee.fr");
    future["dateOfBirth"] = json!("2099-01-01");
    let answer = app.post("/api/auth/register", None, future).await;
    assert_eq!(answer.status, StatusCode::UNPROCESSABLE_ENTITY);
    assert!(
        answer.body["details"]["dateOfBirth"].is_string(),
        "{}",
        answer.body
    );

    // The seed's alias for the birth date is accepted too, and stored.
    let mut alias = registration("ines@lycee.fr");
    let date = alias["dateOfBirth"].take();
    alias.as_object_mut().expect("object").remove("dateOfBirth");
    alias["birthDate"] = date;
    let answer = app.post("/api/auth/register", None, alias).await;
    assert_eq!(answer.status, StatusCode::CREATED, "{}", answer.body);
    let stored: Option<String> =
        sqlx::query_scalar("select date_of_birth::text from users where email = 'ines@lycee.fr'")
            .fetch_one(&app.pool)
            .await
            .expect("user");
    assert_eq!(stored.as_deref(), Some("2009-05-14"));
}

#[tokio::test]
async fn the_verification_link_confirms_the_address_once_and_not_after_it_expires() {
    let app = spawn_app().await;
    let answer = app
        .post("/api/auth/register", None, registration("ines@lycee.fr"))
        .await;
    assert_eq!(answer.status, StatusCode::CREATED, "{}", answer.body);
    // Unverified accounts work at once (a class signs up and starts).
    let login = app.login("ines@lycee.fr", PASSWORD).await;
    assert_eq!(login.status, StatusCode::OK);
    let token = login.body["accessToken"]
        .as_str()
        .expect("token")
        .to_owned();
    let me = app.get("/api/auth/me", Some(&token)).await;
    assert_eq!(me.body["user"]["isVerified"], json!(false));

    let code = verification_code(&app, "ines@lycee.fr").await;
    let mail = app.mails().await.join("\n");
    assert!(
        mail.contains("verifier-email?token="),
        "the mail carries a link"
    );

    let wrong = app
        .post(
            "/api/auth/verify-email",
            None,
            json!({"token": "pas-un-code"}),
        )
        .await;
    assert_eq!(wrong.status, StatusCode::BAD_REQUEST);
    assert_eq!(wrong.error_code(), "invalid_verification_token");

    let ok = app
        .post("/api/auth/verify-email", None, json!({"token": code}))
        .await;
    assert_eq!(ok.status, StatusCode::OK, "{}", ok.body);
    let me = app.get("/api/auth/me", Some(&token)).await;
    assert_eq!(me.body["user"]["isVerified"], json!(true));

    let again = app
        .post("/api/auth/verify-email", None, json!({"token": code}))
        .await;
    assert_eq!(again.status, StatusCode::BAD_REQUEST, "single use");

    let resend = app
        .post("/api/auth/verify-email/resend", Some(&token), json!({}))
        .await;
    assert_eq!(resend.status, StatusCode::CONFLICT, "already verified");

    // An expired link does not work.
    let other = app.user(Role::Parent).await;
    let resend = app
        .post(
            "/api/auth/verify-email/resend",
            Some(&other.token),
            json!({}),
        )
        .await;
    assert_eq!(resend.status, StatusCode::ACCEPTED, "{}", resend.body);
    let code = verification_code(&app, &other.email).await;
    sqlx::query(
        "update auth_tokens set expires_at = now() - interval '1 second'
         where user_id = $1 and token_type = 'verify_email'",
    )
    .bind(other.id)
    .execute(&app.pool)
    .await
    .expect("expire");
    let expired = app
        .post("/api/auth/verify-email", None, json!({"token": code}))
        .await;
    assert_eq!(expired.status, StatusCode::BAD_REQUEST);
    let verified: bool = sqlx::query_scalar("select is_verified from users where id = $1")
        .bind(other.id)
        .fetch_one(&app.pool)
        .await
        .expect("user");
    assert!(!verified);

    let anonymous = app
        .post("/api/auth/verify-email/resend", None, json!({}))
        .await;
    assert_eq!(anonymous.status, StatusCode::UNAUTHORIZED);
}

async fn make_under_15(app: &TestApp, student: i64) {
    sqlx::query(
        "update users set date_of_birth = current_date - interval '12 years' where id = $1",
    )
    .bind(student)
    .execute(&app.pool)
    .await
    .expect("birth date");
}

#[tokio::test]
async fn a_student_under_15_chats_only_with_a_linked_verified_parents_consent() {
    let app = spawn_app().await;
    let school = School::new(&app).await;
    let opened = app
        .post(
            "/api/conversations",
            Some(&school.student.token),
            json!({"userId": school.teacher.id}),
        )
        .await;
    let conversation = opened.body["conversationId"].as_i64().expect("id");
    let send = |n: u32| {
        let app = &app;
        let token = school.student.token.clone();
        async move {
            app.post(
                &format!("/api/conversations/{conversation}/messages"),
                Some(&token),
                json!({"clientMessageId": format!("m{n}"), "body": "Bonjour"}),
            )
            .await
        }
    };
    assert_eq!(
        send(1).await.status,
        StatusCode::CREATED,
        "15 or older: free"
    );

    make_under_15(&app, school.student.id).await;
    let blocked = send(2).await;
    assert_eq!(blocked.status, StatusCode::FORBIDDEN);
    assert_eq!(blocked.error_code(), "parental_consent_required");
    let path = format!("/api/students/{}/consent", school.student.id);
    let status = app.get(&path, Some(&school.student.token)).await;
    assert_eq!(status.body["blocked"], json!(true), "{}", status.body);

    // Refusals: the student, a teacher, an admin, a parent not linked, an unverified parent.
    let stranger = app.user(Role::Parent).await;
    for (who, token) in [
        ("student", &school.student.token),
        ("teacher", &school.teacher.token),
        ("admin", &school.admin.token),
        ("unlinked parent", &stranger.token),
    ] {
        let answer = app.put(&path, Some(token), json!({"given": true})).await;
        assert_eq!(answer.status, StatusCode::FORBIDDEN, "{who}");
    }
    for (who, token) in [
        ("teacher", &school.teacher.token),
        ("unlinked parent", &stranger.token),
    ] {
        assert_eq!(
            app.get(&path, Some(token)).await.status,
            StatusCode::FORBIDDEN,
            "{who}"
        );
    }
    let unverified = app
        .put(&path, Some(&school.parent.token), json!({"given": true}))
        .await;
    assert_eq!(unverified.status, StatusCode::FORBIDDEN);
    assert_eq!(unverified.error_code(), "email_not_verified");
    assert_eq!(send(3).await.status, StatusCode::FORBIDDEN);

    sqlx::query("update users set is_verified = true where id = $1")
        .bind(school.parent.id)
        .execute(&app.pool)
        .await
        .expect("verify");
    let given = app
        .put(&path, Some(&school.parent.token), json!({"given": true}))
        .await;
    assert_eq!(given.status, StatusCode::OK, "{}", given.body);
    assert_eq!(given.body["given"], json!(true));
    assert_eq!(send(4).await.status, StatusCode::CREATED, "consent given");

    let withdrawn = app
        .put(&path, Some(&school.parent.token), json!({"given": false}))
        .await;
    assert_eq!(withdrawn.status, StatusCode::OK);
    assert_eq!(
        send(5).await.status,
        StatusCode::FORBIDDEN,
        "consent withdrawn"
    );

    // Consent from a parent who is later unlinked no longer counts.
    app.put(&path, Some(&school.parent.token), json!({"given": true}))
        .await;
    assert_eq!(send(6).await.status, StatusCode::CREATED);
    sqlx::query("delete from parent_links where parent_id = $1")
        .bind(school.parent.id)
        .execute(&app.pool)
        .await
        .expect("unlink");
    assert_eq!(
        send(7).await.status,
        StatusCode::FORBIDDEN,
        "unlinked parent"
    );

    // The audit log records who did what; only admins read it.
    let log = app
        .get("/api/admin/audit-log", Some(&school.admin.token))
        .await;
    assert_eq!(log.status, StatusCode::OK, "{}", log.body);
    let entries = log.body["entries"].as_array().expect("entries");
    let actions: Vec<(&str, i64, i64)> = entries
        .iter()
        .map(|e| {
            (
                e["action"].as_str().expect("action"),
                e["actorId"].as_i64().expect("actor"),
                e["subjectId"].as_i64().expect("subject"),
            )
        })
        .collect();
    let (p, s) = (school.parent.id, school.student.id);
    assert_eq!(
        actions,
        vec![
            ("consent_given", p, s),
            ("consent_withdrawn", p, s),
            ("consent_given", p, s)
        ]
    );
    for token in [
        &school.parent.token,
        &school.teacher.token,
        &school.student.token,
    ] {
        assert_eq!(
            app.get("/api/admin/audit-log", Some(token)).await.status,
            StatusCode::FORBIDDEN
        );
    }
}
