//! Daily token budgets: counted per answer in the database, enforced before the model
//! is called, adjusted by the teacher per student and per class.

use nexus_auth::Role;
use reqwest::{Method, StatusCode};
use serde_json::json;

use crate::{real_model, spawn_configured};

/// The conversation history sent to the model in these tests, in tokens.
const HISTORY_TOKENS: usize = 200;

#[tokio::test]
async fn budgets_are_counted_enforced_and_adjusted_by_the_teacher() {
    let model = real_model();
    let max_tokens = model.max_tokens;
    let aria = spawn_configured(100, Some(model), |s| s.history_tokens = HISTORY_TOKENS).await;
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

    // A budget of exactly what one answer may cost: the first answer spends part of
    // it, the next question is refused (what remains could not pay for its answer).
    let one_answer = nexus_aria::budget::reservation(
        max_tokens,
        HISTORY_TOKENS,
        question["message"].as_str().expect("message"),
    );
    assert_eq!(
        set(&teacher_token, student_path.clone(), one_answer)
            .await
            .0,
        StatusCode::OK
    );
    let (status, answer) = aria.chat(&first_token, question.clone()).await;
    assert_eq!(status, StatusCode::OK, "{answer}");
    let spent = answer["metadata"]["tokensUsed"].as_i64().expect("tokens");
    assert!(spent > 1 && spent <= one_answer, "{answer}");
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
    assert_eq!(row["dailyTokens"], json!(one_answer));
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

/// A provider that holds every call until `gate` opens, then answers in a few words,
/// reporting `tokens` of use. Returns its base URL and the calls it received.
async fn gated_model(
    gate: tokio::sync::watch::Receiver<bool>,
    tokens: u64,
) -> (String, std::sync::Arc<std::sync::atomic::AtomicUsize>) {
    crate::counted_provider(move || {
        let mut gate = gate.clone();
        async move {
            let _ = gate.wait_for(|open| *open).await;
            let body = format!(
                "data: {}\n\ndata: {}\n\ndata: [DONE]\n\n",
                json!({"choices": [{"delta": {"content": "Une pile est une structure LIFO."}}]}),
                json!({"choices": [], "usage": {"prompt_tokens": tokens / 2, "completion_tokens": tokens / 2}}),
            );
            ([("content-type", "text/event-stream")], body)
        }
    })
    .await
}

/// Sends `question` with each token at the same moment; the gate opens once `refused`
/// of them have been refused (or after 20 s, when fewer are). Returns the statuses.
async fn race(
    aria: &crate::Aria,
    tokens: &[String],
    question: &serde_json::Value,
    refused: usize,
    gate: &tokio::sync::watch::Sender<bool>,
) -> Vec<StatusCode> {
    use futures::StreamExt;
    let barrier = std::sync::Arc::new(tokio::sync::Barrier::new(tokens.len()));
    let mut answers: futures::stream::FuturesUnordered<_> = tokens
        .iter()
        .map(|token| {
            let barrier = barrier.clone();
            async move {
                barrier.wait().await;
                aria.chat(token, question.clone()).await.0
            }
        })
        .collect();
    let mut statuses = Vec::new();
    let _ = tokio::time::timeout(std::time::Duration::from_secs(20), async {
        while statuses.len() < refused {
            match answers.next().await {
                Some(status) => statuses.push(status),
                None => break,
            }
        }
    })
    .await;
    gate.send_replace(true);
    while let Some(status) = answers.next().await {
        statuses.push(status);
    }
    gate.send_replace(false);
    statuses
}

fn granted(statuses: &[StatusCode]) -> usize {
    assert!(
        statuses
            .iter()
            .all(|s| *s == StatusCode::OK || *s == StatusCode::TOO_MANY_REQUESTS),
        "{statuses:?}"
    );
    statuses.iter().filter(|s| **s == StatusCode::OK).count()
}

#[tokio::test]
async fn audit_07_parallel_questions_are_granted_no_more_than_the_budget_holds() {
    let (gate, opened) = tokio::sync::watch::channel(false);
    let (url, calls) = gated_model(opened, 100).await;
    let model = crate::model_at(url, "gpt-test", std::time::Duration::from_secs(60));
    let max_tokens = model.max_tokens;
    let aria = spawn_configured(100, Some(model), |s| s.history_tokens = HISTORY_TOKENS).await;
    let question = json!({"message": "Qu'est-ce qu'une pile ?"});
    let one_answer =
        nexus_aria::budget::reservation(max_tokens, HISTORY_TOKENS, "Qu'est-ce qu'une pile ?");
    let budget = |scope: &'static str, id: i64, tokens: i64| {
        sqlx::query("insert into aria_budgets (scope, scope_id, daily_tokens) values ($1, $2, $3)")
            .bind(scope)
            .bind(id)
            .bind(tokens)
            .execute(&aria.pool)
    };

    // A student's own budget holds two answers and a half: of eight questions sent at
    // once, two are answered.
    let (student, token) = aria.user(Role::Student).await;
    budget("student", student, 2 * one_answer + one_answer / 2)
        .await
        .expect("budget");
    let statuses = race(&aria, &vec![token; 8], &question, 6, &gate).await;
    assert_eq!(granted(&statuses), 2, "{statuses:?}");
    assert_eq!(calls.load(std::sync::atomic::Ordering::SeqCst), 2);
    assert_eq!(
        aria.count(&format!("select coalesce(sum(prompt_tokens + completion_tokens), 0)::int8 from aria_usage where user_id = {student}")).await,
        200,
        "the real use is counted"
    );
    assert_eq!(
        aria.count("select count(*) from aria_budget_reservations")
            .await,
        0,
        "reservations are settled"
    );

    // A class budget shared by three students, each with a budget of their own to
    // spare: three answers in all.
    let (teacher, _) = aria.user(Role::Teacher).await;
    let mut members = Vec::new();
    let mut tokens = Vec::new();
    for _ in 0..3 {
        let (id, token) = aria.user(Role::Student).await;
        members.push(id);
        tokens.extend([token.clone(), token.clone(), token]);
    }
    let class = aria.class(teacher, &members).await;
    budget("class", class, 3 * one_answer + one_answer / 2)
        .await
        .expect("budget");
    let statuses = race(&aria, &tokens, &question, 6, &gate).await;
    assert_eq!(granted(&statuses), 3, "{statuses:?}");
    assert_eq!(calls.load(std::sync::atomic::Ordering::SeqCst), 5);
}
