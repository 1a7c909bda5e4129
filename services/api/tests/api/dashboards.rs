use nexus_auth::Role;
use serde_json::json;

use crate::{
    fixtures::{School, add_member, assessment_of, every_type_questions},
    helpers::spawn_app,
};

#[tokio::test]
async fn each_role_gets_its_dashboard() {
    let app = spawn_app().await;
    let school = School::new(&app).await;
    let due = school.quiz(&app).await;
    let done = school.quiz(&app).await;
    let manual = assessment_of(
        &app,
        school.teacher.id,
        every_type_questions(),
        Some(school.class_id),
    )
    .await;
    app.put(
        &format!("/api/courses/{}/progress", school.course_id),
        Some(&school.student.token),
        json!({"sectionId": "ch1-s1", "sectionCompleted": true}),
    )
    .await;
    app.put(
        &format!("/api/courses/{}/progress", school.course_id),
        Some(&school.student.token),
        json!({"progressPercentage": 60}),
    )
    .await;
    for (id, answers) in [(done, json!({"q1": 1, "q2": false})), (manual, json!({}))] {
        let attempt =
            app.start_attempt(id, &school.student.token).await.body["attempt"]["id"].clone();
        app.submit(attempt, &school.student.token, json!({"answers": answers}))
            .await;
    }
    let idle = app.user(Role::Student).await;
    add_member(&app, school.class_id, idle.id).await;

    let student = app
        .get("/api/dashboard/student", Some(&school.student.token))
        .await
        .body;
    assert_eq!(student["courses"][0]["progressPercentage"], json!(60));
    let due_ids: Vec<i64> = student["dueAssessments"]
        .as_array()
        .expect("due")
        .iter()
        .map(|a| a["assessmentId"].as_i64().expect("id"))
        .collect();
    assert_eq!(due_ids, [due], "submitted ones are no longer due");
    assert_eq!(
        student["recentResults"].as_array().expect("results").len(),
        2
    );
    assert_eq!(student["averages"]["scorePercentage"], json!(50.0));
    assert_eq!(student["averages"]["progressPercentage"], json!(60.0));
    // Progress over time: eight weeks, oldest first, this week's completed section last.
    let weeks = student["weeklyActivity"].as_array().expect("weeks");
    assert_eq!(weeks.len(), 8, "{weeks:?}");
    let counts: Vec<i64> = weeks
        .iter()
        .map(|w| w["sectionsCompleted"].as_i64().expect("count"))
        .collect();
    assert_eq!(counts, [0, 0, 0, 0, 0, 0, 0, 1]);
    let starts: Vec<&str> = weeks
        .iter()
        .map(|w| w["weekStart"].as_str().expect("start"))
        .collect();
    assert!(starts.windows(2).all(|p| p[0] < p[1]), "{starts:?}");

    let parent = app
        .get("/api/dashboard/parent", Some(&school.parent.token))
        .await
        .body;
    assert_eq!(
        parent["children"][0]["student"]["id"],
        json!(school.student.id)
    );
    assert_eq!(parent["children"][0]["averages"], student["averages"]);

    let teacher = app
        .get("/api/dashboard/teacher", Some(&school.teacher.token))
        .await
        .body;
    let class = &teacher["classes"][0];
    assert_eq!(class["studentCount"], json!(2));
    let done_stats = class["assessments"]
        .as_array()
        .expect("stats")
        .iter()
        .find(|a| a["assessmentId"] == json!(done))
        .expect("done")
        .clone();
    assert_eq!(done_stats["averagePercentage"], json!(50.0));
    assert_eq!(done_stats["submitted"], json!(1));
    assert_eq!(done_stats["completionRate"], json!(50.0));
    let at_risk: Vec<i64> = class["studentsAtRisk"]
        .as_array()
        .expect("risk")
        .iter()
        .map(|s| s["studentId"].as_i64().expect("id"))
        .collect();
    assert_eq!(
        at_risk,
        [idle.id],
        "the student who has done nothing in the class's course"
    );
    assert_eq!(
        class["studentsAtRisk"][0]["reasons"],
        json!(["low_progress"])
    );
    assert_eq!(teacher["gradingQueue"][0]["assessmentId"], json!(manual));

    let admin = app
        .get("/api/dashboard/admin", Some(&school.admin.token))
        .await
        .body;
    assert_eq!(admin["students"], json!(2));
    assert_eq!(admin["teachers"], json!(1));
    assert_eq!(admin["coursesPublished"], json!(1));
    assert_eq!(admin["attemptsSubmitted7d"], json!(2));
}
