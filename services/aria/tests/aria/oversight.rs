//! What the adults around a student see: teachers read their students' sessions and
//! the moderation flags, parents a summary without the content; students rate answers.

use nexus_auth::Role;
use reqwest::{Method, StatusCode};
use serde_json::{Value, json};

use crate::{Aria, spawn, spawn_configured};

struct Family {
    student: i64,
    student_token: String,
    teacher: String,
    other_teacher: String,
    parent: String,
    other_parent: String,
    other_student: String,
    admin: String,
}

async fn family(aria: &Aria) -> Family {
    let (teacher_id, teacher) = aria.user(Role::Teacher).await;
    let (_, other_teacher) = aria.user(Role::Teacher).await;
    let (student, student_token) = aria.user(Role::Student).await;
    let (_, other_student) = aria.user(Role::Student).await;
    let (parent_id, parent) = aria.user(Role::Parent).await;
    let (_, other_parent) = aria.user(Role::Parent).await;
    let (_, admin) = aria.user(Role::Admin).await;
    aria.class(teacher_id, &[student]).await;
    sqlx::query("insert into parent_links (parent_id, student_id) values ($1, $2)")
        .bind(parent_id)
        .bind(student)
        .execute(&aria.pool)
        .await
        .expect("link");
    let course = aria
        .course(teacher_id, "Piles", "Les piles", "Une pile est LIFO.", true)
        .await;
    aria.wait_indexed(course, 1).await;
    Family {
        student,
        student_token,
        teacher,
        other_teacher,
        parent,
        other_parent,
        other_student,
        admin,
    }
}

#[tokio::test]
async fn teachers_read_their_students_sessions_and_parents_see_a_summary() {
    let aria = spawn(100).await;
    let f = family(&aria).await;
    let (_, answer) = aria.ask(&f.student_token, "C'est quoi une pile ?").await;
    assert!(
        answer["metadata"]["oversight"]
            .as_str()
            .expect("notice")
            .contains("enseignants")
    );
    let session = answer["sessionId"].as_str().expect("session");
    let (_, own) = aria.get(&f.student_token, "/api/aria/sessions").await;
    assert!(own["oversight"].is_string(), "students are told: {own}");
    assert_eq!(
        own["pagination"],
        json!({"page": 1, "limit": 10, "total": 1, "pages": 1})
    );

    let read = format!("/api/aria/sessions/{session}");
    for (who, token, expected) in [
        ("the student", &f.student_token, StatusCode::OK),
        ("their teacher", &f.teacher, StatusCode::OK),
        ("an admin", &f.admin, StatusCode::OK),
        ("another teacher", &f.other_teacher, StatusCode::NOT_FOUND),
        ("their parent", &f.parent, StatusCode::NOT_FOUND),
        ("another student", &f.other_student, StatusCode::NOT_FOUND),
    ] {
        let (status, body) = aria.get(token, &read).await;
        assert_eq!(status, expected, "{who}: {body}");
        if status == StatusCode::OK {
            assert_eq!(
                body["messages"].as_array().expect("messages").len(),
                2,
                "{who}"
            );
        }
    }
    // Only the owner renames or deletes.
    let (status, _) = aria
        .request(
            Method::PATCH,
            &f.teacher,
            &read,
            Some(json!({"title": "x"})),
        )
        .await;
    assert_eq!(status, StatusCode::NOT_FOUND);
    assert_eq!(
        aria.request(Method::DELETE, &f.teacher, &read, None)
            .await
            .0,
        StatusCode::NOT_FOUND
    );

    let list = format!("/api/aria/students/{}/sessions", f.student);
    for (who, token, expected) in [
        ("their teacher", &f.teacher, StatusCode::OK),
        ("an admin", &f.admin, StatusCode::OK),
        ("another teacher", &f.other_teacher, StatusCode::NOT_FOUND),
        ("their parent", &f.parent, StatusCode::FORBIDDEN),
        ("the student", &f.student_token, StatusCode::FORBIDDEN),
    ] {
        let (status, body) = aria.get(token, &list).await;
        assert_eq!(status, expected, "{who}: {body}");
        if status == StatusCode::OK {
            assert_eq!(body["sessions"][0]["sessionId"], json!(session), "{who}");
        }
    }

    let summary = format!("/api/aria/students/{}/summary", f.student);
    for (who, token, expected) in [
        ("their parent", &f.parent, StatusCode::OK),
        ("the student", &f.student_token, StatusCode::OK),
        ("their teacher", &f.teacher, StatusCode::OK),
        ("another parent", &f.other_parent, StatusCode::NOT_FOUND),
        ("another student", &f.other_student, StatusCode::NOT_FOUND),
        ("another teacher", &f.other_teacher, StatusCode::NOT_FOUND),
    ] {
        let (status, body) = aria.get(token, &summary).await;
        assert_eq!(status, expected, "{who}: {body}");
    }
    let (_, body) = aria.get(&f.parent, &summary).await;
    assert_eq!(body["sessions"], json!(1));
    assert_eq!(body["questionsLast7Days"], json!(1));
    assert_eq!(body["topCourses"][0]["courseTitle"], json!("Piles"));
    assert!(
        !body.to_string().contains("LIFO") && !body.to_string().contains("C'est quoi"),
        "a summary, not the conversation: {body}"
    );
}

#[tokio::test]
async fn flagged_questions_reach_the_teacher_and_distress_gets_a_caring_answer() {
    let aria = spawn(100).await;
    let f = family(&aria).await;
    let (_, insult) = aria
        .ask(
            &f.student_token,
            "T'es vraiment un connard, c'est quoi une pile ?",
        )
        .await;
    assert_eq!(
        insult["metadata"]["policy"],
        json!("explain"),
        "still answered"
    );
    let (_, distress) = aria
        .ask(&f.student_token, "J'ai envie de mourir, je n'y arrive plus")
        .await;
    assert_eq!(distress["metadata"]["policy"], json!("support"));
    assert!(
        distress["response"]
            .as_str()
            .expect("text")
            .contains("3114")
    );
    // Deleting the sessions does not hide the flags.
    for session in [&insult["sessionId"], &distress["sessionId"]] {
        let path = format!("/api/aria/sessions/{}", session.as_str().expect("id"));
        assert_eq!(
            aria.request(Method::DELETE, &f.student_token, &path, None)
                .await
                .0,
            StatusCode::OK
        );
    }

    let (status, flags) = aria.get(&f.teacher, "/api/aria/flags").await;
    assert_eq!(status, StatusCode::OK);
    let categories: Vec<&str> = flags["flags"]
        .as_array()
        .expect("flags")
        .iter()
        .map(|f| f["category"].as_str().expect("category"))
        .collect();
    assert_eq!(categories, ["self_harm", "harassment"], "{flags}");
    assert_eq!(
        flags["pagination"],
        json!({"page": 1, "limit": 10, "total": 2, "pages": 1})
    );
    let (_, second) = aria.get(&f.teacher, "/api/aria/flags?limit=1&page=2").await;
    assert_eq!(second["flags"][0]["category"], "harassment", "{second}");
    assert_eq!(second["flags"].as_array().expect("page").len(), 1);
    assert_eq!(second["pagination"]["pages"], 2);
    let (_, past_end) = aria.get(&f.teacher, "/api/aria/flags?page=5").await;
    assert_eq!(past_end["flags"], json!([]));
    assert_eq!(past_end["pagination"]["total"], 2, "{past_end}");
    assert_eq!(
        aria.get(&f.admin, "/api/aria/flags").await.1["flags"]
            .as_array()
            .expect("all")
            .len(),
        2
    );
    assert_eq!(
        aria.get(&f.other_teacher, "/api/aria/flags").await.1["flags"],
        json!([])
    );
    for token in [&f.student_token, &f.parent] {
        assert_eq!(
            aria.get(token, "/api/aria/flags").await.0,
            StatusCode::FORBIDDEN
        );
    }
    assert_eq!(
        aria.get(&f.teacher, "/api/aria/flags?status=maybe").await.0,
        StatusCode::UNPROCESSABLE_ENTITY
    );

    let flag = flags["flags"][0]["id"].as_i64().expect("id");
    let review = format!("/api/aria/flags/{flag}/review");
    assert_eq!(
        aria.request(Method::POST, &f.other_teacher, &review, None)
            .await
            .0,
        StatusCode::NOT_FOUND
    );
    assert_eq!(
        aria.request(Method::POST, &f.student_token, &review, None)
            .await
            .0,
        StatusCode::FORBIDDEN
    );
    assert_eq!(
        aria.request(Method::POST, &f.teacher, &review, None)
            .await
            .0,
        StatusCode::OK
    );
    let (_, open) = aria.get(&f.teacher, "/api/aria/flags").await;
    assert_eq!(open["flags"].as_array().expect("open").len(), 1);
    let (_, all) = aria.get(&f.teacher, "/api/aria/flags?status=all").await;
    assert_eq!(all["flags"].as_array().expect("all").len(), 2);
}

#[tokio::test]
async fn students_rate_answers_and_teachers_see_the_ratings() {
    let aria = spawn(100).await;
    let f = family(&aria).await;
    let (_, answer) = aria.ask(&f.student_token, "C'est quoi une pile ?").await;
    let message = answer["metadata"]["messageId"]
        .as_i64()
        .expect("message id");
    let rate = |token: &str, id: i64, body: Value| {
        let token = token.to_owned();
        let aria = &aria;
        async move {
            aria.request(
                Method::POST,
                &token,
                &format!("/api/aria/messages/{id}/rating"),
                Some(body),
            )
            .await
            .0
        }
    };
    assert_eq!(
        rate(&f.other_student, message, json!({"helpful": true})).await,
        StatusCode::NOT_FOUND
    );
    assert_eq!(
        rate(&f.parent, message, json!({"helpful": true})).await,
        StatusCode::FORBIDDEN
    );
    assert_eq!(
        rate(&f.student_token, message - 1, json!({"helpful": true})).await,
        StatusCode::NOT_FOUND,
        "the student's own question"
    );
    assert_eq!(
        rate(&f.student_token, message, json!({"helpful": "oui"})).await,
        StatusCode::UNPROCESSABLE_ENTITY
    );
    assert_eq!(
        rate(
            &f.student_token,
            message,
            json!({"helpful": false, "comment": "Trop court"})
        )
        .await,
        StatusCode::OK
    );
    let session = answer["sessionId"].as_str().expect("session");
    let (_, read) = aria
        .get(&f.teacher, &format!("/api/aria/sessions/{session}"))
        .await;
    assert_eq!(read["messages"][1]["helpful"], json!(false));
}

/// A stand-in for the provider's moderation endpoint (OpenAI's protocol): it flags
/// any input containing "drapeau".
async fn moderation_provider() -> String {
    let app = axum::Router::new().route(
        "/v1/moderations",
        axum::routing::post(|axum::Json(body): axum::Json<Value>| async move {
            let flagged = body["input"].as_str().unwrap_or("").contains("drapeau");
            axum::Json(
                json!({"id": "modr-1", "model": "omni-moderation-latest", "results": [
                {"flagged": flagged, "categories": {"harassment": false, "illicit": flagged}}]}),
            )
        }),
    );
    crate::stand_in(app).await
}

#[tokio::test]
async fn the_providers_moderation_endpoint_flags_what_local_rules_miss() {
    let url = moderation_provider().await;
    let aria = spawn_configured(100, None, |settings| {
        settings.moderation = Some(nexus_aria::moderation::ProviderSettings {
            base_url: url,
            api_key: None,
        });
    })
    .await;
    let f = family(&aria).await;
    aria.ask(&f.student_token, "C'est quoi une pile ?").await;
    aria.ask(&f.student_token, "Un drapeau pour la pile ?")
        .await;
    let (_, flags) = aria.get(&f.teacher, "/api/aria/flags").await;
    let flags = flags["flags"].as_array().expect("flags");
    assert_eq!(flags.len(), 1, "{flags:?}");
    assert_eq!(flags[0]["source"], json!("provider"));
    assert_eq!(flags[0]["category"], json!("illicit"));
}
