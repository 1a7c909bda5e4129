use nexus_auth::Role;
use reqwest::{Method, StatusCode};
use serde_json::json;

use crate::{fixtures::School, helpers::spawn_app};

#[tokio::test]
async fn completing_sections_computes_the_course_progress() {
    let app = spawn_app().await;
    let school = School::new(&app).await;
    let path = format!("/api/courses/{}/progress", school.course_id);
    let put = |body| app.request(Method::PUT, &path, Some(&school.student.token), Some(body));
    let first =
        put(json!({"sectionId": "ch1-s1", "sectionCompleted": true, "timeSpentSeconds": 300}))
            .await;
    assert_eq!(first.status, StatusCode::OK, "{}", first.body);
    assert_eq!(
        first.body["progress"]["progressPercentage"],
        json!(33),
        "1 of 3 sections"
    );
    put(json!({"sectionId": "ch1-s2", "sectionCompleted": true, "timeSpentSeconds": 120})).await;
    let done = put(json!({"sectionId": "ch2-s1", "sectionCompleted": true})).await;
    assert_eq!(done.body["progress"]["progressPercentage"], json!(100));
    assert!(done.body["progress"]["completedAt"].is_string());
    assert_eq!(done.body["progress"]["timeSpentSeconds"], json!(420));
    assert_eq!(
        done.body["progress"]["completedSections"],
        json!(["ch1-s1", "ch1-s2", "ch2-s1"])
    );

    let undone = put(json!({"sectionId": "ch2-s1", "sectionCompleted": false})).await;
    assert_eq!(undone.body["progress"]["progressPercentage"], json!(66));
    assert!(undone.body["progress"]["completedAt"].is_null());
    let explicit = put(json!({"progressPercentage": 80})).await;
    assert_eq!(explicit.body["progress"]["progressPercentage"], json!(80));
}

#[tokio::test]
async fn progress_updates_are_validated() {
    let app = spawn_app().await;
    let school = School::new(&app).await;
    let path = format!("/api/courses/{}/progress", school.course_id);
    for body in [
        json!({"progressPercentage": 101}),
        json!({"progressPercentage": -1}),
        json!({"sectionId": "nope"}),
        json!({"sectionCompleted": true}),
        json!({"timeSpentSeconds": 100000}),
    ] {
        let answer = app
            .request(
                Method::PUT,
                &path,
                Some(&school.student.token),
                Some(body.clone()),
            )
            .await;
        assert_eq!(answer.status, StatusCode::UNPROCESSABLE_ENTITY, "{body}");
    }
    let draft = crate::fixtures::course_of(&app, school.teacher.id, "Brouillon", false).await;
    let hidden = app
        .request(
            Method::PUT,
            &format!("/api/courses/{draft}/progress"),
            Some(&school.student.token),
            Some(json!({"progressPercentage": 10})),
        )
        .await;
    assert_eq!(hidden.status, StatusCode::NOT_FOUND);
}

#[tokio::test]
async fn parents_and_teachers_see_the_progress_of_their_students_only() {
    let app = spawn_app().await;
    let school = School::new(&app).await;
    app.request(
        Method::PUT,
        &format!("/api/courses/{}/progress", school.course_id),
        Some(&school.student.token),
        Some(json!({"progressPercentage": 40})),
    )
    .await;
    let path = format!("/api/students/{}/progress", school.student.id);
    for (who, token) in [
        ("parent", &school.parent.token),
        ("teacher", &school.teacher.token),
        ("admin", &school.admin.token),
    ] {
        let answer = app.get(&path, Some(token)).await;
        assert_eq!(answer.status, StatusCode::OK, "{who}");
        assert_eq!(
            answer.body["courses"][0]["progressPercentage"],
            json!(40),
            "{who}"
        );
    }
    let stranger_parent = app.user(Role::Parent).await;
    let other_student = app.user(Role::Student).await;
    assert_eq!(
        app.get(&path, Some(&stranger_parent.token)).await.status,
        StatusCode::NOT_FOUND
    );
    assert_eq!(
        app.get(&path, Some(&other_student.token)).await.status,
        StatusCode::NOT_FOUND
    );

    let class = app
        .get(
            &format!("/api/classes/{}/progress", school.class_id),
            Some(&school.teacher.token),
        )
        .await;
    assert_eq!(class.body["progress"][0]["progressPercentage"], json!(40));
    assert_eq!(
        class.body["progress"][0]["studentId"],
        json!(school.student.id)
    );
}
