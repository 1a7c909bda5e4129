//! Every list that can grow answers one page at a time with the course list's envelope
//! (`pagination: {page, limit, total, pages}`); admins edit users.

use nexus_auth::Role;
use reqwest::StatusCode;
use serde_json::json;

use crate::{
    fixtures::{School, add_member, assessment_of, attempt_of, class_of, objective_questions},
    helpers::spawn_app,
};

#[tokio::test]
async fn classes_assessments_attempts_and_conversations_come_in_pages() {
    let app = spawn_app().await;
    let school = School::new(&app).await;
    let teacher = &school.teacher;
    for _ in 0..11 {
        class_of(&app, teacher.id).await;
    }
    let assessment = assessment_of(
        &app,
        teacher.id,
        objective_questions(),
        Some(school.class_id),
    )
    .await;
    for _ in 0..2 {
        assessment_of(&app, teacher.id, objective_questions(), None).await;
    }
    for _ in 0..3 {
        let student = app.user(Role::Student).await;
        add_member(&app, school.class_id, student.id).await;
        attempt_of(&app, assessment, student.id, "submitted").await;
    }

    let first = app.get("/api/classes", Some(&teacher.token)).await;
    assert_eq!(first.status, StatusCode::OK, "{}", first.body);
    assert_eq!(
        first.body["classes"].as_array().expect("classes").len(),
        10,
        "10 by default"
    );
    assert_eq!(
        first.body["pagination"],
        json!({"page": 1, "limit": 10, "total": 12, "pages": 2})
    );
    let second = app
        .get("/api/classes?page=2&limit=10", Some(&teacher.token))
        .await;
    assert_eq!(second.body["classes"].as_array().expect("classes").len(), 2);
    let all = app
        .get("/api/classes?limit=100", Some(&teacher.token))
        .await;
    let ids: Vec<i64> = all.body["classes"]
        .as_array()
        .expect("classes")
        .iter()
        .map(|c| c["id"].as_i64().expect("id"))
        .collect();
    let paged: Vec<i64> = [&first, &second]
        .iter()
        .flat_map(|a| {
            a.body["classes"]
                .as_array()
                .expect("classes")
                .iter()
                .map(|c| c["id"].as_i64().expect("id"))
                .collect::<Vec<_>>()
        })
        .collect();
    assert_eq!(
        ids, paged,
        "the pages together are the whole list, in order"
    );

    let assessments = app
        .get("/api/assessments?limit=2", Some(&teacher.token))
        .await;
    assert_eq!(
        assessments.body["assessments"]
            .as_array()
            .expect("list")
            .len(),
        2
    );
    assert_eq!(
        assessments.body["pagination"],
        json!({"page": 1, "limit": 2, "total": 3, "pages": 2})
    );

    let attempts = app
        .get(
            &format!("/api/assessments/{assessment}/attempts?page=2&limit=2"),
            Some(&teacher.token),
        )
        .await;
    assert_eq!(attempts.body["attempts"].as_array().expect("list").len(), 1);
    assert_eq!(
        attempts.body["pagination"],
        json!({"page": 2, "limit": 2, "total": 3, "pages": 2})
    );

    let conversations = app.get("/api/conversations", Some(&teacher.token)).await;
    assert_eq!(
        conversations.status,
        StatusCode::OK,
        "{}",
        conversations.body
    );
    assert!(
        conversations.body["pagination"]["total"].is_i64(),
        "{}",
        conversations.body
    );

    // Out-of-range values are clamped like the course list's.
    let clamped = app
        .get("/api/classes?limit=1000&page=0", Some(&teacher.token))
        .await;
    assert_eq!(clamped.body["pagination"]["limit"], 100);
    assert_eq!(clamped.body["pagination"]["page"], 1);
    let bad = app.get("/api/classes?page=abc", Some(&teacher.token)).await;
    assert_eq!(bad.status, StatusCode::BAD_REQUEST, "{}", bad.body);
}

#[tokio::test]
async fn an_admin_edits_a_users_name_email_and_students_profile() {
    let app = spawn_app().await;
    let school = School::new(&app).await;
    let path = format!("/api/users/{}", school.student.id);
    let answer = app
        .patch(
            &path,
            Some(&school.admin.token),
            json!({"firstName": "Inès", "lastName": "Roux", "email": "Ines.Roux@Lycee.fr", "classLevel": "premiere", "schoolName": "Lycée Hoche", "phone": ""}),
        )
        .await;
    assert_eq!(answer.status, StatusCode::OK, "{}", answer.body);
    let user = &answer.body["user"];
    assert_eq!(user["firstName"], "Inès");
    assert_eq!(user["lastName"], "Roux");
    assert_eq!(user["email"], "ines.roux@lycee.fr");
    assert_eq!(user["classLevel"], "premiere");
    assert_eq!(user["schoolName"], "Lycée Hoche");
    assert_eq!(
        user["isVerified"], false,
        "a new address is to be confirmed"
    );
    // Signing in with the new address works.
    let login = app
        .login("ines.roux@lycee.fr", crate::helpers::PASSWORD)
        .await;
    assert_eq!(login.status, StatusCode::OK, "{}", login.body);

    let taken = app
        .patch(
            &path,
            Some(&school.admin.token),
            json!({"email": school.teacher.email}),
        )
        .await;
    assert_eq!(taken.status, StatusCode::CONFLICT);
    assert_eq!(taken.error_code(), "email_taken");
    let invalid = app
        .patch(
            &path,
            Some(&school.admin.token),
            json!({"firstName": "", "email": "pas-une-adresse", "classLevel": "cm2"}),
        )
        .await;
    assert_eq!(invalid.status, StatusCode::UNPROCESSABLE_ENTITY);
    for field in ["firstName", "email", "classLevel"] {
        assert!(
            invalid.body["details"][field].is_string(),
            "{field}: {}",
            invalid.body
        );
    }
    let teacher_level = app
        .patch(
            &format!("/api/users/{}", school.teacher.id),
            Some(&school.admin.token),
            json!({"classLevel": "premiere"}),
        )
        .await;
    assert_eq!(teacher_level.status, StatusCode::UNPROCESSABLE_ENTITY);
    assert_eq!(
        teacher_level.body["details"]["classLevel"],
        "Seuls les élèves ont un niveau de classe."
    );
    let unknown = app
        .patch(&path, Some(&school.admin.token), json!({"role": "admin"}))
        .await;
    assert_eq!(
        unknown.status,
        StatusCode::UNPROCESSABLE_ENTITY,
        "{}",
        unknown.body
    );
    let missing = app
        .patch(
            "/api/users/999999",
            Some(&school.admin.token),
            json!({"firstName": "X"}),
        )
        .await;
    assert_eq!(missing.status, StatusCode::NOT_FOUND);

    for (who, token) in [
        ("a teacher", &school.teacher.token),
        ("the student themself", &school.student.token),
        ("a parent", &school.parent.token),
    ] {
        let refused = app
            .patch(&path, Some(token), json!({"firstName": "Pirate"}))
            .await;
        assert_eq!(refused.status, StatusCode::FORBIDDEN, "{who}");
    }
    let anonymous = app.patch(&path, None, json!({"firstName": "Pirate"})).await;
    assert_eq!(anonymous.status, StatusCode::UNAUTHORIZED);
    let name: String = sqlx::query_scalar("select first_name from users where id = $1")
        .bind(school.student.id)
        .fetch_one(&app.pool)
        .await
        .expect("name");
    assert_eq!(name, "Inès");
}
