//! Requests that overlap (issue "When requests overlap"): each test fires the racing
//! requests at once against the real API, many rounds, and reads the data back. On the
//! code before the fixes each of them failed within a few rounds; no test sleeps to
//! order things.

use nexus_auth::Role;
use reqwest::StatusCode;
use serde_json::{Value, json};

use crate::{
    fixtures::{self, School},
    helpers::{TestApp, eventually, spawn_app, spawn_app_with, test_settings},
};

const ROUNDS: usize = 12;

/// An API with connections enough for every racing request to reach the database.
async fn roomy_app() -> TestApp {
    let mut settings = test_settings().await;
    settings.common.database_max_connections = 16;
    spawn_app_with(settings).await
}

/// A barrier in the database: holds `lock` (SQL run in a transaction of the test's own)
/// while `requests` run, until `waiting` of them wait on a lock in this test's database,
/// then lets them all go at once. The race then happens every time, not by luck.
async fn race_behind_lock<T>(
    app: &TestApp,
    lock: &str,
    waiting: i64,
    requests: impl std::future::Future<Output = T>,
) -> T {
    let own = sqlx::PgPool::connect(app.settings.common.database_url.expose())
        .await
        .expect("the test's own connection");
    let mut holder = own.begin().await.expect("begin");
    sqlx::query(sqlx::AssertSqlSafe(lock.to_owned()))
        .execute(&mut *holder)
        .await
        .expect("take the lock");
    let release = async {
        eventually("the racing requests to queue on the lock", || async {
            let blocked: i64 = sqlx::query_scalar(
                "select count(*) from pg_stat_activity
                 where datname = current_database() and wait_event_type = 'Lock'",
            )
            .fetch_one(&own)
            .await
            .expect("pg_stat_activity");
            (blocked >= waiting).then_some(())
        })
        .await;
        holder.commit().await.expect("release");
    };
    let (answers, ()) = tokio::join!(requests, release);
    answers
}

fn ids_and_points(questions: &Value) -> (Vec<String>, f64) {
    let questions = questions.as_array().cloned().unwrap_or_default();
    let ids = questions
        .iter()
        .map(|q| q["id"].as_str().unwrap_or_default().to_owned())
        .collect();
    let points = questions.iter().filter_map(|q| q["points"].as_f64()).sum();
    (ids, points)
}

#[tokio::test]
async fn race_01_an_edit_racing_an_attempt_start_never_grades_against_unseen_questions() {
    let app = spawn_app().await;
    let school = School::new(&app).await;
    let edited = json!({"title": "Quiz piles", "type": "quiz", "questions": [
        {"id": "q1", "type": "single_choice", "prompt": "2+2 ?", "options": ["3", "4"], "correct": 0, "points": 1},
        {"id": "q2", "type": "true_false", "prompt": "Vrai ?", "correct": false, "points": 1},
        {"id": "q3", "type": "true_false", "prompt": "Nouvelle question", "correct": true, "points": 50}
    ]});
    for round in 0..ROUNDS {
        let quiz = school.quiz(&app).await;
        let (one, attempts) = (
            format!("/api/assessments/{quiz}"),
            format!("/api/assessments/{quiz}/attempts"),
        );
        let (edit, start) = tokio::join!(
            app.put(&one, Some(&school.teacher.token), edited.clone()),
            app.post(&attempts, Some(&school.student.token), json!({}),),
        );
        assert_eq!(start.status, StatusCode::CREATED, "{}", start.body);
        let shown = &start.body["assessment"]["questions"];
        let (shown_ids, shown_points) = ids_and_points(shown);
        match edit.status {
            // The edit came first: the student was shown the new version.
            StatusCode::OK => assert_eq!(shown_ids, ["q1", "q2", "q3"], "round {round}"),
            // The attempt came first: the edit was refused.
            StatusCode::CONFLICT => {
                assert_eq!(edit.error_code(), "assessment_has_attempts");
                assert_eq!(shown_ids, ["q1", "q2"], "round {round}");
            }
            other => panic!("round {round}: edit answered {other} {}", edit.body),
        }
        // The student answers what they were shown; the grade is out of what they saw.
        let attempt = start.body["attempt"]["id"].as_i64().expect("attempt");
        let submitted = app
            .submit(
                attempt,
                &school.student.token,
                fixtures::objective_answers(),
            )
            .await;
        assert_eq!(submitted.status, StatusCode::OK, "{}", submitted.body);
        let result = &submitted.body["attempt"];
        assert_eq!(
            result["maxScore"].as_f64(),
            Some(shown_points),
            "round {round}"
        );
        let graded: Vec<&str> = result["results"]
            .as_array()
            .expect("results")
            .iter()
            .map(|r| r["questionId"].as_str().expect("id"))
            .collect();
        assert_eq!(graded, shown_ids, "round {round}");
        if shown_ids.len() == 2 {
            assert_eq!(result["score"], 2.0, "round {round}: {result}");
        }
    }
}

#[tokio::test]
async fn race_02_deleting_an_assessment_while_a_student_starts_it_loses_no_attempt() {
    let app = spawn_app().await;
    let school = School::new(&app).await;
    for round in 0..ROUNDS {
        let quiz = school.quiz(&app).await;
        let (one, attempts) = (
            format!("/api/assessments/{quiz}"),
            format!("/api/assessments/{quiz}/attempts"),
        );
        let (delete, start) = tokio::join!(
            app.delete(&one, Some(&school.teacher.token)),
            app.post(&attempts, Some(&school.student.token), json!({}),),
        );
        match (delete.status, start.status) {
            (StatusCode::CONFLICT, StatusCode::CREATED) => {
                let attempt = start.body["attempt"]["id"].as_i64().expect("attempt");
                let read = app
                    .get(
                        &format!("/api/attempts/{attempt}"),
                        Some(&school.student.token),
                    )
                    .await;
                assert_eq!(read.status, StatusCode::OK, "round {round}: attempt lost");
            }
            (StatusCode::OK, StatusCode::NOT_FOUND) => {}
            other => panic!(
                "round {round}: delete {} / start {}: {} {}",
                other.0, other.1, delete.body, start.body
            ),
        }
    }
}

/// A published course of `sections` sections, assigned to the school's class.
async fn course_with_sections(
    app: &TestApp,
    school: &School,
    sections: usize,
) -> (i64, Vec<String>) {
    let ids: Vec<String> = (1..=sections).map(|n| format!("s{n}")).collect();
    let content = json!({"chapters": [{"id": "ch1", "title": "Chapitre", "sections":
        ids.iter().map(|id| json!({"id": id, "title": format!("Section {id}"), "content": "Texte."})).collect::<Vec<_>>()}]});
    let course: i64 = sqlx::query_scalar(
        "insert into courses (title, description, level, category, content, created_by, is_published)
         values ('Sept sections', 'Un cours', 'terminale', 'structures', $1, $2, true) returning id",
    )
    .bind(content)
    .bind(school.teacher.id)
    .fetch_one(&app.pool)
    .await
    .expect("course");
    fixtures::assign_course(app, course, school.class_id).await;
    (course, ids)
}

#[tokio::test]
async fn race_03_completing_sections_at_once_counts_every_one() {
    let app = roomy_app().await;
    let school = School::new(&app).await;
    for round in 0..3 {
        let (course, sections) = course_with_sections(&app, &school, 7).await;
        let path = format!("/api/courses/{course}/progress");
        let updates = sections.iter().map(|section| {
            app.put(
                &path,
                Some(&school.student.token),
                json!({"sectionId": section, "sectionCompleted": true}),
            )
        });
        // Every completion reaches the database before any is stored.
        let answers = race_behind_lock(
            &app,
            "lock table section_progress in share mode",
            7,
            futures::future::join_all(updates),
        )
        .await;
        for answer in answers {
            assert_eq!(answer.status, StatusCode::OK, "{}", answer.body);
        }
        let stored: (i32, bool) = sqlx::query_as(
            "select progress_percentage, completed_at is not null from student_progress
             where student_id = $1 and course_id = $2",
        )
        .bind(school.student.id)
        .bind(course)
        .fetch_one(&app.pool)
        .await
        .expect("progress");
        assert_eq!(stored, (100, true), "round {round}");
    }
}

#[tokio::test]
async fn race_05_publishing_a_course_ten_times_at_once_notifies_each_student_once() {
    let app = roomy_app().await;
    let school = School::new(&app).await;
    let course = fixtures::course_of(&app, school.teacher.id, "Graphes", false).await;
    fixtures::assign_course(&app, course, school.class_id).await;
    let path = format!("/api/courses/{course}/publish");
    let publishes = (0..10).map(|_| app.post(&path, Some(&school.teacher.token), json!({})));
    // All ten have read the course as a draft before any of them publishes it.
    let answers = race_behind_lock(
        &app,
        &format!("select 1 from courses where id = {course} for update"),
        10,
        futures::future::join_all(publishes),
    )
    .await;
    for answer in answers {
        assert_eq!(answer.status, StatusCode::OK, "{}", answer.body);
    }
    let notifications: i64 = sqlx::query_scalar(
        "select count(*) from notifications where user_id = $1 and kind = 'course_published'",
    )
    .bind(school.student.id)
    .fetch_one(&app.pool)
    .await
    .expect("count");
    assert_eq!(notifications, 1);
    let events: i64 = sqlx::query_scalar(
        "select count(*) from outbox where payload->>'courseId' = $1::text and payload->>'action' = 'published'",
    )
    .bind(course.to_string())
    .fetch_one(&app.pool)
    .await
    .expect("events");
    assert_eq!(events, 1);
}

#[tokio::test]
async fn race_06_a_progress_update_racing_the_course_s_deletion_is_never_a_500() {
    let app = spawn_app().await;
    let school = School::new(&app).await;
    let other_student = app.user(Role::Student).await;
    fixtures::add_member(&app, school.class_id, other_student.id).await;
    for round in 0..ROUNDS {
        let (course, _) = course_with_sections(&app, &school, 2).await;
        let path = format!("/api/courses/{course}/progress");
        let one = format!("/api/courses/{course}");
        let (delete, first, second) = tokio::join!(
            app.delete(&one, Some(&school.teacher.token)),
            app.put(
                &path,
                Some(&school.student.token),
                json!({"sectionId": "s1", "sectionCompleted": true})
            ),
            app.put(
                &path,
                Some(&other_student.token),
                json!({"progressPercentage": 50})
            ),
        );
        assert_eq!(
            delete.status,
            StatusCode::OK,
            "round {round}: {}",
            delete.body
        );
        for update in [first, second] {
            assert!(
                [StatusCode::OK, StatusCode::NOT_FOUND].contains(&update.status),
                "round {round}: {} {}",
                update.status,
                update.body
            );
        }
    }
}

#[tokio::test]
async fn race_07_messages_sent_at_once_keep_one_order_for_ids_times_and_delivery() {
    let app = roomy_app().await;
    let school = School::new(&app).await;
    let opened = app
        .get(
            &format!("/api/classes/{}/conversation", school.class_id),
            Some(&school.teacher.token),
        )
        .await;
    let conversation = opened.body["conversationId"].as_i64().expect("id");
    let path = format!("/api/conversations/{conversation}/messages");
    let sends = (0..12).map(|n| {
        let sender = if n % 2 == 0 {
            &school.teacher
        } else {
            &school.student
        };
        app.post(
            &path,
            Some(&sender.token),
            json!({"clientMessageId": format!("m{n}"), "body": format!("Message {n}")}),
        )
    });
    let answers = race_behind_lock(
        &app,
        &format!("select 1 from conversations where id = {conversation} for update"),
        12,
        futures::future::join_all(sends),
    )
    .await;
    for answer in answers {
        assert_eq!(answer.status, StatusCode::CREATED, "{}", answer.body);
    }
    // Times never go backwards against ids.
    let stored: Vec<(i64, chrono::DateTime<chrono::Utc>)> = sqlx::query_as(
        "select id, created_at from messages where conversation_id = $1 order by id",
    )
    .bind(conversation)
    .fetch_all(&app.pool)
    .await
    .expect("messages");
    assert_eq!(stored.len(), 12);
    assert!(
        stored.windows(2).all(|w| w[0].1 <= w[1].1),
        "createdAt goes backwards: {stored:?}"
    );
    // Deliveries are queued in id order (the relay sends them in this order).
    let delivered: Vec<i64> = sqlx::query_scalar(
        "select (payload->'message'->>'id')::bigint from outbox
         where topic = 'chat' and payload->>'type' = 'message' and (payload->>'conversationId')::bigint = $1
         order by id",
    )
    .bind(conversation)
    .fetch_all(&app.pool)
    .await
    .expect("outbox");
    let ids: Vec<i64> = stored.iter().map(|(id, _)| *id).collect();
    assert_eq!(delivered, ids, "delivery order differs from id order");
}
