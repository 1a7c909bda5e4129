//! "ARIA sees the failing test" (issue #15, item 4): a student asking about the code
//! question they work on gets hints from their latest run's first failing visible test.
//! The prompt is observed by a recording proxy in front of the real llama.cpp server
//! (it forwards every request and keeps its body: the real model answers). The stored
//! run (`code_runs`) is written as the API writes it (tests/api/code_questions.rs checks
//! the API's side).

use std::sync::{Arc, Mutex};

use axum::body::Bytes;
use nexus_auth::Role;
use reqwest::StatusCode;
use serde_json::{Value, json};

use crate::{Aria, real_model, spawn, spawn_with, stand_in};

const HIDDEN_NAME: &str = "grand test secret";
const HIDDEN_CALL: &str = "somme_paires([10, 20, 7])";
const HIDDEN_EXPECTED: &str = "30";
const REFERENCE: &str = "def somme_paires(t):\n    return sum(x for x in t if x % 2 == 0)\n";
const STUDENT_CODE: &str =
    "def somme_paires(t):\n    total = 0\n    for x in t:\n        total += x\n    return total\n";

fn code_question() -> Value {
    json!({
        "id": "paires", "type": "code", "points": 4,
        "prompt": "Écrire somme_paires(t) : la somme des éléments pairs de t.",
        "starter": "def somme_paires(t):\n    pass\n",
        "reference": REFERENCE,
        "tests": [
            {"name": "liste vide", "call": "somme_paires([])", "expected": "0"},
            {"name": "liste simple", "call": "somme_paires([1, 2, 3, 4])", "expected": "6"},
            {"name": "avec négatifs", "call": "somme_paires([-2, 1])", "expected": "-2"},
            {"name": HIDDEN_NAME, "call": HIDDEN_CALL, "expected": HIDDEN_EXPECTED, "hidden": true}
        ]
    })
}

/// The visible tests' results as the API stores them after a run of [`STUDENT_CODE`]
/// (its `TestResult`s): the first passes, the next two fail.
fn stored_results() -> Value {
    json!([
        {"name": "liste vide", "hidden": false, "passed": true, "points": 1.0, "maxPoints": 1.0,
         "call": "somme_paires([])", "expected": "0", "actual": "0"},
        {"name": "liste simple", "hidden": false, "passed": false, "points": 0.0, "maxPoints": 1.0,
         "call": "somme_paires([1, 2, 3, 4])", "expected": "6", "actual": "10"},
        {"name": "avec négatifs", "hidden": false, "passed": false, "points": 0.0, "maxPoints": 1.0,
         "call": "somme_paires([-2, 1])", "expected": "-2", "actual": "-1"}
    ])
}

/// An attempt of `student` at a new assessment holding [`code_question`] and a short
/// answer question; returns the attempt's id.
async fn code_attempt(aria: &Aria, teacher: i64, student: i64, kind: &str, status: &str) -> i64 {
    let assessment: i64 = sqlx::query_scalar(
        "insert into assessments (title, type, questions, created_by, is_published)
         values ('TP listes', $1, $2, $3, true) returning id",
    )
    .bind(kind)
    .bind(json!([
        code_question(),
        {"id": "q2", "type": "short_answer", "prompt": "Une pile est-elle LIFO ?", "points": 1, "accepted": ["oui"]}
    ]))
    .bind(teacher)
    .fetch_one(&aria.pool)
    .await
    .expect("assessment");
    sqlx::query_scalar(
        "insert into assessment_results (assessment_id, student_id, status, deadline_at)
         values ($1, $2, $3, now() + interval '1 hour') returning id",
    )
    .bind(assessment)
    .bind(student)
    .bind(status)
    .fetch_one(&aria.pool)
    .await
    .expect("attempt")
}

async fn store_run(aria: &Aria, attempt: i64, results: Value) {
    sqlx::query(
        "insert into code_runs (attempt_id, question_id, code, results) values ($1, 'paires', $2, $3)",
    )
    .bind(attempt)
    .bind(STUDENT_CODE)
    .bind(results)
    .execute(&aria.pool)
    .await
    .expect("run");
}

/// The shared llama.cpp test server (llama-cpp-python) ends a stream early, with no
/// text, when another request arrives meanwhile (its `interrupt_requests`, on by
/// default): other tests and other checkouts use it too. This module's model tests run
/// one at a time, and a question whose stream was cut that way is asked again (at most
/// 3 times); every request the model received is recorded all the same.
static MODEL_TURN: tokio::sync::Mutex<()> = tokio::sync::Mutex::const_new(());

async fn ask_until_generated(aria: &Aria, token: &str, body: Value) -> (StatusCode, Value) {
    let mut last = (StatusCode::OK, Value::Null);
    for _ in 0..3 {
        last = aria.chat(token, body.clone()).await;
        if last.0 != StatusCode::OK || last.1["metadata"]["generation"] == json!("enabled") {
            break;
        }
    }
    last
}

/// The last request the recording proxy passed on to the model.
fn last_request(bodies: &Mutex<Vec<Value>>) -> Value {
    let bodies = bodies.lock().expect("lock");
    bodies.last().cloned().expect("a request")
}

/// The system prompt of a request to the model.
fn system_prompt(request: &Value) -> &str {
    request["messages"][0]["content"].as_str().expect("system")
}

/// A proxy in front of the real model server that keeps each request's JSON body.
async fn recording_proxy(upstream: String) -> (String, Arc<Mutex<Vec<Value>>>) {
    let bodies = Arc::new(Mutex::new(Vec::new()));
    let seen = bodies.clone();
    let client = reqwest::Client::new();
    let app = axum::Router::new().route(
        "/v1/chat/completions",
        axum::routing::post(move |body: Bytes| {
            let (seen, client, upstream) = (seen.clone(), client.clone(), upstream.clone());
            async move {
                if let Ok(value) = serde_json::from_slice::<Value>(&body) {
                    seen.lock().expect("lock").push(value);
                }
                let forwarded = client
                    .post(format!(
                        "{}/chat/completions",
                        upstream.trim_end_matches('/')
                    ))
                    .header("content-type", "application/json")
                    .body(body)
                    .send()
                    .await;
                match forwarded {
                    Ok(response) => {
                        let status = axum::http::StatusCode::from_u16(response.status().as_u16())
                            .expect("status");
                        let kind = response
                            .headers()
                            .get("content-type")
                            .and_then(|v| v.to_str().ok())
                            .unwrap_or("application/json")
                            .to_owned();
                        let bytes = response.bytes().await.unwrap_or_default();
                        (status, [("content-type", kind)], bytes)
                    }
                    Err(_) => (
                        axum::http::StatusCode::BAD_GATEWAY,
                        [("content-type", "text/plain".to_owned())],
                        Bytes::new(),
                    ),
                }
            }
        }),
    );
    (stand_in(app).await, bodies)
}

#[tokio::test]
async fn the_model_receives_the_first_failing_visible_test_and_nothing_hidden_nor_the_solution() {
    let _turn = MODEL_TURN.lock().await;
    let mut model = real_model();
    let (proxy, bodies) = recording_proxy(model.base_url.clone()).await;
    model.base_url = proxy;
    let aria = spawn_with(100, Some(model)).await;
    let (teacher, _) = aria.user(Role::Teacher).await;
    let (student, token) = aria.user(Role::Student).await;
    let attempt = code_attempt(&aria, teacher, student, "tp", "in_progress").await;
    // Defence in depth: a hidden row in the stored run (the API never stores one) is
    // skipped too.
    let mut results = stored_results();
    results.as_array_mut().expect("array").push(json!(
        {"name": HIDDEN_NAME, "hidden": true, "passed": false, "points": 0.0, "maxPoints": 1.0,
         "call": HIDDEN_CALL, "expected": HIDDEN_EXPECTED, "actual": "-4242"}));
    store_run(&aria, attempt, results).await;

    let (status, answer) = ask_until_generated(
        &aria,
        &token,
        json!({"message": "Pourquoi mon code ne passe pas le test ?",
               "context": {"attemptId": attempt, "questionId": "paires"}}),
    )
    .await;
    assert_eq!(status, StatusCode::OK, "{answer}");
    assert_eq!(answer["metadata"]["policy"], json!("hints"), "{answer}");
    assert_eq!(
        answer["metadata"]["generation"],
        json!("enabled"),
        "{answer}"
    );

    let sent = last_request(&bodies);
    let system = system_prompt(&sent);
    let block_start = system
        .find("=== DÉBUT DU CONTEXTE DE L'EXERCICE DE CODE")
        .expect(system);
    let block_end = system
        .find("=== FIN DU CONTEXTE DE L'EXERCICE DE CODE ===")
        .expect(system);
    let block = &system[block_start..block_end];
    for shown in [
        "Énoncé de la question : Écrire somme_paires(t)",
        "total += x",
        "Tests visibles réussis : 1 sur 3.",
        "Premier test visible qui échoue : « liste simple »",
        "- appel : somme_paires([1, 2, 3, 4])",
        "- résultat attendu : 6",
        "- résultat obtenu : 10",
    ] {
        assert!(block.contains(shown), "{shown:?} missing from:\n{block}");
    }
    assert!(
        !block.contains("avec négatifs"),
        "only the first failing test: {block}"
    );
    assert!(system.contains("Ne donne JAMAIS de solution"), "{system}");
    let whole = sent.to_string();
    for secret in [
        HIDDEN_NAME,
        HIDDEN_CALL,
        "somme_paires([10, 20, 7])",
        "x % 2 == 0",
        "résultat attendu : 30",
        "-4242",
    ] {
        assert!(
            !whole.contains(secret),
            "{secret:?} reached the model: {whole}"
        );
    }
    let text = answer["response"].as_str().expect("text");
    assert!(
        !text.contains("x % 2") && !text.lines().any(|l| l.trim_start().starts_with("def ")),
        "{text}"
    );

    // Without the context, no exercise block: it comes from the request, not by chance.
    let (status, _) = aria.ask(&token, "Et une pile, c'est quoi ?").await;
    assert_eq!(status, StatusCode::OK);
    let sent = last_request(&bodies);
    assert!(
        !sent.to_string().contains("CONTEXTE DE L'EXERCICE"),
        "{sent}"
    );
}

#[tokio::test]
async fn before_any_run_the_model_is_told_so_and_when_all_pass_it_hears_of_hidden_cases_only_in_general()
 {
    let _turn = MODEL_TURN.lock().await;
    let mut model = real_model();
    let (proxy, bodies) = recording_proxy(model.base_url.clone()).await;
    model.base_url = proxy;
    let aria = spawn_with(100, Some(model)).await;
    let (teacher, _) = aria.user(Role::Teacher).await;
    let (student, token) = aria.user(Role::Student).await;
    let attempt = code_attempt(&aria, teacher, student, "tp", "in_progress").await;
    let context = json!({"attemptId": attempt, "questionId": "paires"});
    // What the model was sent for a question about this attempt's code.
    let sent_for = |message: &'static str| {
        let (aria, token, bodies, context) = (&aria, &token, &bodies, &context);
        async move {
            let (status, answer) = aria
                .chat(token, json!({"message": message, "context": context}))
                .await;
            assert_eq!(status, StatusCode::OK, "{answer}");
            last_request(bodies)
        }
    };

    let sent = sent_for("Par où commencer ?").await;
    let system = system_prompt(&sent);
    assert!(
        system.contains("n'a pas encore exécuté son code"),
        "{system}"
    );

    let all_pass: Vec<Value> = stored_results()
        .as_array()
        .expect("array")
        .iter()
        .map(|t| {
            let mut t = t.clone();
            t["passed"] = json!(true);
            t
        })
        .collect();
    store_run(&aria, attempt, json!(all_pass)).await;
    let sent = sent_for("Mon code est-il bon ?").await;
    let system = system_prompt(&sent);
    assert!(
        system.contains("Tests visibles réussis : 3 sur 3.")
            && system.contains("Tous les tests visibles passent."),
        "{system}"
    );
    assert!(!sent.to_string().contains(HIDDEN_CALL));
}

#[tokio::test]
async fn a_context_naming_someone_elses_finished_or_foreign_attempt_or_question_is_refused() {
    let aria = spawn(100).await;
    let (teacher, teacher_token) = aria.user(Role::Teacher).await;
    let (student, token) = aria.user(Role::Student).await;
    let (other, _) = aria.user(Role::Student).await;
    let own = code_attempt(&aria, teacher, student, "tp", "in_progress").await;
    let foreign = code_attempt(&aria, teacher, other, "tp", "in_progress").await;
    let finished = code_attempt(&aria, teacher, student, "tp", "submitted").await;
    let late = code_attempt(&aria, teacher, student, "tp", "in_progress").await;
    sqlx::query(
        "update assessment_results set deadline_at = now() - interval '1 minute' where id = $1",
    )
    .bind(late)
    .execute(&aria.pool)
    .await
    .expect("late");
    store_run(&aria, foreign, stored_results()).await;

    let ask = |context: Value| json!({"message": "Pourquoi mon code échoue ?", "context": context});
    for (what, who, context, field, message) in [
        (
            "another student's attempt",
            &token,
            json!({"attemptId": foreign, "questionId": "paires"}),
            "context.attemptId",
            "Tentative introuvable.",
        ),
        (
            "an unknown attempt (same answer: ids cannot be probed)",
            &token,
            json!({"attemptId": foreign + 1000, "questionId": "paires"}),
            "context.attemptId",
            "Tentative introuvable.",
        ),
        (
            "a submitted attempt",
            &token,
            json!({"attemptId": finished, "questionId": "paires"}),
            "context.attemptId",
            "Cette tentative est terminée : ARIA ne voit plus son code.",
        ),
        (
            "an attempt past its deadline",
            &token,
            json!({"attemptId": late, "questionId": "paires"}),
            "context.attemptId",
            "Cette tentative est terminée : ARIA ne voit plus son code.",
        ),
        (
            "a question not in the attempt",
            &token,
            json!({"attemptId": own, "questionId": "autre"}),
            "context.questionId",
            "Cette question de code ne fait pas partie de la tentative.",
        ),
        (
            "a question of the attempt that is not a code question",
            &token,
            json!({"attemptId": own, "questionId": "q2"}),
            "context.questionId",
            "Cette question de code ne fait pas partie de la tentative.",
        ),
        (
            "a question without its attempt",
            &token,
            json!({"questionId": "paires"}),
            "context.attemptId",
            "Indique la tentative de cette question.",
        ),
        (
            "a teacher (no attempt of theirs)",
            &teacher_token,
            json!({"attemptId": own, "questionId": "paires"}),
            "context.attemptId",
            "Tentative introuvable.",
        ),
    ] {
        let (status, body) = aria.chat(who, ask(context)).await;
        assert_eq!(status, StatusCode::UNPROCESSABLE_ENTITY, "{what}: {body}");
        assert_eq!(body["details"][field], json!(message), "{what}: {body}");
        assert!(
            !body.to_string().contains("total += x"),
            "{what}: nothing of the run: {body}"
        );
    }
    assert_eq!(
        aria.count("select count(*) from aria_messages").await,
        0,
        "refused before anything is stored"
    );

    // The seed contract's context still works, and the student's own attempt too.
    let (status, body) = aria
        .chat(
            &token,
            ask(json!({"currentCourse": "structures-lineaires", "userLevel": "terminale"})),
        )
        .await;
    assert_eq!(status, StatusCode::OK, "{body}");
    let (status, body) = aria
        .chat(
            &token,
            ask(json!({"attemptId": own, "questionId": "paires", "userLevel": "terminale"})),
        )
        .await;
    assert_eq!(status, StatusCode::OK, "{body}");
    assert_eq!(body["metadata"]["policy"], json!("hints"), "{body}");
}

#[tokio::test]
async fn a_code_question_of_an_exam_without_help_is_refused_whatever_the_wording() {
    let aria = spawn(100).await;
    let (teacher, _) = aria.user(Role::Teacher).await;
    let (student, token) = aria.user(Role::Student).await;
    let exam = code_attempt(&aria, teacher, student, "exam", "in_progress").await;
    store_run(&aria, exam, stored_results()).await;
    let (status, body) = aria
        .chat(
            &token,
            json!({"message": "Bonjour, une petite question", "context": {"attemptId": exam, "questionId": "paires"}}),
        )
        .await;
    assert_eq!(status, StatusCode::OK, "{body}");
    assert_eq!(body["metadata"]["policy"], json!("exam_refused"), "{body}");
    assert!(
        !body.to_string().contains("liste simple"),
        "nothing of the run: {body}"
    );
}
