//! Daily token budgets: counted per answer in the database, enforced before the model
//! is called, adjusted by the teacher per student and per class.

use nexus_auth::Role;
use reqwest::{Method, StatusCode};
use serde_json::json;

use crate::{real_model, spawn_with};

#[tokio::test]
async fn budgets_are_counted_enforced_and_adjusted_by_the_teacher() {
    let aria = spawn_with(100, Some(real_model())).await;
    let (teacher, teacher_token) = aria.user(Role::Teacher).await;
    let (_, other_teacher) = aria.user(Role::Teacher).await;
    let (first, first_token) = aria.user(Role::Student).await;
    let (second, second_token) = aria.user(Role::Student).await;
    let (_, parent) = aria.user(Role::Parent).await;
    let class = aria.class(teacher, &[first, second]).await;
    let question = json!({"message": "Qu'est-ce qu'une pile ?"});

    // Who may set budgets.
    let set = |token: &str, path: String, tokens: i64| {
        let token = token.to_owned();
        let aria = &aria;
        async move {
            aria.request(
                Method::PUT,
                &token,
                &path,
                Some(json!({"dailyTokens": tokens})),
            )
            .await
        }
    };
    let student_path = format!("/api/aria/students/{first}/budget");
    let class_path = format!("/api/aria/classes/{class}/budget");
    assert_eq!(
        set(&first_token, student_path.clone(), 10).await.0,
        StatusCode::FORBIDDEN
    );
    assert_eq!(
        set(&parent, student_path.clone(), 10).await.0,
        StatusCode::FORBIDDEN
    );
    assert_eq!(
        set(&other_teacher, student_path.clone(), 10).await.0,
        StatusCode::NOT_FOUND
    );
    assert_eq!(
        set(&other_teacher, class_path.clone(), 10).await.0,
        StatusCode::FORBIDDEN
    );
    assert_eq!(
        set(&teacher_token, student_path.clone(), -1).await.0,
        StatusCode::UNPROCESSABLE_ENTITY
    );
    let usage_path = format!("/api/aria/classes/{class}/usage");
    assert_eq!(
        aria.get(&first_token, &usage_path).await.0,
        StatusCode::FORBIDDEN
    );
    assert_eq!(
        aria.get(&other_teacher, &usage_path).await.0,
        StatusCode::FORBIDDEN
    );

    // A budget of 1 token: the first answer spends it, the next question is refused.
    assert_eq!(
        set(&teacher_token, student_path.clone(), 1).await.0,
        StatusCode::OK
    );
    let (status, answer) = aria.chat(&first_token, question.clone()).await;
    assert_eq!(status, StatusCode::OK, "{answer}");
    let spent = answer["metadata"]["tokensUsed"].as_i64().expect("tokens");
    assert!(spent > 1, "{answer}");
    let refused = reqwest::Client::new()
        .post(format!("{}/api/aria/chat", aria.address))
        .bearer_auth(&first_token)
        .json(&question)
        .send()
        .await
        .expect("send");
    assert_eq!(refused.status(), StatusCode::TOO_MANY_REQUESTS);
    let retry: u64 = refused.headers()["retry-after"]
        .to_str()
        .expect("header")
        .parse()
        .expect("seconds");
    assert!((1..=86_400).contains(&retry), "until tomorrow: {retry}");
    let body: serde_json::Value = refused.json().await.expect("json");
    assert_eq!(body["code"], json!("aria_budget_exhausted"));
    assert!(
        body["error"]
            .as_str()
            .expect("message")
            .contains("budget quotidien")
    );
    // The refused question was not stored: one question, one answer.
    assert_eq!(
        aria.count(&format!("select count(*) from aria_messages m join aria_sessions s using (session_id) where s.user_id = {first}")).await,
        2
    );

    // The teacher sees the use, in tokens and euros, and raises the budget.
    let (status, usage) = aria.get(&teacher_token, &usage_path).await;
    assert_eq!(status, StatusCode::OK, "{usage}");
    let row = usage["students"]
        .as_array()
        .expect("students")
        .iter()
        .find(|s| s["studentId"] == json!(first))
        .expect("first student")
        .clone();
    assert_eq!(row["usedTokens"], json!(spent));
    assert_eq!(row["dailyTokens"], json!(1));
    assert_eq!(row["requests"], json!(1));
    assert!(row["costEuros"].as_f64().expect("cost") > 0.0, "{row}");
    assert_eq!(usage["usedTokens"], json!(spent));
    assert_eq!(
        set(&teacher_token, student_path, 100_000).await.0,
        StatusCode::OK
    );
    assert_eq!(
        aria.chat(&first_token, question.clone()).await.0,
        StatusCode::OK
    );

    // A class budget below what the class spent: every member is refused, even one who
    // spent nothing.
    assert_eq!(set(&teacher_token, class_path, 1).await.0, StatusCode::OK);
    let (status, body) = aria.chat(&second_token, question).await;
    assert_eq!(status, StatusCode::TOO_MANY_REQUESTS);
    assert!(
        body["error"]
            .as_str()
            .expect("message")
            .contains("ta classe"),
        "{body}"
    );
}
