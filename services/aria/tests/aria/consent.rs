//! Issue #17: a student under 15 asks ARIA only once a linked parent has consented; ARIA
//! reads the same tables as the API (it shares the database).

use nexus_auth::Role;
use reqwest::StatusCode;
use serde_json::json;

use crate::spawn;

#[tokio::test]
async fn a_student_under_15_needs_a_linked_parents_consent_to_ask_aria() {
    let aria = spawn(100).await;
    let (student, token) = aria.user(Role::Student).await;
    let (parent, _) = aria.user(Role::Parent).await;
    let question = json!({"message": "C'est quoi une pile ?"});

    let (status, _) = aria.chat(&token, question.clone()).await;
    assert_eq!(status, StatusCode::OK, "no birth date known: not gated");

    sqlx::query(
        "update users set date_of_birth = current_date - interval '14 years' where id = $1",
    )
    .bind(student)
    .execute(&aria.pool)
    .await
    .expect("birth date");
    let (status, body) = aria.chat(&token, question.clone()).await;
    assert_eq!(status, StatusCode::FORBIDDEN, "{body}");
    assert_eq!(body["code"], json!("parental_consent_required"));
    assert!(
        body["error"]
            .as_str()
            .is_some_and(|m| m.contains("moins de 15 ans"))
    );
    let stored = format!(
        "select count(*) from aria_messages m join aria_sessions s on s.session_id = m.session_id
         where s.user_id = {student} and m.message_type = 'user'"
    );
    assert_eq!(
        aria.count(&stored).await,
        1,
        "the refused question is not stored"
    );

    // Consent recorded by a parent who is not linked does not count.
    sqlx::query("insert into parental_consents (student_id, parent_id) values ($1, $2)")
        .bind(student)
        .bind(parent)
        .execute(&aria.pool)
        .await
        .expect("consent");
    let (status, _) = aria.chat(&token, question.clone()).await;
    assert_eq!(
        status,
        StatusCode::FORBIDDEN,
        "the consenting parent is not linked"
    );

    sqlx::query("insert into parent_links (parent_id, student_id) values ($1, $2)")
        .bind(parent)
        .bind(student)
        .execute(&aria.pool)
        .await
        .expect("link");
    let (status, body) = aria.chat(&token, question.clone()).await;
    assert_eq!(status, StatusCode::OK, "{body}");

    sqlx::query("delete from parental_consents where student_id = $1")
        .bind(student)
        .execute(&aria.pool)
        .await
        .expect("withdraw");
    let (status, _) = aria.chat(&token, question).await;
    assert_eq!(status, StatusCode::FORBIDDEN, "withdrawn");
}
