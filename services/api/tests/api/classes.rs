use nexus_auth::Role;
use reqwest::StatusCode;
use serde_json::json;

use crate::{fixtures::School, helpers::spawn_app};

#[tokio::test]
async fn a_teacher_creates_a_class_students_join_with_the_code_and_the_roster_shows_them() {
    let app = spawn_app().await;
    let teacher = app.user(Role::Teacher).await;
    let student = app.user(Role::Student).await;
    let created = app
        .post("/api/classes", Some(&teacher.token), json!({"name": "Terminale NSI — groupe A", "level": "terminale", "schoolYear": "2026-2027"}))
        .await;
    assert_eq!(created.status, StatusCode::CREATED, "{}", created.body);
    let class_id = created.body["class"]["id"].as_i64().expect("id");
    let code = created.body["class"]["joinCode"]
        .as_str()
        .expect("code")
        .to_owned();

    let joined = app
        .post(
            "/api/classes/join",
            Some(&student.token),
            json!({"code": code.to_lowercase()}),
        )
        .await;
    assert_eq!(joined.status, StatusCode::OK, "{}", joined.body);
    assert!(
        joined.body["class"].get("joinCode").is_none(),
        "students do not get the join code"
    );
    assert_eq!(
        app.post(
            "/api/classes/join",
            Some(&student.token),
            json!({"code": code})
        )
        .await
        .status,
        StatusCode::CONFLICT
    );
    assert_eq!(
        app.post(
            "/api/classes/join",
            Some(&student.token),
            json!({"code": "NOPE1234"})
        )
        .await
        .status,
        StatusCode::NOT_FOUND
    );

    let detail = app
        .get(&format!("/api/classes/{class_id}"), Some(&teacher.token))
        .await;
    assert_eq!(detail.body["students"][0]["id"], json!(student.id));
    assert_eq!(detail.body["class"]["studentCount"], json!(1));
    let as_student = app
        .get(&format!("/api/classes/{class_id}"), Some(&student.token))
        .await;
    assert_eq!(as_student.status, StatusCode::OK);
    assert!(
        as_student.body.get("students").is_none(),
        "students do not see the roster"
    );

    let mine = app.get("/api/classes", Some(&student.token)).await;
    assert_eq!(mine.body["classes"][0]["id"], json!(class_id));
}

#[tokio::test]
async fn a_teacher_invites_and_removes_students_and_archives_the_class() {
    let app = spawn_app().await;
    let school = School::new(&app).await;
    let newcomer = app.user(Role::Student).await;
    let path = format!("/api/classes/{}", school.class_id);
    let invited = app
        .post(
            &format!("{path}/students"),
            Some(&school.teacher.token),
            json!({"email": newcomer.email}),
        )
        .await;
    assert_eq!(invited.status, StatusCode::ACCEPTED, "{}", invited.body);
    // A parent's address gets the same answer (and no invitation they could use).
    let not_a_student = app
        .post(
            &format!("{path}/students"),
            Some(&school.teacher.token),
            json!({"email": school.parent.email}),
        )
        .await;
    assert_eq!(not_a_student.status, StatusCode::ACCEPTED);
    assert_eq!(not_a_student.body, invited.body);
    let invitations = app
        .get("/api/me/class-invitations", Some(&newcomer.token))
        .await;
    let invitation = invitations.body["invitations"][0]["id"]
        .as_i64()
        .expect("invitation");
    let accepted = app
        .answer_invitation(&newcomer.token, invitation, "accept")
        .await;
    assert_eq!(accepted.status, StatusCode::OK, "{}", accepted.body);
    let removed = app
        .delete(
            &format!("{path}/students/{}", newcomer.id),
            Some(&school.teacher.token),
        )
        .await;
    assert_eq!(removed.status, StatusCode::OK);

    let archived = app
        .patch(
            &path,
            Some(&school.teacher.token),
            json!({"archived": true}),
        )
        .await;
    assert_eq!(archived.body["class"]["archived"], json!(true));
    let join = app
        .post(
            "/api/classes/join",
            Some(&newcomer.token),
            json!({"code": school.join_code}),
        )
        .await;
    assert_eq!(join.status, StatusCode::CONFLICT);
    assert_eq!(join.error_code(), "class_archived");

    let renewed = app
        .patch(
            &path,
            Some(&school.teacher.token),
            json!({"archived": false, "regenerateJoinCode": true}),
        )
        .await;
    assert_ne!(renewed.body["class"]["joinCode"], json!(school.join_code));
    let old_code = app
        .post(
            "/api/classes/join",
            Some(&newcomer.token),
            json!({"code": school.join_code}),
        )
        .await;
    assert_eq!(old_code.status, StatusCode::NOT_FOUND);
}

#[tokio::test]
async fn a_teacher_cannot_see_or_manage_another_teachers_class() {
    let app = spawn_app().await;
    let school = School::new(&app).await;
    let other = app.user(Role::Teacher).await;
    let path = format!("/api/classes/{}", school.class_id);
    assert_eq!(
        app.get(&path, Some(&other.token)).await.status,
        StatusCode::NOT_FOUND
    );
    assert_eq!(
        app.patch(&path, Some(&other.token), json!({"name": "Pris"}))
            .await
            .status,
        StatusCode::FORBIDDEN
    );
    assert_eq!(
        app.get(&format!("{path}/progress"), Some(&other.token))
            .await
            .status,
        StatusCode::FORBIDDEN
    );
    let remove = app
        .delete(
            &format!("{path}/students/{}", school.student.id),
            Some(&other.token),
        )
        .await;
    assert_eq!(remove.status, StatusCode::FORBIDDEN);
    assert_eq!(
        app.get("/api/classes", Some(&other.token)).await.body["classes"],
        json!([])
    );
    let student_progress = app
        .get(
            &format!("/api/students/{}/progress", school.student.id),
            Some(&other.token),
        )
        .await;
    assert_eq!(student_progress.status, StatusCode::NOT_FOUND);
}
