//! Issue #17, item 2: the data export (right of access), its limits and refusals, the
//! retention purge with a controlled clock, and the audit log's record of both. The ZIP
//! is opened with a real reader (the `zip` crate) and every file is checked.

use std::{collections::BTreeMap, io::Read};

use chrono::{Duration, Utc};
use nexus_api::privacy::{export, retention};
use nexus_auth::Role;
use reqwest::StatusCode;
use serde_json::{Value, json};

use crate::{
    fixtures::{School, add_member, class_message},
    helpers::{TestApp, TestUser, eventually, spawn_app, spawn_app_with, test_settings},
};

/// An app whose worker does not run: the test produces exports and purges itself.
async fn app_without_worker() -> TestApp {
    let mut settings = test_settings().await;
    settings.run_worker = false;
    spawn_app_with(settings).await
}

/// A graded attempt with these answers and score.
async fn graded_attempt(app: &TestApp, assessment: i64, student: i64, answers: Value, score: f64) {
    sqlx::query(
        "insert into assessment_results (assessment_id, student_id, status, answers, score, max_score,
                                         submitted_at, graded_at, feedback, breakdown)
         values ($1, $2, 'graded', $3, $4, 2, now(), now(), 'Bon travail', '{}')",
    )
    .bind(assessment)
    .bind(student)
    .bind(answers)
    .bind(score)
    .execute(&app.pool)
    .await
    .expect("attempt");
}

async fn aria_message(app: &TestApp, user: i64, text: &str, idle: Duration) -> String {
    let session = uuid::Uuid::new_v4().to_string();
    sqlx::query(
        "insert into aria_sessions (user_id, session_id, title, last_interaction, created_at)
         values ($1, $2, 'Révisions', $3, $3)",
    )
    .bind(user)
    .bind(&session)
    .bind(Utc::now() - idle)
    .execute(&app.pool)
    .await
    .expect("session");
    sqlx::query(
        "insert into aria_messages (session_id, message_type, content, created_at)
         values ($1, 'user', $2, $3), ($1, 'assistant', 'Une pile est LIFO.', $3)",
    )
    .bind(&session)
    .bind(text)
    .bind(Utc::now() - idle)
    .execute(&app.pool)
    .await
    .expect("messages");
    session
}

async fn notification(app: &TestApp, user: i64, title: &str, age: Duration) {
    sqlx::query(
        "insert into notifications (user_id, kind, title, body, created_at) values ($1, 'grade', $2, 'Note', $3)",
    )
    .bind(user)
    .bind(title)
    .bind(Utc::now() - age)
    .execute(&app.pool)
    .await
    .expect("notification");
}

/// Requests an export through the API, returns its id.
async fn request(app: &TestApp, user: &TestUser, path: &str) -> i64 {
    let answer = app.post(path, Some(&user.token), json!({})).await;
    assert_eq!(answer.status, StatusCode::ACCEPTED, "{}", answer.body);
    assert_eq!(
        answer.body["export"]["status"], "pending",
        "{}",
        answer.body
    );
    answer.body["export"]["id"].as_i64().expect("id")
}

/// Waits until the worker has made the export ready (the list says so).
async fn ready(app: &TestApp, user: &TestUser, id: i64) -> Value {
    eventually("the export to be ready", || async {
        let list = app.get("/api/me/data-exports", Some(&user.token)).await;
        assert_eq!(list.status, StatusCode::OK, "{}", list.body);
        list.body["exports"]
            .as_array()
            .expect("exports")
            .iter()
            .find(|e| e["id"] == id && e["status"] == "ready")
            .cloned()
    })
    .await
}

async fn download(app: &TestApp, token: &str, id: i64) -> (StatusCode, Vec<u8>) {
    let response = app
        .client
        .get(format!("{}/api/data-exports/{id}/download", app.address))
        .bearer_auth(token)
        .send()
        .await
        .expect("download");
    let status = response.status();
    (status, response.bytes().await.expect("body").to_vec())
}

/// Every file of the ZIP, by name, as text.
fn unzip(bytes: &[u8]) -> BTreeMap<String, String> {
    let mut archive = zip::ZipArchive::new(std::io::Cursor::new(bytes)).expect("a ZIP");
    let mut files = BTreeMap::new();
    for i in 0..archive.len() {
        let mut file = archive.by_index(i).expect("entry");
        let mut text = String::new();
        file.read_to_string(&mut text).expect("utf-8 file");
        files.insert(file.name().to_owned(), text);
    }
    files
}

fn json_of(files: &BTreeMap<String, String>, name: &str) -> Value {
    serde_json::from_str(files.get(name).unwrap_or_else(|| panic!("{name} missing")))
        .unwrap_or_else(|e| panic!("{name}: {e}"))
}

#[tokio::test]
async fn a_students_export_holds_all_their_data_and_nothing_of_another_students() {
    let app = spawn_app().await;
    let school = School::new(&app).await;
    let other = app.user(Role::Student).await;
    add_member(&app, school.class_id, other.id).await;
    let quiz = school.quiz(&app).await;
    graded_attempt(
        &app,
        quiz,
        school.student.id,
        json!({"q1": "REPONSE-DE-CAMILLE"}),
        1.5,
    )
    .await;
    graded_attempt(
        &app,
        quiz,
        other.id,
        json!({"q1": "REPONSE-DE-L-AUTRE"}),
        0.5,
    )
    .await;
    aria_message(
        &app,
        school.student.id,
        "QUESTION-ARIA-CAMILLE",
        Duration::zero(),
    )
    .await;
    aria_message(&app, other.id, "QUESTION-ARIA-AUTRE", Duration::zero()).await;
    notification(&app, school.student.id, "NOTIF-CAMILLE", Duration::zero()).await;
    notification(&app, other.id, "NOTIF-AUTRE", Duration::zero()).await;
    class_message(
        &app,
        school.class_id,
        school.student.id,
        "MESSAGE-DE-CAMILLE",
    )
    .await;
    class_message(&app, school.class_id, school.teacher.id, "MESSAGE-DU-PROF").await;
    class_message(&app, school.class_id, other.id, "MESSAGE-DE-L-AUTRE").await;
    sqlx::query("insert into student_progress (student_id, course_id, progress_percentage) values ($1, $2, 40)")
        .bind(school.student.id)
        .bind(school.course_id)
        .execute(&app.pool)
        .await
        .expect("progress");

    let id = request(&app, &school.student, "/api/me/data-exports").await;
    let listed = ready(&app, &school.student, id).await;
    assert_eq!(
        listed["downloadUrl"],
        format!("/api/data-exports/{id}/download")
    );
    let (status, bytes) = download(&app, &school.student.token, id).await;
    assert_eq!(status, StatusCode::OK);
    let files = unzip(&bytes);

    let names: Vec<&str> = files.keys().map(String::as_str).collect();
    for expected in [
        "README.txt",
        "profile.json",
        "progress.json",
        "progress.csv",
        "attempts.json",
        "attempts.csv",
        "aria_messages.json",
        "aria_messages.csv",
        "chat_messages.json",
        "chat_messages.csv",
        "notifications.json",
        "notifications.csv",
        "consents.json",
        "audit_log.json",
    ] {
        assert!(
            names.contains(&expected),
            "{expected} missing from {names:?}"
        );
    }
    assert!(files["README.txt"].contains("droit d'accès"));

    let profile = json_of(&files, "profile.json");
    assert_eq!(profile["user"]["id"], school.student.id);
    assert_eq!(profile["user"]["email"], school.student.email.as_str());
    assert_eq!(
        profile["relations"]["classesAsStudent"][0]["name"],
        "Terminale NSI"
    );
    assert_eq!(
        profile["relations"]["parents"].as_array().map(Vec::len),
        Some(1)
    );

    let progress = json_of(&files, "progress.json");
    assert_eq!(progress[0]["courseTitle"], "Piles et files");
    assert_eq!(progress[0]["progressPercentage"], 40);
    assert!(files["progress.csv"].contains("Piles et files;40;"));

    let attempts = json_of(&files, "attempts.json");
    assert_eq!(attempts.as_array().map(Vec::len), Some(1), "{attempts}");
    assert_eq!(attempts[0]["answers"]["q1"], "REPONSE-DE-CAMILLE");
    assert_eq!(attempts[0]["score"], 1.5);
    assert_eq!(attempts[0]["status"], "graded");
    assert_eq!(attempts[0]["feedback"], "Bon travail");
    assert!(files["attempts.csv"].contains("Quiz piles;1;graded;1,5;2;"));

    let aria = json_of(&files, "aria_messages.json");
    assert!(
        aria.as_array()
            .expect("aria")
            .iter()
            .any(|m| m["content"] == "QUESTION-ARIA-CAMILLE" && m["messageType"] == "user"),
        "{aria}"
    );
    assert!(files["aria_messages.csv"].contains("QUESTION-ARIA-CAMILLE"));

    let chat = json_of(&files, "chat_messages.json");
    let bodies: Vec<(&str, &str)> = chat
        .as_array()
        .expect("chat")
        .iter()
        .map(|m| {
            (
                m["body"].as_str().expect("body"),
                m["sender"].as_str().expect("sender"),
            )
        })
        .collect();
    assert_eq!(
        bodies,
        vec![
            ("MESSAGE-DE-CAMILLE", "vous"),
            ("MESSAGE-DU-PROF", "Camille Durand")
        ]
    );

    let notifications = json_of(&files, "notifications.json");
    assert!(
        notifications
            .as_array()
            .expect("notifications")
            .iter()
            .any(|n| n["title"] == "NOTIF-CAMILLE"),
        "{notifications}"
    );

    let audit = json_of(&files, "audit_log.json");
    assert!(
        audit
            .as_array()
            .expect("audit")
            .iter()
            .any(|a| a["action"] == "data_export_requested" && a["byYou"] == true),
        "{audit}"
    );

    // Nothing of the other student: not their answers, questions, notifications,
    // messages, nor their email.
    let everything: String = files.values().cloned().collect();
    for theirs in [
        "REPONSE-DE-L-AUTRE",
        "QUESTION-ARIA-AUTRE",
        "NOTIF-AUTRE",
        "MESSAGE-DE-L-AUTRE",
        other.email.as_str(),
    ] {
        assert!(
            !everything.contains(theirs),
            "{theirs} leaked into the export"
        );
    }

    // The requester was told, through the notification the hub relays.
    let notifications = app
        .get("/api/notifications", Some(&school.student.token))
        .await;
    let ready = notifications.body["notifications"]
        .as_array()
        .expect("list")
        .iter()
        .find(|n| n["kind"] == "data_export_ready")
        .cloned()
        .expect("a data_export_ready notification");
    assert_eq!(ready["title"], "Vos données sont prêtes");
    assert_eq!(ready["data"]["exportId"], id);
    let relayed: i64 = sqlx::query_scalar(
        "select count(*) from outbox where topic = 'notification'
         and payload->>'kind' = 'data_export_ready' and (payload->>'userId')::bigint = $1",
    )
    .bind(school.student.id)
    .fetch_one(&app.pool)
    .await
    .expect("outbox");
    assert_eq!(relayed, 1);
}

#[tokio::test]
async fn a_parent_exports_their_linked_childs_data_and_only_they_download_it() {
    let app = spawn_app().await;
    let school = School::new(&app).await;
    aria_message(
        &app,
        school.student.id,
        "QUESTION-DE-L-ENFANT",
        Duration::zero(),
    )
    .await;

    let path = format!("/api/students/{}/data-exports", school.student.id);
    let id = request(&app, &school.parent, &path).await;
    let listed = ready(&app, &school.parent, id).await;
    assert_eq!(listed["subjectId"], school.student.id);
    assert_eq!(listed["subjectName"], "Camille Durand");

    let (status, bytes) = download(&app, &school.parent.token, id).await;
    assert_eq!(status, StatusCode::OK);
    let files = unzip(&bytes);
    let profile = json_of(&files, "profile.json");
    assert_eq!(profile["user"]["id"], school.student.id, "the child's data");
    assert_eq!(
        profile["relations"]["parents"].as_array().map(Vec::len),
        Some(1)
    );
    // Never the child's conversations: parents do not see them (docs/ARIA.md).
    assert_eq!(json_of(&files, "aria_messages.json"), json!([]));
    assert_eq!(json_of(&files, "chat_messages.json"), json!([]));
    assert_eq!(
        profile["excluded"],
        json!(["aria_messages", "chat_messages"])
    );
    assert!(files["README.txt"].contains("Export demandé par un parent"));
    let everything: String = files.values().cloned().collect();
    assert!(!everything.contains("QUESTION-DE-L-ENFANT"));

    // The parent is notified; the child cannot download the parent's export, nor can
    // anyone else: 404 as for an export that does not exist.
    let notifications = app
        .get("/api/notifications", Some(&school.parent.token))
        .await;
    assert!(
        notifications.body["notifications"]
            .as_array()
            .expect("list")
            .iter()
            .any(|n| n["kind"] == "data_export_ready"
                && n["title"] == "Les données de Camille sont prêtes"),
        "{}",
        notifications.body
    );
    let missing = download(&app, &school.parent.token, id + 1000).await;
    for user in [&school.student, &school.teacher, &school.admin] {
        let (status, body) = download(&app, &user.token, id).await;
        assert_eq!(status, StatusCode::NOT_FOUND);
        assert_eq!(body, missing.1, "the same answer as a missing export");
    }

    // The audit log, read by the admin, says who did what to whose data.
    let log = app
        .get(
            &format!("/api/admin/audit-log?userId={}", school.student.id),
            Some(&school.admin.token),
        )
        .await;
    assert_eq!(log.status, StatusCode::OK, "{}", log.body);
    let entries: Vec<(String, i64, String, i64)> = log.body["entries"]
        .as_array()
        .expect("entries")
        .iter()
        .map(|e| {
            (
                e["action"].as_str().expect("action").to_owned(),
                e["actorId"].as_i64().expect("actor"),
                e["actorRole"].as_str().expect("role").to_owned(),
                e["subjectId"].as_i64().expect("subject"),
            )
        })
        .collect();
    let (p, s) = (school.parent.id, school.student.id);
    assert_eq!(
        entries,
        vec![
            ("data_export_downloaded".into(), p, "parent".into(), s),
            ("data_export_requested".into(), p, "parent".into(), s),
        ]
    );
}

async fn refused_child_export(role_of: impl AsyncFnOnce(&TestApp, &School) -> TestUser) {
    let app = app_without_worker().await;
    let school = School::new(&app).await;
    let caller = role_of(&app, &school).await;
    let answer = app
        .post(
            &format!("/api/students/{}/data-exports", school.student.id),
            Some(&caller.token),
            json!({}),
        )
        .await;
    assert_eq!(answer.status, StatusCode::FORBIDDEN, "{}", answer.body);
    assert_eq!(answer.error_code(), "forbidden");
    let recorded: i64 = sqlx::query_scalar("select count(*) from data_exports")
        .fetch_one(&app.pool)
        .await
        .expect("count");
    assert_eq!(recorded, 0, "nothing recorded for a refusal");
}

#[tokio::test]
async fn a_parent_not_linked_to_the_student_cannot_export_their_data() {
    refused_child_export(async |app, _| app.user(Role::Parent).await).await;
}

#[tokio::test]
async fn a_teacher_cannot_export_a_students_data() {
    refused_child_export(async |_, school| school.teacher.clone()).await;
}

#[tokio::test]
async fn another_student_cannot_export_a_students_data() {
    refused_child_export(async |app, _| app.user(Role::Student).await).await;
}

#[tokio::test]
async fn an_admin_cannot_export_a_students_data_through_the_parents_route() {
    refused_child_export(async |_, school| school.admin.clone()).await;
}

#[tokio::test]
async fn a_parent_cannot_export_a_student_that_does_not_exist() {
    let app = app_without_worker().await;
    let school = School::new(&app).await;
    let answer = app
        .post(
            "/api/students/999999/data-exports",
            Some(&school.parent.token),
            json!({}),
        )
        .await;
    assert_eq!(answer.status, StatusCode::FORBIDDEN, "{}", answer.body);
}

#[tokio::test]
async fn exports_are_limited_to_one_in_the_making_and_three_a_day() {
    let app = app_without_worker().await;
    let student = app.user(Role::Student).await;
    assert_eq!(
        app.post("/api/me/data-exports", None, json!({}))
            .await
            .status,
        StatusCode::UNAUTHORIZED
    );
    let first = request(&app, &student, "/api/me/data-exports").await;
    let again = app
        .post("/api/me/data-exports", Some(&student.token), json!({}))
        .await;
    assert_eq!(again.status, StatusCode::CONFLICT, "{}", again.body);
    assert_eq!(again.error_code(), "export_pending");
    // Not ready yet: 409 on download too.
    let (status, _) = download(&app, &student.token, first).await;
    assert_eq!(status, StatusCode::CONFLICT);

    for _ in 0..2 {
        export::produce_pending(&app.pool, &app.settings, Utc::now())
            .await
            .expect("produce");
        request(&app, &student, "/api/me/data-exports").await;
    }
    export::produce_pending(&app.pool, &app.settings, Utc::now())
        .await
        .expect("produce");
    let fourth = app
        .post("/api/me/data-exports", Some(&student.token), json!({}))
        .await;
    assert_eq!(
        fourth.status,
        StatusCode::TOO_MANY_REQUESTS,
        "{}",
        fourth.body
    );
    assert_eq!(fourth.error_code(), "export_limit");
    assert!(fourth.headers.contains_key("retry-after"));
}

#[tokio::test]
async fn an_expired_export_is_gone_and_its_file_purged() {
    let app = app_without_worker().await;
    let student = app.user(Role::Student).await;
    let id = request(&app, &student, "/api/me/data-exports").await;
    // Produced eight days ago: the 7-day TTL has passed.
    export::produce_pending(&app.pool, &app.settings, Utc::now() - Duration::days(8))
        .await
        .expect("produce");
    let (status, body) = download(&app, &student.token, id).await;
    assert_eq!(status, StatusCode::GONE);
    assert!(String::from_utf8_lossy(&body).contains("expiré"));

    let counts = retention::purge(&app.pool, &app.settings.privacy, Utc::now())
        .await
        .expect("purge");
    assert_eq!(counts.export_files, 1);
    let (status, file): (String, Option<Vec<u8>>) =
        sqlx::query_as("select status, file from data_exports where id = $1")
            .bind(id)
            .fetch_one(&app.pool)
            .await
            .expect("row");
    assert_eq!(status, "expired");
    assert!(file.is_none(), "the file is deleted");
}

#[tokio::test]
async fn the_purge_deletes_old_aria_conversations_and_notifications_and_keeps_recent_ones() {
    let app = app_without_worker().await;
    let school = School::new(&app).await;
    let student = school.student.id;
    let old_session = aria_message(&app, student, "VIEILLE", Duration::days(400)).await;
    let recent_session = aria_message(&app, student, "RECENTE", Duration::days(10)).await;
    notification(&app, student, "VIEILLE-NOTIF", Duration::days(200)).await;
    notification(&app, student, "RECENTE-NOTIF", Duration::days(10)).await;

    let counts = retention::purge(&app.pool, &app.settings.privacy, Utc::now())
        .await
        .expect("purge");
    assert_eq!(
        (
            counts.aria_sessions,
            counts.aria_messages,
            counts.notifications
        ),
        (1, 2, 1)
    );
    let sessions: Vec<String> =
        sqlx::query_scalar("select session_id from aria_sessions where user_id = $1")
            .bind(student)
            .fetch_all(&app.pool)
            .await
            .expect("sessions");
    assert_eq!(sessions, vec![recent_session.clone()]);
    let orphan: i64 =
        sqlx::query_scalar("select count(*) from aria_messages where session_id = $1")
            .bind(&old_session)
            .fetch_one(&app.pool)
            .await
            .expect("messages");
    assert_eq!(orphan, 0);
    let titles: Vec<String> =
        sqlx::query_scalar("select title from notifications where user_id = $1")
            .bind(student)
            .fetch_all(&app.pool)
            .await
            .expect("notifications");
    assert_eq!(titles, vec!["RECENTE-NOTIF".to_owned()]);

    // A second run deletes nothing and records nothing; a run a year later (the
    // clock is the caller's) deletes the rest.
    let again = retention::purge(&app.pool, &app.settings.privacy, Utc::now())
        .await
        .expect("purge");
    assert!(again.is_empty());
    let later = retention::purge(
        &app.pool,
        &app.settings.privacy,
        Utc::now() + Duration::days(365),
    )
    .await
    .expect("purge");
    assert_eq!((later.aria_sessions, later.notifications), (1, 1));

    // Recorded as a system action with counts only, shown to the admin.
    let log = app
        .get("/api/admin/audit-log", Some(&school.admin.token))
        .await;
    assert_eq!(log.status, StatusCode::OK, "{}", log.body);
    let purges: Vec<&Value> = log.body["entries"]
        .as_array()
        .expect("entries")
        .iter()
        .filter(|e| e["action"] == "retention_purge")
        .collect();
    assert_eq!(purges.len(), 2, "{}", log.body);
    assert!(purges[0]["actorId"].is_null() && purges[0]["subjectId"].is_null());
    assert_eq!(purges[1]["details"]["ariaSessions"], 1);
    assert_eq!(purges[1]["details"]["ariaMessages"], 2);
    assert_eq!(purges[1]["details"]["notifications"], 1);
}
