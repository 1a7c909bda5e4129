//! Code questions that run: tests at save time, "Exécuter" on the visible tests, grading
//! on submit against all tests, hidden tests never shown, the teacher's override.
//! Needs bubblewrap and Debian's python3 (scripts/test.sh installs them).

use reqwest::StatusCode;
use serde_json::{Value, json};

use crate::{
    fixtures::School,
    helpers::{TestApp, spawn_app},
};

const HIDDEN_CALL: &str = "somme_paires([10, 20, 7])";
const HIDDEN_EXPECTED: &str = "30";

fn code_question(reference: Option<&str>) -> Value {
    let mut q = json!({
        "id": "paires", "type": "code", "prompt": "Écrire somme_paires(t) : la somme des éléments pairs de t.",
        "points": 4, "starter": "def somme_paires(t):\n    pass\n",
        "tests": [
            {"name": "liste simple", "call": "somme_paires([1, 2, 3, 4])", "expected": "6"},
            {"name": "liste vide", "call": "somme_paires([])", "expected": "0"},
            {"name": "moyenne", "call": "round(somme_paires([2, 4]) / 3, 4)", "expected": "2.0", "points": 1},
            {"name": "grand test", "call": HIDDEN_CALL, "expected": HIDDEN_EXPECTED, "hidden": true}
        ]
    });
    if let Some(reference) = reference {
        q["reference"] = json!(reference);
    }
    q
}

/// A TP of `questions`, published to the school's class.
async fn published(app: &TestApp, school: &School, questions: Value) -> i64 {
    let body = json!({"title": "TP listes", "type": "tp", "questions": questions});
    school.publish_assessment(app, body).await
}

const GOOD: &str = "def somme_paires(t):\n    return sum(x for x in t if x % 2 == 0)\n";

async fn start(app: &TestApp, school: &School, id: i64) -> (i64, Value) {
    let started = app.start_attempt(id, &school.student.token).await;
    assert_eq!(started.status, StatusCode::CREATED, "{}", started.body);
    (
        started.body["attempt"]["id"].as_i64().expect("attempt"),
        started.body.clone(),
    )
}

#[tokio::test]
async fn a_reference_solution_that_fails_its_own_tests_is_refused() {
    let app = spawn_app().await;
    let school = School::new(&app).await;
    let wrong = "def somme_paires(t):\n    return sum(t)\n";
    let mut bad_literal = code_question(Some(GOOD));
    bad_literal["tests"][0]["expected"] = json!("__import__('os').getcwd()");
    let mut both = code_question(None);
    both["tests"][0]["stdin"] = json!("1\n");
    for (what, question, says) in [
        (
            "a reference that fails",
            code_question(Some(wrong)),
            &["liste simple", "solution de référence"][..],
        ),
        (
            "an expected value that is code",
            bad_literal,
            &["littérale"],
        ),
        ("a call and a stdin", both, &[]),
    ] {
        let refused = app
            .post(
                "/api/assessments",
                Some(&school.teacher.token),
                json!({"title": "TP", "type": "tp", "questions": [question]}),
            )
            .await;
        assert_eq!(
            refused.status,
            StatusCode::UNPROCESSABLE_ENTITY,
            "{what}: {}",
            refused.body
        );
        let text = refused.body.to_string();
        for word in says {
            assert!(text.contains(word), "{what}: {text}");
        }
    }

    published(&app, &school, json!([code_question(Some(GOOD))])).await;
}

#[tokio::test]
async fn students_run_visible_tests_and_never_see_hidden_ones() {
    let app = spawn_app().await;
    let school = School::new(&app).await;
    let id = published(&app, &school, json!([code_question(Some(GOOD))])).await;
    let (attempt, started) = start(&app, &school, id).await;
    let seen = started.to_string();
    assert!(
        !seen.contains("somme_paires([10, 20, 7])") && !seen.contains("grand test"),
        "{seen}"
    );
    assert!(
        !seen.contains("x % 2 == 0"),
        "the reference solution leaks: {seen}"
    );
    let question = &started["assessment"]["questions"][0];
    assert_eq!(question["tests"].as_array().map(Vec::len), Some(3));
    assert_eq!(question["hiddenTests"], json!(1));

    // Wrong on odd numbers: the first visible test fails with expected and actual.
    let almost = "def somme_paires(t):\n    return sum(t)\n";
    let run = app
        .post(
            &format!("/api/attempts/{attempt}/run"),
            Some(&school.student.token),
            json!({"questionId": "paires", "code": almost}),
        )
        .await;
    assert_eq!(run.status, StatusCode::OK, "{}", run.body);
    let results = run.body["results"].as_array().expect("results");
    assert_eq!(results.len(), 3, "visible tests only: {}", run.body);
    assert_eq!(results[0]["passed"], json!(false));
    assert_eq!(results[0]["expected"], json!("6"));
    assert_eq!(results[0]["actual"], json!("10"));
    assert_eq!(results[1]["passed"], json!(true));
    assert!(!run.body.to_string().contains(HIDDEN_CALL));

    let crash = app
        .post(
            &format!("/api/attempts/{attempt}/run"),
            Some(&school.student.token),
            json!({"questionId": "paires", "code": "def somme_paires(t):\n    return t[0] // 0\n"}),
        )
        .await;
    let first = &crash.body["results"][0];
    assert!(
        first["error"]
            .as_str()
            .is_some_and(|e| e.starts_with("ZeroDivisionError")),
        "{}",
        crash.body
    );
}

#[tokio::test]
async fn submitting_grades_every_test_with_partial_credit_and_the_teacher_can_override() {
    let app = spawn_app().await;
    let school = School::new(&app).await;
    let id = published(&app, &school, json!([code_question(Some(GOOD))])).await;
    let (attempt, _) = start(&app, &school, id).await;
    // Right on the visible tests, wrong on the hidden one (hard-coded answers).
    let cheat = "def somme_paires(t):\n    print('All tests passed!')\n    return {(1, 2, 3, 4): 6, (): 0, (2, 4): 6}.get(tuple(t), 0)\n";
    let submitted = app
        .submit(
            attempt,
            &school.student.token,
            json!({"answers": {"paires": cheat}}),
        )
        .await;
    assert_eq!(submitted.status, StatusCode::OK, "{}", submitted.body);
    let view = &submitted.body["attempt"];
    assert_eq!(view["status"], json!("graded"), "{}", submitted.body);
    // 3 of 4 test points passed: 4 × 3/4.
    assert_eq!(view["score"], json!(3.0), "{}", submitted.body);

    let staff = app
        .get(
            &format!("/api/attempts/{attempt}"),
            Some(&school.teacher.token),
        )
        .await;
    let tests = staff.body["attempt"]["results"][0]["grade"]["tests"]
        .as_array()
        .expect("per-test results")
        .clone();
    assert_eq!(
        tests
            .iter()
            .map(|t| t["passed"].as_bool())
            .collect::<Vec<_>>(),
        vec![Some(true), Some(true), Some(true), Some(false)]
    );
    assert_eq!(tests[3]["name"], json!("Test caché 1"));
    assert!(tests[3].get("expected").is_none() && tests[3].get("actual").is_none());

    // The result reached the student as a notification (delivered live by the hub).
    let notes = app
        .get("/api/notifications", Some(&school.student.token))
        .await;
    assert_eq!(
        notes.body["notifications"][0]["kind"],
        json!("result_graded"),
        "{}",
        notes.body
    );

    // The teacher overrides the automatic grade; then it is final.
    let overridden = app
        .post(
            &format!("/api/attempts/{attempt}/grade"),
            Some(&school.teacher.token),
            json!({"questions": {"paires": {"points": 1, "feedback": "Réponses codées en dur."}}}),
        )
        .await;
    assert_eq!(overridden.status, StatusCode::OK, "{}", overridden.body);
    assert_eq!(overridden.body["attempt"]["score"], json!(1.0));
    let again = app
        .post(
            &format!("/api/attempts/{attempt}/grade"),
            Some(&school.teacher.token),
            json!({"questions": {"paires": {"points": 2}}}),
        )
        .await;
    assert_eq!(again.status, StatusCode::CONFLICT, "{}", again.body);
}

#[tokio::test]
async fn an_infinite_loop_submitted_is_a_timeout_and_zero_not_a_stuck_server() {
    let app = spawn_app().await;
    let school = School::new(&app).await;
    let mut question = code_question(None);
    question["timeLimitMs"] = json!(300);
    let id = published(&app, &school, json!([question])).await;
    let (attempt, _) = start(&app, &school, id).await;
    let submitted = app
        .submit(
            attempt,
            &school.student.token,
            json!({"answers": {"paires": "def somme_paires(t):\n    while True:\n        pass\n"}}),
        )
        .await;
    assert_eq!(submitted.status, StatusCode::OK, "{}", submitted.body);
    assert_eq!(submitted.body["attempt"]["score"], json!(0.0));
    let health = app.get("/health", None).await;
    assert_eq!(health.status, StatusCode::OK);
}

#[tokio::test]
async fn only_the_student_of_the_attempt_may_run_code_and_runs_are_limited() {
    let app = spawn_app().await;
    let school = School::new(&app).await;
    let id = published(&app, &school, json!([code_question(None)])).await;
    let (attempt, _) = start(&app, &school, id).await;
    let body = json!({"questionId": "paires", "code": GOOD});
    let path = format!("/api/attempts/{attempt}/run");
    assert_eq!(
        app.post(&path, None, body.clone()).await.status,
        StatusCode::UNAUTHORIZED
    );
    for who in [&school.teacher, &school.parent, &school.admin] {
        assert_eq!(
            app.post(&path, Some(&who.token), body.clone()).await.status,
            StatusCode::FORBIDDEN
        );
    }
    let other = app.user(nexus_auth::Role::Student).await;
    assert_eq!(
        app.post(&path, Some(&other.token), body.clone())
            .await
            .status,
        StatusCode::NOT_FOUND
    );
    let unknown = app
        .post(
            &path,
            Some(&school.student.token),
            json!({"questionId": "nope", "code": GOOD}),
        )
        .await;
    assert_eq!(unknown.status, StatusCode::UNPROCESSABLE_ENTITY);
    let mut statuses = Vec::new();
    for _ in 0..21 {
        statuses.push(
            app.post(&path, Some(&school.student.token), body.clone())
                .await
                .status,
        );
    }
    assert!(
        statuses[..20].iter().all(|s| *s == StatusCode::OK),
        "{statuses:?}"
    );
    assert_eq!(statuses[20], StatusCode::TOO_MANY_REQUESTS);
}

/// The stored latest run of a question: `(code, results)`.
async fn latest_run(app: &TestApp, attempt: i64, question: &str) -> Option<(String, Value)> {
    sqlx::query_as::<_, (String, sqlx::types::Json<Value>)>(
        "select code, results from code_runs where attempt_id = $1 and question_id = $2",
    )
    .bind(attempt)
    .bind(question)
    .fetch_optional(&app.pool)
    .await
    .expect("code_runs")
    .map(|(code, results)| (code, results.0))
}

#[tokio::test]
async fn a_run_is_kept_as_the_latest_for_aria_replaced_by_the_next_and_without_hidden_tests() {
    let app = spawn_app().await;
    let school = School::new(&app).await;
    let id = published(&app, &school, json!([code_question(Some(GOOD))])).await;
    let (attempt, _) = start(&app, &school, id).await;
    assert!(latest_run(&app, attempt, "paires").await.is_none());
    let path = format!("/api/attempts/{attempt}/run");

    let almost = "def somme_paires(t):\n    return sum(t)\n";
    let first = app
        .post(
            &path,
            Some(&school.student.token),
            json!({"questionId": "paires", "code": almost}),
        )
        .await;
    assert_eq!(first.status, StatusCode::OK, "{}", first.body);
    let (code, results) = latest_run(&app, attempt, "paires").await.expect("stored");
    assert_eq!(code, almost);
    assert_eq!(results, first.body["results"], "what the student saw");
    let tests = results.as_array().expect("array");
    assert_eq!(tests.len(), 3, "visible tests only: {results}");
    assert_eq!(tests[0]["name"], json!("liste simple"));
    assert_eq!(tests[0]["passed"], json!(false));
    assert_eq!(
        (&tests[0]["expected"], &tests[0]["actual"]),
        (&json!("6"), &json!("10"))
    );
    let stored = results.to_string();
    assert!(
        !stored.contains(HIDDEN_CALL) && !stored.contains("grand test"),
        "{stored}"
    );
    assert!(tests.iter().all(|t| t["hidden"] == json!(false)));

    let second = app
        .post(
            &path,
            Some(&school.student.token),
            json!({"questionId": "paires", "code": GOOD}),
        )
        .await;
    assert_eq!(second.status, StatusCode::OK, "{}", second.body);
    let (code, results) = latest_run(&app, attempt, "paires").await.expect("stored");
    assert_eq!(code, GOOD, "the second run replaces the first");
    assert!(
        results
            .as_array()
            .expect("array")
            .iter()
            .all(|t| t["passed"] == json!(true)),
        "{results}"
    );
    let rows: i64 = sqlx::query_scalar("select count(*) from code_runs")
        .fetch_one(&app.pool)
        .await
        .expect("count");
    assert_eq!(rows, 1, "one row per attempt and question");

    // A refused run (another student's attempt) stores nothing.
    let other = app.user(nexus_auth::Role::Student).await;
    let refused = app
        .post(
            &path,
            Some(&other.token),
            json!({"questionId": "paires", "code": "x = 1\n"}),
        )
        .await;
    assert_eq!(refused.status, StatusCode::NOT_FOUND);
    assert_eq!(
        latest_run(&app, attempt, "paires").await.expect("kept").0,
        GOOD
    );
}
