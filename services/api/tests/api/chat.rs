use nexus_auth::Role;
use reqwest::StatusCode;
use serde_json::json;

use crate::{fixtures::School, helpers::spawn_app};

#[tokio::test]
async fn only_the_people_who_may_talk_open_a_direct_conversation() {
    let app = spawn_app().await;
    let school = School::new(&app).await;
    let open = |token: &str, user_id: i64| {
        let token = token.to_owned();
        let app = &app;
        async move {
            app.post(
                "/api/conversations",
                Some(&token),
                json!({"userId": user_id}),
            )
            .await
        }
    };
    let with_teacher = open(&school.student.token, school.teacher.id).await;
    assert_eq!(
        with_teacher.status,
        StatusCode::OK,
        "a student with their teacher"
    );
    let again = open(&school.teacher.token, school.student.id).await;
    assert_eq!(
        again.body["conversationId"], with_teacher.body["conversationId"],
        "one conversation per pair"
    );
    assert_eq!(
        open(&school.parent.token, school.teacher.id).await.status,
        StatusCode::OK,
        "a parent with their child's teacher"
    );

    let other_teacher = app.user(Role::Teacher).await;
    let classmate = app.user(Role::Student).await;
    for (who, token, target) in [
        (
            "student → a teacher who does not teach them",
            &school.student.token,
            other_teacher.id,
        ),
        (
            "student → another student",
            &school.student.token,
            classmate.id,
        ),
        (
            "parent → a student",
            &school.parent.token,
            school.student.id,
        ),
        (
            "teacher → a student they do not teach",
            &school.teacher.token,
            classmate.id,
        ),
        ("self", &school.student.token, school.student.id),
    ] {
        assert_eq!(
            open(token, target).await.status,
            StatusCode::FORBIDDEN,
            "{who}"
        );
    }
    assert_eq!(
        open(&school.student.token, 999_999).await.status,
        StatusCode::NOT_FOUND
    );
}

#[tokio::test]
async fn messages_are_stored_once_per_client_id_and_listed_newest_first() {
    let app = spawn_app().await;
    let school = School::new(&app).await;
    let conversation = app
        .get(
            &format!("/api/classes/{}/conversation", school.class_id),
            Some(&school.student.token),
        )
        .await;
    let id = conversation.body["conversationId"].as_i64().expect("id");
    let path = format!("/api/conversations/{id}/messages");
    let first = app
        .post(
            &path,
            Some(&school.student.token),
            json!({"clientMessageId": "m-1", "body": "  Bonjour Monsieur !  "}),
        )
        .await;
    assert_eq!(first.status, StatusCode::CREATED, "{}", first.body);
    assert_eq!(first.body["message"]["body"], json!("Bonjour Monsieur !"));
    let retry = app
        .post(
            &path,
            Some(&school.student.token),
            json!({"clientMessageId": "m-1", "body": "Bonjour Monsieur !"}),
        )
        .await;
    assert_eq!(retry.status, StatusCode::OK, "a retry stores nothing new");
    assert_eq!(retry.body["message"]["id"], first.body["message"]["id"]);
    app.post(
        &path,
        Some(&school.teacher.token),
        json!({"clientMessageId": "t-1", "body": "Bonjour Léa"}),
    )
    .await;

    let history = app.get(&path, Some(&school.student.token)).await;
    let bodies: Vec<&str> = history.body["messages"]
        .as_array()
        .expect("messages")
        .iter()
        .map(|m| m["body"].as_str().expect("body"))
        .collect();
    assert_eq!(bodies, ["Bonjour Léa", "Bonjour Monsieur !"]);
    let page = app
        .get(
            &format!(
                "{path}?limit=1&before={}",
                history.body["messages"][0]["id"]
            ),
            Some(&school.student.token),
        )
        .await;
    assert_eq!(
        page.body["messages"][0]["body"],
        json!("Bonjour Monsieur !")
    );

    for (what, body) in [
        ("empty", json!({"clientMessageId": "m-2", "body": "   "})),
        (
            "too long",
            json!({"clientMessageId": "m-3", "body": "a".repeat(4001)}),
        ),
    ] {
        assert_eq!(
            app.post(&path, Some(&school.student.token), body)
                .await
                .status,
            StatusCode::UNPROCESSABLE_ENTITY,
            "{what}"
        );
    }
    let stored: i64 = sqlx::query_scalar("select count(*) from messages")
        .fetch_one(&app.pool)
        .await
        .expect("count");
    assert_eq!(stored, 2);
    let events: i64 = sqlx::query_scalar("select count(*) from outbox where topic = 'chat'")
        .fetch_one(&app.pool)
        .await
        .expect("count");
    assert_eq!(
        events, 2,
        "one delivery event per stored message, none for the retry"
    );

    let list = app
        .get("/api/conversations", Some(&school.teacher.token))
        .await;
    assert_eq!(
        list.body["conversations"][0]["title"],
        json!("Terminale NSI")
    );
    assert_eq!(list.body["conversations"][0]["unread"], json!(1));
}

#[tokio::test]
async fn a_teacher_moderates_their_class_conversation_and_read_receipts_are_kept() {
    let app = spawn_app().await;
    let school = School::new(&app).await;
    let id = app
        .get(
            &format!("/api/classes/{}/conversation", school.class_id),
            Some(&school.teacher.token),
        )
        .await
        .body["conversationId"]
        .clone();
    let path = format!("/api/conversations/{id}/messages");
    let sent = app
        .post(
            &path,
            Some(&school.student.token),
            json!({"clientMessageId": "x", "body": "message à modérer"}),
        )
        .await;
    let message = sent.body["message"]["id"].as_i64().expect("id");

    let by_student = app
        .delete(&format!("{path}/{message}"), Some(&school.student.token))
        .await;
    assert_eq!(by_student.status, StatusCode::FORBIDDEN);
    let other_teacher = app.user(Role::Teacher).await;
    let by_stranger = app
        .delete(&format!("{path}/{message}"), Some(&other_teacher.token))
        .await;
    assert_eq!(
        by_stranger.status,
        StatusCode::NOT_FOUND,
        "not a member: the conversation is not theirs to see"
    );
    let deleted = app
        .delete(&format!("{path}/{message}"), Some(&school.teacher.token))
        .await;
    assert_eq!(deleted.status, StatusCode::OK);
    let history = app.get(&path, Some(&school.student.token)).await;
    assert_eq!(history.body["messages"][0]["deleted"], json!(true));
    assert_eq!(history.body["messages"][0]["body"], json!(""));

    let read = app
        .post(
            &format!("/api/conversations/{id}/read"),
            Some(&school.teacher.token),
            json!({"messageId": message}),
        )
        .await;
    assert_eq!(read.status, StatusCode::OK);
    let position: Option<i64> = sqlx::query_scalar(
        "select last_read_message_id from conversation_participants where user_id = $1",
    )
    .bind(school.teacher.id)
    .fetch_one(&app.pool)
    .await
    .expect("read position");
    assert_eq!(position, Some(message));
    assert_eq!(
        app.get(&path, Some(&school.parent.token)).await.status,
        StatusCode::NOT_FOUND,
        "parents are not in the class conversation"
    );
}
