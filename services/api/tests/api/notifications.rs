use std::time::Duration;

use nexus_config::ConnectionUrl;
use reqwest::StatusCode;
use serde_json::json;

use crate::{
    fixtures::{School, objective_answers, objective_questions},
    helpers::{TestApp, eventually, spawn_app, spawn_app_with, test_settings},
};

/// A stream entry as Redis returns it: its id and its field/value pairs.
type StreamEntry = (String, Vec<(String, String)>);

/// Entries of the deployment's event stream: (eventId, topic, payload).
async fn stream_events(app: &TestApp, redis_url: &str) -> Vec<(String, String, serde_json::Value)> {
    let client = redis::Client::open(redis_url).expect("redis url");
    let Ok(mut conn) = client.get_multiplexed_async_connection().await else {
        return Vec::new();
    };
    let key = format!("{}stream:events", app.settings.common.redis_key_prefix);
    let entries: redis::RedisResult<Vec<StreamEntry>> = redis::cmd("XRANGE")
        .arg(&key)
        .arg("-")
        .arg("+")
        .query_async(&mut conn)
        .await;
    entries
        .unwrap_or_default()
        .into_iter()
        .map(|(_, fields)| {
            let get = |name: &str| {
                fields
                    .iter()
                    .find(|(k, _)| k == name)
                    .map(|(_, v)| v.clone())
                    .unwrap_or_default()
            };
            (
                get("eventId"),
                get("topic"),
                serde_json::from_str(&get("payload")).unwrap_or_default(),
            )
        })
        .collect()
}

/// A quiz taken and submitted by the school's student: graded at once, which notifies
/// the student and their parent.
async fn take_quiz(app: &TestApp, school: &School) -> i64 {
    let id = school.quiz(app).await;
    let attempt = app.start_attempt(id, &school.student.token).await;
    let attempt = attempt.body["attempt"]["id"].as_i64().expect("attempt");
    let submitted = app
        .submit(attempt, &school.student.token, objective_answers())
        .await;
    assert_eq!(
        submitted.body["attempt"]["status"],
        json!("graded"),
        "{}",
        submitted.body
    );
    attempt
}

#[tokio::test]
async fn a_graded_result_notifies_the_student_and_their_parents_and_reaches_the_stream() {
    let app = spawn_app().await;
    let school = School::new(&app).await;
    let attempt = take_quiz(&app, &school).await;
    for user in [&school.student, &school.parent] {
        let list = app.get("/api/notifications", Some(&user.token)).await;
        assert_eq!(list.body["unreadCount"], json!(1));
        let notification = &list.body["notifications"][0];
        assert_eq!(notification["kind"], json!("result_graded"));
        assert_eq!(notification["data"]["attemptId"], json!(attempt));
        assert_eq!(notification["data"]["score"], json!(2.0));
    }
    assert_eq!(
        app.get("/api/notifications", Some(&school.teacher.token))
            .await
            .body["unreadCount"],
        json!(0)
    );

    let redis_url = app.settings.common.redis_url.expose().to_owned();
    let events = eventually("the events in the stream", || async {
        let events = stream_events(&app, &redis_url).await;
        (events.len() >= 2).then_some(events)
    })
    .await;
    let ids: Vec<&str> = events.iter().map(|(id, ..)| id.as_str()).collect();
    for user in [&school.student, &school.parent] {
        let list = app.get("/api/notifications", Some(&user.token)).await;
        let event_id = list.body["notifications"][0]["eventId"]
            .as_str()
            .expect("eventId")
            .to_owned();
        assert!(
            ids.contains(&event_id.as_str()),
            "the stream carries the notification's eventId"
        );
    }
    assert!(
        events
            .iter()
            .all(|(_, topic, payload)| topic == "notification"
                && payload["kind"] == json!("result_graded"))
    );
}

#[tokio::test]
async fn notifications_are_paginated_and_marked_read() {
    let app = spawn_app().await;
    let school = School::new(&app).await;
    for _ in 0..3 {
        take_quiz(&app, &school).await;
    }
    let student = &school.student.token;
    let page = app.get("/api/notifications?limit=2", Some(student)).await;
    assert_eq!(page.body["pagination"]["total"], json!(3));
    assert_eq!(
        page.body["notifications"].as_array().expect("list").len(),
        2
    );
    let first = page.body["notifications"][0]["id"].as_i64().expect("id");
    let read = app
        .post(
            &format!("/api/notifications/{first}/read"),
            Some(student),
            json!({}),
        )
        .await;
    assert_eq!(read.body["unreadCount"], json!(2));
    let unread = app
        .get("/api/notifications?unread=true", Some(student))
        .await;
    assert_eq!(unread.body["pagination"]["total"], json!(2));
    let foreign = app
        .post(
            &format!("/api/notifications/{first}/read"),
            Some(&school.parent.token),
            json!({}),
        )
        .await;
    assert_eq!(
        foreign.status,
        StatusCode::NOT_FOUND,
        "one cannot touch another's notifications"
    );
    let all = app
        .post("/api/notifications/read-all", Some(student), json!({}))
        .await;
    assert_eq!(all.body["unreadCount"], json!(0));
}

#[tokio::test]
async fn with_redis_down_a_grade_is_recorded_and_its_notification_goes_out_when_redis_returns() {
    let mut redis = nexus_testkit::PrivateRedis::start().await;
    let mut settings = test_settings().await;
    settings.common.redis_url = ConnectionUrl::new(redis.url());
    let app = spawn_app_with(settings).await;
    let school = School::new(&app).await;
    redis.stop().await;

    let attempt = take_quiz(&app, &school).await;
    let graded: String = sqlx::query_scalar("select status from assessment_results where id = $1")
        .bind(attempt)
        .fetch_one(&app.pool)
        .await
        .expect("attempt");
    assert_eq!(
        graded, "graded",
        "the grade is recorded while Redis is down"
    );
    let pending: i64 = sqlx::query_scalar("select count(*) from outbox where relayed_at is null")
        .fetch_one(&app.pool)
        .await
        .expect("outbox");
    assert_eq!(pending, 2, "student and parent events wait in the outbox");
    tokio::time::sleep(Duration::from_millis(600)).await;
    assert_eq!(
        sqlx::query_scalar::<_, i64>("select count(*) from outbox where relayed_at is null")
            .fetch_one(&app.pool)
            .await
            .expect("outbox"),
        2,
        "nothing is marked sent while Redis is down"
    );

    redis.restart().await;
    let events = eventually_long("the events after Redis returns", || async {
        let events = stream_events(&app, &redis.url()).await;
        (events.len() == 2).then_some(events)
    })
    .await;
    assert!(
        events
            .iter()
            .all(|(_, _, payload)| payload["data"]["attemptId"] == json!(attempt))
    );
    eventually_long("the outbox marked relayed", || async {
        let pending: i64 =
            sqlx::query_scalar("select count(*) from outbox where relayed_at is null")
                .fetch_one(&app.pool)
                .await
                .ok()?;
        (pending == 0).then_some(())
    })
    .await;
}

/// The relay backs off to 5 s while Redis is down: wait up to 20 s.
async fn eventually_long<F, Fut, T>(what: &str, mut check: F) -> T
where
    F: FnMut() -> Fut,
    Fut: std::future::Future<Output = Option<T>>,
{
    for _ in 0..200 {
        if let Some(value) = check().await {
            return value;
        }
        tokio::time::sleep(Duration::from_millis(100)).await;
    }
    panic!("timed out waiting for {what}");
}

#[tokio::test]
async fn a_relay_crash_between_publish_and_mark_sends_the_event_again_and_loses_nothing() {
    let mut settings = test_settings().await;
    settings.run_worker = false;
    let app = spawn_app_with(settings).await;
    let school = School::new(&app).await;
    take_quiz(&app, &school).await;
    let redis = nexus_web::redis_conn::Redis::new(
        app.settings.common.redis_url.expose(),
        &app.settings.common.redis_key_prefix,
    )
    .expect("redis");

    let crashed =
        nexus_web::relay::relay_batch(&app.pool, &redis, || anyhow::bail!("crash after XADD"))
            .await;
    assert!(crashed.is_err());
    let redis_url = app.settings.common.redis_url.expose().to_owned();
    assert_eq!(
        stream_events(&app, &redis_url).await.len(),
        2,
        "published before the crash"
    );
    let pending: i64 = sqlx::query_scalar("select count(*) from outbox where relayed_at is null")
        .fetch_one(&app.pool)
        .await
        .expect("outbox");
    assert_eq!(pending, 2, "not marked: the crash came first");

    let sent = nexus_web::relay::relay_batch(&app.pool, &redis, || Ok(()))
        .await
        .expect("relay");
    assert_eq!(sent, 2);
    let events = stream_events(&app, &redis_url).await;
    assert_eq!(events.len(), 4, "sent again: at least once");
    let mut ids: Vec<&str> = events.iter().map(|(id, ..)| id.as_str()).collect();
    ids.sort_unstable();
    ids.dedup();
    assert_eq!(
        ids.len(),
        2,
        "duplicates share their eventId, so consumers drop them"
    );
    assert_eq!(
        nexus_web::relay::relay_batch(&app.pool, &redis, || Ok(()))
            .await
            .expect("relay"),
        0
    );
}

#[tokio::test]
async fn publishing_an_assessment_and_its_closing_day_notify_the_class() {
    let app = spawn_app().await;
    let school = School::new(&app).await;
    let created = app
        .post(
            "/api/assessments",
            Some(&school.teacher.token),
            json!({"title": "DS Graphes", "type": "exam", "questions": objective_questions()}),
        )
        .await;
    let id = created.body["assessment"]["id"].as_i64().expect("id");
    let closes_at = chrono::Utc::now() + chrono::Duration::hours(3);
    let closes = closes_at.to_rfc3339();
    app.post(
        &format!("/api/assessments/{id}/publish"),
        Some(&school.teacher.token),
        json!({"classId": school.class_id, "closesAt": closes}),
    )
    .await;
    let list = app
        .get("/api/notifications", Some(&school.student.token))
        .await;
    assert_eq!(
        list.body["notifications"][0]["kind"],
        json!("assessment_published")
    );
    // The kind and the deadline as a student in France reads them: its French name, and
    // the time in Paris (one or two hours ahead of UTC), not UTC.
    let body = list.body["notifications"][0]["body"]
        .as_str()
        .expect("a body");
    let paris = closes_at.with_timezone(&chrono_tz::Europe::Paris);
    let expected = format!(
        "Une évaluation (examen) est disponible. À rendre avant le {} à {} h {}.",
        paris.format("%d/%m/%Y"),
        paris.format("%-H"),
        paris.format("%M")
    );
    assert_eq!(body, expected);

    let reminded = nexus_api::assessments::notify_due_soon(&app.pool)
        .await
        .expect("reminders");
    assert_eq!(reminded, 1);
    assert_eq!(
        nexus_api::assessments::notify_due_soon(&app.pool)
            .await
            .expect("reminders"),
        0,
        "once per publication"
    );
    // Publishing again with the same window (a teacher's double click, the soak's
    // republishes) does not remind again; moving the deadline does.
    let republish = |closes: String| {
        let app = &app;
        let token = school.teacher.token.clone();
        async move {
            app.post(
                &format!("/api/assessments/{id}/publish"),
                Some(&token),
                json!({"classId": school.class_id, "closesAt": closes}),
            )
            .await
            .status
        }
    };
    assert_eq!(republish(closes.clone()).await, reqwest::StatusCode::OK);
    assert_eq!(
        nexus_api::assessments::notify_due_soon(&app.pool)
            .await
            .expect("reminders"),
        0,
        "the same deadline is not announced twice"
    );
    let later = (chrono::Utc::now() + chrono::Duration::hours(5)).to_rfc3339();
    assert_eq!(republish(later).await, reqwest::StatusCode::OK);
    assert_eq!(
        nexus_api::assessments::notify_due_soon(&app.pool)
            .await
            .expect("reminders"),
        1,
        "a new deadline is"
    );
    let list = app
        .get("/api/notifications", Some(&school.student.token))
        .await;
    assert_eq!(
        list.body["notifications"][0]["kind"],
        json!("assessment_due_soon")
    );
}
