use nexus_auth::Role;
use reqwest::StatusCode;
use serde_json::json;

use crate::{
    fixtures::{self, School},
    helpers::spawn_app,
};

#[tokio::test]
async fn completing_sections_computes_the_course_progress() {
    let app = spawn_app().await;
    let school = School::new(&app).await;
    let path = format!("/api/courses/{}/progress", school.course_id);
    let put = |body| app.put(&path, Some(&school.student.token), body);
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
            .put(&path, Some(&school.student.token), body.clone())
            .await;
        assert_eq!(answer.status, StatusCode::UNPROCESSABLE_ENTITY, "{body}");
    }
    let draft = crate::fixtures::course_of(&app, school.teacher.id, "Brouillon", false).await;
    let hidden = app
        .put(
            &format!("/api/courses/{draft}/progress"),
            Some(&school.student.token),
            json!({"progressPercentage": 10}),
        )
        .await;
    assert_eq!(hidden.status, StatusCode::NOT_FOUND);
}

#[tokio::test]
async fn parents_and_teachers_see_the_progress_of_their_students_only() {
    let app = spawn_app().await;
    let school = School::new(&app).await;
    app.put(
        &format!("/api/courses/{}/progress", school.course_id),
        Some(&school.student.token),
        json!({"progressPercentage": 40}),
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
    assert_eq!(
        class.body["courses"],
        json!([{"id": school.course_id, "title": "Piles et files"}])
    );
    let row = &class.body["students"][0];
    assert_eq!(row["id"], json!(school.student.id), "{}", class.body);
    assert_eq!(row["progress"], json!([40]), "{}", class.body);
    assert!(row["lastAccessed"].is_string(), "{}", class.body);
}

#[tokio::test]
async fn a_class_s_progress_is_a_students_by_courses_table() {
    let app = spawn_app().await;
    let school = School::new(&app).await;
    let path = format!("/api/classes/{}/progress", school.class_id);
    // Two more students (one who never opened a course), a second course; a
    // course of another class must not show.
    let second = fixtures::course_of(&app, school.teacher.id, "Graphes", true).await;
    fixtures::assign_course(&app, second, school.class_id).await;
    let elsewhere = fixtures::course_of(&app, school.teacher.id, "Ailleurs", true).await;
    let (other_class, _) = fixtures::class_of(&app, school.teacher.id).await;
    fixtures::assign_course(&app, elsewhere, other_class).await;
    let (busy, idle) = (app.user(Role::Student).await, app.user(Role::Student).await);
    for s in [&busy, &idle] {
        fixtures::add_member(&app, school.class_id, s.id).await;
    }
    sqlx::query(
        "insert into student_progress (student_id, course_id, progress_percentage, last_accessed)
         values ($1, $2, 30, '2026-12-01T08:00:00Z'), ($1, $3, 70, '2026-12-02T09:00:00Z'),
                ($1, $4, 90, '2026-12-03T10:00:00Z')",
    )
    .bind(busy.id)
    .bind(school.course_id)
    .bind(second)
    .bind(elsewhere)
    .execute(&app.pool)
    .await
    .expect("progress");

    let table = app.get_fresh(&path, Some(&school.teacher.token)).await;
    assert_eq!(table.status, StatusCode::OK, "{}", table.body);
    let courses: Vec<i64> = table.body["courses"]
        .as_array()
        .expect("courses")
        .iter()
        .map(|c| c["id"].as_i64().expect("id"))
        .collect();
    let mut expected = vec![school.course_id, second];
    expected.sort_unstable();
    assert_eq!(courses, expected, "the class's courses, by id");
    let students = table.body["students"].as_array().expect("students");
    let mut ids: Vec<i64> = students
        .iter()
        .map(|s| s["id"].as_i64().expect("id"))
        .collect();
    ids.sort_unstable();
    let mut members = vec![school.student.id, busy.id, idle.id];
    members.sort_unstable();
    assert_eq!(ids, members, "every member once");
    let row = |id: i64| {
        students
            .iter()
            .find(|s| s["id"] == json!(id))
            .expect("student")
            .clone()
    };
    let by_course = |first: i64, second_value: i64| {
        if courses[0] == school.course_id {
            json!([first, second_value])
        } else {
            json!([second_value, first])
        }
    };
    let busy_row = row(busy.id);
    assert_eq!(
        busy_row["progress"],
        by_course(30, 70),
        "in the order of `courses`"
    );
    assert_eq!(
        busy_row["lastAccessed"],
        json!("2026-12-02T09:00:00Z"),
        "the latest activity in this class's courses, not another class's"
    );
    let name: String =
        sqlx::query_scalar("select first_name || ' ' || last_name from users where id = $1")
            .bind(busy.id)
            .fetch_one(&app.pool)
            .await
            .expect("name");
    assert_eq!(busy_row["name"], json!(name));
    let idle_row = row(idle.id);
    assert_eq!(idle_row["progress"], json!([0, 0]));
    assert!(idle_row["lastAccessed"].is_null());

    // A class without courses: every student, no column.
    let (empty, _) = fixtures::class_of(&app, school.teacher.id).await;
    fixtures::add_member(&app, empty, idle.id).await;
    let bare = app
        .get_fresh(
            &format!("/api/classes/{empty}/progress"),
            Some(&school.teacher.token),
        )
        .await;
    assert_eq!(bare.body["courses"], json!([]), "{}", bare.body);
    assert_eq!(
        bare.body["students"][0]["progress"],
        json!([]),
        "{}",
        bare.body
    );
}
