//! The demo data of the development set-up: a real NSI curriculum that the API's own
//! validation accepts, and quizzes whose stored answers grade to full marks.

use reqwest::StatusCode;
use serde_json::{Value, json};

use crate::helpers::{spawn_app_with, test_settings};

#[tokio::test]
async fn the_demo_curriculum_seeds_idempotently_and_its_quizzes_grade_their_own_answers() {
    let settings = test_settings().await;
    let app = spawn_app_with(settings).await;
    let dir = nexus_api::seed::default_content_dir();
    let first = nexus_api::seed::seed_demo(&app.pool, "Girafe-Violette-42", &dir)
        .await
        .expect("seed");
    assert!(
        first.courses_created >= 12,
        "at least 12 courses, got {}",
        first.courses_created
    );
    assert_eq!(first.quizzes_created, first.courses_created);
    let again = nexus_api::seed::seed_demo(&app.pool, "Girafe-Violette-42", &dir)
        .await
        .expect("seed again");
    assert_eq!(
        (
            again.accounts_created,
            again.courses_created,
            again.quizzes_created
        ),
        (0, 0, 0)
    );

    let levels: Vec<(String, i64)> = sqlx::query_as(
        "select level, count(*) from courses where is_published group by level order by level",
    )
    .fetch_all(&app.pool)
    .await
    .expect("levels");
    assert_eq!(levels.len(), 2, "both Première and Terminale: {levels:?}");

    let student = app
        .login("student@nexus-reussite.fr", "Girafe-Violette-42")
        .await
        .body["accessToken"]
        .as_str()
        .expect("token")
        .to_owned();
    let teacher = app
        .login("teacher@nexus-reussite.fr", "Girafe-Violette-42")
        .await
        .body["accessToken"]
        .as_str()
        .expect("token")
        .to_owned();
    let parent = app
        .login("parent@nexus-reussite.fr", "Girafe-Violette-42")
        .await
        .body["accessToken"]
        .as_str()
        .expect("token")
        .to_owned();
    assert_eq!(
        app.get("/api/me/children", Some(&parent)).await.body["children"]
            .as_array()
            .expect("children")
            .len(),
        1
    );

    let courses = app.get("/api/courses?limit=100", Some(&student)).await.body;
    for summary in courses["courses"].as_array().expect("courses") {
        let course = app
            .get(&format!("/api/courses/{}", summary["id"]), Some(&student))
            .await
            .body;
        let chapters = course["content"]["chapters"].as_array().expect("chapters");
        assert!(chapters.len() >= 2, "{}", course["title"]);
        let sections: Vec<&Value> = chapters
            .iter()
            .flat_map(|c| c["sections"].as_array().expect("sections"))
            .collect();
        assert!(
            sections
                .iter()
                .all(|s| !s["content"].as_str().unwrap_or_default().is_empty()),
            "{}",
            course["title"]
        );
        assert!(
            sections
                .iter()
                .any(|s| !s["examples"].as_array().expect("examples").is_empty()),
            "{}",
            course["title"]
        );
        assert!(
            sections
                .iter()
                .any(|s| !s["exercises"].as_array().expect("exercises").is_empty()),
            "{}",
            course["title"]
        );
    }

    // The demo student's last weeks: three courses started (one finished), three quizzes
    // graded on past days — the dashboard and its charts have something to show.
    let dashboard = app.get("/api/dashboard/student", Some(&student)).await.body;
    assert_eq!(dashboard["averages"]["coursesStarted"], 3, "{dashboard}");
    assert_eq!(dashboard["averages"]["coursesCompleted"], 1, "{dashboard}");
    let results = dashboard["recentResults"].as_array().expect("results");
    assert_eq!(results.len(), 3, "{dashboard}");
    for result in results {
        assert_eq!(result["status"], "graded", "{result}");
        let (score, max) = (
            result["score"].as_f64().expect("score"),
            result["maxScore"].as_f64().expect("max"),
        );
        assert!(
            score > 0.0 && score < max,
            "neither nothing nor everything: {result}"
        );
    }

    // Every quiz open to the demo student, answered with the answers the teacher stored,
    // earns full marks: the curriculum's answers and the grader agree.
    let due =
        app.get("/api/dashboard/student", Some(&student)).await.body["dueAssessments"].clone();
    let due = due.as_array().expect("due");
    assert!(!due.is_empty());
    for quiz in due {
        let id = quiz["assessmentId"].as_i64().expect("id");
        let full = app
            .get(&format!("/api/assessments/{id}"), Some(&teacher))
            .await
            .body;
        let answers: serde_json::Map<String, Value> = full["assessment"]["questions"]
            .as_array()
            .expect("questions")
            .iter()
            .map(|q| (q["id"].as_str().expect("id").to_owned(), correct_answer(q)))
            .collect();
        let attempt = app.start_attempt(id, &student).await;
        assert_eq!(attempt.status, StatusCode::CREATED, "{}", attempt.body);
        let attempt_id = attempt.body["attempt"]["id"].as_i64().expect("attempt");
        let result = app
            .submit(attempt_id, &student, json!({"answers": answers}))
            .await;
        assert_eq!(
            result.body["attempt"]["score"], result.body["attempt"]["maxScore"],
            "{}: {}",
            full["assessment"]["title"], result.body
        );
    }
}

fn correct_answer(question: &Value) -> Value {
    match question["type"].as_str().expect("type") {
        "single_choice" | "multiple_choice" | "true_false" => question["correct"].clone(),
        "short_answer" => question["accepted"][0].clone(),
        "numeric" => question["answer"].clone(),
        // Code questions with tests: the reference solution, run in the sandbox on
        // submit, must earn every point (the curriculum's tests and solutions agree).
        "code" => question["reference"].clone(),
        "ordering" => Value::from(
            question["items"]
                .as_array()
                .expect("items")
                .iter()
                .map(|i| i["id"].clone())
                .collect::<Vec<_>>(),
        ),
        _ => Value::Null,
    }
}
