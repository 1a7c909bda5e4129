//! The catalogue's listing totals come from `course_counts`, kept by a trigger (issue 19):
//! every change that moves a course in or out of a listing must move its total, for every
//! role and filter, and a student never sees a course they may not see.

use nexus_auth::Role;
use reqwest::StatusCode;
use serde_json::{Value, json};

use crate::{
    fixtures::{School, course_body},
    helpers::{TestApp, spawn_app},
};

const FILTERS: [&str; 6] = [
    "",
    "level=terminale",
    "level=premiere",
    "category=structures",
    "level=terminale&category=structures",
    "level=premiere&category=structures",
];

/// The exact count a role should see for a filter, straight from `courses`.
async fn expected(app: &TestApp, role: Role, user_id: i64, filter: &str) -> i64 {
    let level = filter
        .split('&')
        .find_map(|p| p.strip_prefix("level="))
        .map(str::to_owned);
    let category = filter
        .split('&')
        .find_map(|p| p.strip_prefix("category="))
        .map(str::to_owned);
    sqlx::query_scalar(
        "select count(*) from courses c
         where (c.is_published or $1 = 'admin' or ($1 = 'teacher' and c.created_by = $2))
           and ($3::text is null or c.level = $3) and ($4::text is null or c.category = $4)",
    )
    .bind(role.as_str())
    .bind(user_id)
    .bind(level)
    .bind(category)
    .fetch_one(&app.pool)
    .await
    .expect("count")
}

/// Lists every filter as each user and compares the total with the exact count; checks
/// that the student's pages hold published courses only. Returns the student's totals.
async fn check(app: &TestApp, users: &[(Role, i64, &str)], step: &str) -> Vec<i64> {
    let mut student_totals = Vec::new();
    for filter in FILTERS {
        for &(role, id, token) in users {
            let answer = app
                .get(&format!("/api/courses?{filter}&limit=100"), Some(token))
                .await;
            assert_eq!(answer.status, StatusCode::OK, "{step}: {}", answer.body);
            let total = answer.body["pagination"]["total"].as_i64().expect("total");
            assert_eq!(
                total,
                expected(app, role, id, filter).await,
                "{step}: total for {role:?} with `{filter}`"
            );
            let listed = answer.body["courses"].as_array().expect("courses");
            assert_eq!(
                listed.len() as i64,
                total,
                "{step}: one page holds them all"
            );
            if role == Role::Student {
                assert!(
                    listed.iter().all(|c| c["isPublished"] == json!(true)),
                    "{step}: a student sees a draft with `{filter}`"
                );
                student_totals.push(total);
            }
        }
    }
    student_totals
}

#[tokio::test]
async fn listing_totals_follow_create_edit_publish_unpublish_and_delete() {
    let app = spawn_app().await;
    let school = School::new(&app).await;
    let other_teacher = app.user(Role::Teacher).await;
    let users = [
        (
            Role::Student,
            school.student.id,
            school.student.token.as_str(),
        ),
        (Role::Parent, school.parent.id, school.parent.token.as_str()),
        (
            Role::Teacher,
            school.teacher.id,
            school.teacher.token.as_str(),
        ),
        (
            Role::Teacher,
            other_teacher.id,
            other_teacher.token.as_str(),
        ),
        (Role::Admin, school.admin.id, school.admin.token.as_str()),
    ];
    let before = check(&app, &users, "start").await;

    // A draft: counted for its author and admins only.
    let id = app
        .write_course(&school.teacher.token, course_body("Files de priorité"))
        .await;
    assert_eq!(check(&app, &users, "draft").await, before);

    // Published: students see it (terminale, structures).
    let path = format!("/api/courses/{id}");
    app.publish_course(&school.teacher.token, id).await;
    let after_publish = check(&app, &users, "published").await;
    assert_eq!(after_publish[0], before[0] + 1, "all courses");
    assert_eq!(after_publish[1], before[1] + 1, "terminale");
    assert_eq!(after_publish[2], before[2], "premiere");

    // Edited to another level and no category: it moves between the level totals.
    let mut body: Value = course_body("Files de priorité");
    body["level"] = json!("premiere");
    body["category"] = Value::Null;
    let edited = app.put(&path, Some(&school.teacher.token), body).await;
    assert_eq!(edited.status, StatusCode::OK, "{}", edited.body);
    let after_edit = check(&app, &users, "edited").await;
    assert_eq!(after_edit[0], before[0] + 1);
    assert_eq!(after_edit[1], before[1], "no longer terminale");
    assert_eq!(after_edit[2], before[2] + 1, "now premiere");
    assert_eq!(after_edit[3], before[3], "no longer in its category");

    // An edit that changes nothing the totals depend on leaves them as they are.
    let mut body: Value = course_body("Files de priorité, deuxième version");
    body["level"] = json!("premiere");
    body["category"] = Value::Null;
    let retitled = app.put(&path, Some(&school.teacher.token), body).await;
    assert_eq!(retitled.status, StatusCode::OK, "{}", retitled.body);
    assert_eq!(check(&app, &users, "retitled").await, after_edit);

    // Unpublished: gone for students at once, still there for its author.
    let unpublished = app
        .post(
            &format!("{path}/unpublish"),
            Some(&school.teacher.token),
            json!({}),
        )
        .await;
    assert_eq!(unpublished.status, StatusCode::OK, "{}", unpublished.body);
    assert_eq!(check(&app, &users, "unpublished").await, before);

    // Published again, then deleted.
    app.post(
        &format!("{path}/publish"),
        Some(&school.teacher.token),
        json!({}),
    )
    .await;
    assert_eq!(check(&app, &users, "republished").await, after_edit);
    let deleted = app.delete(&path, Some(&school.teacher.token)).await;
    assert_eq!(deleted.status, StatusCode::OK, "{}", deleted.body);
    assert_eq!(check(&app, &users, "deleted").await, before);

    // The kept counts equal a fresh count of the table.
    let drift: i64 = sqlx::query_scalar(
        "select count(*) from (
            select is_published, level, coalesce(category, '') as category, count(*) as n from courses group by 1, 2, 3
         ) fresh full join course_counts k using (is_published, level, category)
         where coalesce(fresh.n, 0) <> coalesce(k.n, 0)",
    )
    .fetch_one(&app.pool)
    .await
    .expect("drift");
    assert_eq!(drift, 0, "course_counts differs from the courses table");
}

#[tokio::test]
async fn a_teachers_total_counts_their_own_drafts_not_a_colleagues() {
    let app = spawn_app().await;
    let school = School::new(&app).await;
    let colleague = app.user(Role::Teacher).await;
    let total = |token: String| {
        let app = &app;
        async move {
            app.get("/api/courses?level=terminale", Some(&token))
                .await
                .body["pagination"]["total"]
                .as_i64()
                .expect("total")
        }
    };
    let mine_before = total(school.teacher.token.clone()).await;
    let theirs_before = total(colleague.token.clone()).await;
    for title in ["Brouillon 1", "Brouillon 2"] {
        app.write_course(&school.teacher.token, course_body(title))
            .await;
    }
    assert_eq!(total(school.teacher.token.clone()).await, mine_before + 2);
    assert_eq!(total(colleague.token.clone()).await, theirs_before);
    assert_eq!(
        total(school.student.token.clone()).await,
        theirs_before,
        "students see what a colleague sees"
    );
}
