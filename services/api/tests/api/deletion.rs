//! Issue #17: deletion of an account (by its holder, a linked parent, an admin), the
//! grace period, erasure with time under the test's control, anonymised grades still
//! counted in the class's statistics, and every refusal.

use chrono::{Duration, Utc};
use nexus_api::privacy::erasure::erase_due;
use nexus_auth::Role;
use reqwest::StatusCode;
use serde_json::{Value, json};

use crate::{
    fixtures::{School, add_member},
    helpers::{PASSWORD, TestApp, TestUser, spawn_app},
};

fn confirm() -> Value {
    json!({ "password": PASSWORD })
}

/// A graded attempt with something the student wrote and the teacher's comments.
async fn graded(app: &TestApp, assessment: i64, student: i64, score: f64) {
    sqlx::query(
        "insert into assessment_results (assessment_id, student_id, status, score, max_score, answers,
                                         feedback, breakdown, submitted_at, graded_at)
         values ($1, $2, 'graded', $3, 2, '{\"q1\": 1, \"q2\": \"Mon texte personnel\"}',
                 'Bien, Camille', '{\"q1\": {\"points\": 1, \"feedback\": \"Bravo Camille\"}}', now(), now())",
    )
    .bind(assessment)
    .bind(student)
    .bind(score)
    .execute(&app.pool)
    .await
    .expect("graded attempt");
}

/// The class's average on the teacher's dashboard for this assessment, and its size.
async fn class_stats(app: &TestApp, school: &School, assessment: i64) -> (Value, Value) {
    let dashboard = app
        .get("/api/dashboard/teacher", Some(&school.teacher.token))
        .await;
    assert_eq!(dashboard.status, StatusCode::OK, "{}", dashboard.body);
    let class = dashboard.body["classes"]
        .as_array()
        .expect("classes")
        .iter()
        .find(|c| c["classId"] == json!(school.class_id))
        .expect("class")
        .clone();
    let stats = class["assessments"]
        .as_array()
        .expect("stats")
        .iter()
        .find(|a| a["assessmentId"] == json!(assessment))
        .expect("assessment")
        .clone();
    (
        stats["averagePercentage"].clone(),
        class["studentCount"].clone(),
    )
}

async fn count(app: &TestApp, sql: &'static str, id: i64) -> i64 {
    sqlx::query_scalar(sql)
        .bind(id)
        .fetch_one(&app.pool)
        .await
        .unwrap_or_else(|e| panic!("{sql}: {e}"))
}

/// Everything personal a student holds, written straight to the database.
async fn personal_data(app: &TestApp, school: &School) {
    let s = school.student.id;
    let statements = [
        "insert into aria_sessions (user_id, session_id, title) values ($1, 'sess-' || $1, 'Les piles')",
        "insert into aria_messages (session_id, message_type, content) values ('sess-' || $1, 'user', 'Je ne comprends pas les piles')",
        "insert into notifications (user_id, kind, title) values ($1, 'grade', 'Nouvelle note')",
        "update users set date_of_birth = '2009-05-14', phone = '0612345678' where id = $1",
    ];
    for sql in statements {
        sqlx::query(sql)
            .bind(s)
            .execute(&app.pool)
            .await
            .unwrap_or_else(|e| panic!("{sql}: {e}"));
    }
    sqlx::query("insert into student_progress (student_id, course_id, progress_percentage) values ($1, $2, 40)")
        .bind(s)
        .bind(school.course_id)
        .execute(&app.pool)
        .await
        .expect("progress");
    sqlx::query("insert into parental_consents (student_id, parent_id) values ($1, $2)")
        .bind(s)
        .bind(school.parent.id)
        .execute(&app.pool)
        .await
        .expect("consent");
    let conversation: i64 = sqlx::query_scalar(
        "insert into conversations (kind, created_by) values ('direct', $1) returning id",
    )
    .bind(s)
    .fetch_one(&app.pool)
    .await
    .expect("conversation");
    for (user, text) in [
        (s, "Bonjour, ici Camille"),
        (school.teacher.id, "Bonjour !"),
    ] {
        sqlx::query(
            "insert into conversation_participants (conversation_id, user_id) values ($1, $2)",
        )
        .bind(conversation)
        .bind(user)
        .execute(&app.pool)
        .await
        .expect("participant");
        sqlx::query("insert into messages (conversation_id, sender_id, client_message_id, body) values ($1, $2, gen_random_uuid()::text, $3)")
            .bind(conversation)
            .bind(user)
            .bind(text)
            .execute(&app.pool)
            .await
            .expect("message");
    }
}

async fn audit(app: &TestApp, admin: &TestUser, subject: i64) -> Vec<Value> {
    let log = app
        .get(
            &format!("/api/admin/audit-log?userId={subject}"),
            Some(&admin.token),
        )
        .await;
    assert_eq!(log.status, StatusCode::OK, "{}", log.body);
    log.body["entries"].as_array().expect("entries").clone()
}

#[tokio::test]
async fn a_deleted_account_is_disabled_at_once_and_erased_only_after_the_grace_period() {
    let app = spawn_app().await;
    let school = School::new(&app).await;
    let classmate = app.user(Role::Student).await;
    add_member(&app, school.class_id, classmate.id).await;
    let quiz = school.quiz(&app).await;
    graded(&app, quiz, school.student.id, 2.0).await;
    graded(&app, quiz, classmate.id, 1.0).await;
    personal_data(&app, &school).await;
    let before = class_stats(&app, &school, quiz).await;
    assert_eq!(before, (json!(75.0), json!(2)), "both students counted");
    let student = &school.student;

    // A wrong password changes nothing.
    let wrong = app
        .post(
            "/api/me/deletion",
            Some(&student.token),
            json!({"password": "Pas-le-bon-42"}),
        )
        .await;
    assert_eq!(
        wrong.status,
        StatusCode::UNPROCESSABLE_ENTITY,
        "{}",
        wrong.body
    );
    assert!(
        wrong.body["details"]["password"].is_string(),
        "{}",
        wrong.body
    );
    assert_eq!(
        app.get("/api/auth/me", Some(&student.token)).await.status,
        StatusCode::OK
    );

    let asked_at = Utc::now();
    let asked = app
        .post("/api/me/deletion", Some(&student.token), confirm())
        .await;
    assert_eq!(asked.status, StatusCode::ACCEPTED, "{}", asked.body);
    let grace = Duration::from_std(app.settings.privacy.erasure_grace).expect("grace");
    let erase_after: chrono::DateTime<Utc> =
        serde_json::from_value(asked.body["eraseAfter"].clone()).expect("eraseAfter");
    assert!(
        (erase_after - (asked_at + grace)).num_seconds().abs() < 60,
        "{erase_after}"
    );

    // Disabled at once: the access token and the refresh token stop working.
    let me = app.get("/api/auth/me", Some(&student.token)).await;
    assert!(
        matches!(me.status, StatusCode::FORBIDDEN | StatusCode::UNAUTHORIZED),
        "{}",
        me.body
    );
    let refresh = app.refresh(&student.refresh_token).await;
    assert_eq!(refresh.status, StatusCode::UNAUTHORIZED, "{}", refresh.body);
    // Signing in says when erasure happens and how to cancel, in French.
    let login = app.login(&student.email, PASSWORD).await;
    assert_eq!(login.status, StatusCode::FORBIDDEN, "{}", login.body);
    assert_eq!(login.error_code(), "deletion_pending");
    let message = login.body["error"].as_str().expect("message");
    let date = nexus_api::dates::long_date(erase_after);
    assert!(message.contains(&date), "{message} / {date}");
    assert!(message.contains("Annuler la suppression"), "{message}");
    assert_eq!(login.body["details"]["canCancel"], json!(true));
    // A wrong password on a pending account still gets the ordinary answer.
    let wrong = app.login(&student.email, "Pas-le-bon-42").await;
    assert_eq!(wrong.status, StatusCode::UNAUTHORIZED);

    // Within the grace period nothing is erased.
    let early = erase_due(&app.pool, asked_at + grace - Duration::hours(1))
        .await
        .expect("purge");
    assert_eq!(early.accounts, 0);
    assert_eq!(
        count(&app, "select count(*) from users where id = $1", student.id).await,
        1
    );
    assert_eq!(
        count(
            &app,
            "select count(*) from aria_sessions where user_id = $1",
            student.id
        )
        .await,
        1
    );

    // After it, everything personal is gone.
    let done = erase_due(&app.pool, asked_at + grace + Duration::minutes(5))
        .await
        .expect("purge");
    assert_eq!(done.accounts, 1);
    assert_eq!(done.grades_kept, 1);
    let s = student.id;
    for sql in [
        "select count(*) from users where id = $1",
        "select count(*) from student_profiles where user_id = $1",
        "select count(*) from parent_links where student_id = $1",
        "select count(*) from parental_consents where student_id = $1",
        "select count(*) from auth_tokens where user_id = $1",
        "select count(*) from aria_sessions where user_id = $1",
        "select count(*) from aria_messages where session_id = 'sess-' || $1",
        "select count(*) from notifications where user_id = $1",
        "select count(*) from student_progress where student_id = $1",
        "select count(*) from class_members where student_id = $1",
        "select count(*) from assessment_results where student_id = $1",
        "select count(*) from conversation_participants where user_id = $1",
        "select count(*) from messages where sender_id = $1",
        "select count(*) from deletion_requests where user_id = $1",
    ] {
        assert_eq!(count(&app, sql, s).await, 0, "{sql}");
    }
    let email_left: i64 =
        sqlx::query_scalar("select count(*) from users where lower(email) = lower($1)")
            .bind(&student.email)
            .fetch_one(&app.pool)
            .await
            .expect("email");
    assert_eq!(email_left, 0);
    // The messages sent to the teacher are blanked; the teacher's own stay.
    let bodies: Vec<(String, bool)> =
        sqlx::query_as("select body, deleted_at is not null from messages order by id")
            .fetch_all(&app.pool)
            .await
            .expect("messages");
    assert_eq!(
        bodies,
        vec![
            ("message supprimé".to_owned(), true),
            ("Bonjour !".to_owned(), false)
        ]
    );
    let text_left: i64 =
        sqlx::query_scalar("select count(*) from messages where body like '%Camille%'")
            .fetch_one(&app.pool)
            .await
            .expect("text");
    assert_eq!(text_left, 0);

    // The grade stays, anonymised, and the class's statistics still count it.
    let kept: Vec<(String, String, Value, Option<String>, Value)> = sqlx::query_as(
        "select u.first_name, u.last_name, r.answers, r.feedback, r.breakdown
         from assessment_results r join users u on u.id = r.student_id
         where r.assessment_id = $1 and u.anonymised_at is not null",
    )
    .bind(quiz)
    .fetch_all(&app.pool)
    .await
    .expect("kept");
    assert_eq!(kept.len(), 1);
    let (first, last, answers, feedback, breakdown) = &kept[0];
    assert_eq!((first.as_str(), last.as_str()), ("Élève", "anonyme"));
    assert_eq!(answers, &json!({}));
    assert_eq!(feedback, &None);
    assert_eq!(breakdown, &json!({"q1": {"points": 1}}));
    assert_eq!(class_stats(&app, &school, quiz).await, before);
    // The anonymous account is nobody's: not listed, cannot sign in.
    let users = app
        .get("/api/users?limit=100", Some(&school.admin.token))
        .await;
    assert!(
        !users.body["users"].to_string().contains("anonyme"),
        "{}",
        users.body
    );
    let login = app.login(&student.email, PASSWORD).await;
    assert_eq!(login.status, StatusCode::UNAUTHORIZED);

    // The audit log keeps who did what, with plain ids.
    let entries = audit(&app, &school.admin, s).await;
    let actions: Vec<&str> = entries
        .iter()
        .filter_map(|e| e["action"].as_str())
        .collect();
    assert_eq!(
        actions,
        ["account_erased", "deletion_requested"],
        "{entries:?}"
    );
    let requested = &entries[1];
    assert_eq!(requested["actorId"], json!(s));
    assert_eq!(requested["actorRole"], json!("student"));
    assert_eq!(requested["subjectId"], json!(s));
    assert_eq!(entries[0]["actorId"], Value::Null, "the purge acts");
    assert_eq!(entries[0]["subjectId"], json!(s));

    // Nothing more to do the next time.
    let again = erase_due(&app.pool, asked_at + grace * 2)
        .await
        .expect("purge");
    assert_eq!(again.accounts, 0);
}

#[tokio::test]
async fn the_holder_cancels_their_own_deletion_with_their_password_and_gets_the_account_back() {
    let app = spawn_app().await;
    let school = School::new(&app).await;
    let user = &school.parent;
    let asked = app
        .post("/api/me/deletion", Some(&user.token), confirm())
        .await;
    assert_eq!(asked.status, StatusCode::ACCEPTED, "{}", asked.body);

    let wrong = app
        .post(
            "/api/auth/deletion/cancel",
            None,
            json!({"email": user.email, "password": "Pas-le-bon-42"}),
        )
        .await;
    assert_eq!(wrong.status, StatusCode::UNAUTHORIZED, "{}", wrong.body);
    // Someone else's credentials do not cancel it either.
    let other = app
        .post(
            "/api/auth/deletion/cancel",
            None,
            json!({"email": school.teacher.email, "password": PASSWORD}),
        )
        .await;
    assert_eq!(other.status, StatusCode::NOT_FOUND, "{}", other.body);
    assert_eq!(
        app.login(&user.email, PASSWORD).await.status,
        StatusCode::FORBIDDEN
    );

    let cancel = app
        .post(
            "/api/auth/deletion/cancel",
            None,
            json!({"email": user.email.to_uppercase(), "password": PASSWORD}),
        )
        .await;
    assert_eq!(cancel.status, StatusCode::OK, "{}", cancel.body);
    assert_eq!(
        app.login(&user.email, PASSWORD).await.status,
        StatusCode::OK
    );
    let far = erase_due(&app.pool, Utc::now() + Duration::days(3650))
        .await
        .expect("purge");
    assert_eq!(far.accounts, 0, "a cancelled deletion never erases");
    let entries = audit(&app, &school.admin, user.id).await;
    let actions: Vec<&str> = entries
        .iter()
        .filter_map(|e| e["action"].as_str())
        .collect();
    assert_eq!(actions, ["deletion_cancelled", "deletion_requested"]);
    assert_eq!(entries[0]["actorId"], json!(user.id));
    assert_eq!(entries[0]["actorRole"], json!("parent"));
}

#[tokio::test]
async fn a_parent_deletes_only_a_linked_child_and_only_the_parent_who_asked_or_an_admin_cancels() {
    let app = spawn_app().await;
    let school = School::new(&app).await;
    let child = &school.student;
    let path = format!("/api/students/{}/deletion", child.id);
    let stranger = app.user(Role::Parent).await;
    let other_student = app.user(Role::Student).await;

    // Refused: an unlinked parent, the teacher, another student, the admin (who has a
    // route of their own), the child themself (who uses /api/me/deletion).
    for (who, token) in [
        ("unlinked parent", &stranger.token),
        ("teacher", &school.teacher.token),
        ("other student", &other_student.token),
        ("admin", &school.admin.token),
        ("the child", &child.token),
    ] {
        let answer = app.post(&path, Some(token), confirm()).await;
        assert_eq!(
            answer.status,
            StatusCode::FORBIDDEN,
            "{who}: {}",
            answer.body
        );
        let status = app.get(&path, Some(token)).await.status;
        if who == "admin" {
            assert_eq!(status, StatusCode::OK);
        } else {
            assert_eq!(status, StatusCode::FORBIDDEN, "{who} reads the status");
        }
    }
    // A parent cannot aim at a user who is not their child (the teacher).
    let teacher_path = format!("/api/students/{}/deletion", school.teacher.id);
    let answer = app
        .post(&teacher_path, Some(&school.parent.token), confirm())
        .await;
    assert_eq!(answer.status, StatusCode::FORBIDDEN);
    // The linked parent's own password is needed.
    let answer = app
        .post(
            &path,
            Some(&school.parent.token),
            json!({"password": "Pas-le-bon-42"}),
        )
        .await;
    assert_eq!(
        answer.status,
        StatusCode::UNPROCESSABLE_ENTITY,
        "{}",
        answer.body
    );
    assert_eq!(
        app.get("/api/auth/me", Some(&child.token)).await.status,
        StatusCode::OK
    );
    assert_eq!(
        count(
            &app,
            "select count(*) from deletion_requests where user_id = $1",
            child.id
        )
        .await,
        0
    );

    let asked = app.post(&path, Some(&school.parent.token), confirm()).await;
    assert_eq!(asked.status, StatusCode::ACCEPTED, "{}", asked.body);
    let again = app.post(&path, Some(&school.parent.token), confirm()).await;
    assert_eq!(again.status, StatusCode::CONFLICT);
    assert_ne!(
        app.get("/api/auth/me", Some(&child.token)).await.status,
        StatusCode::OK
    );
    // The child is told who asked and that they cannot cancel it themself.
    let login = app.login(&child.email, PASSWORD).await;
    assert_eq!(login.status, StatusCode::FORBIDDEN);
    assert_eq!(login.error_code(), "deletion_pending");
    assert!(
        login.body["error"]
            .as_str()
            .expect("msg")
            .contains("par votre parent")
    );
    assert_eq!(login.body["details"]["canCancel"], json!(false));
    let cancel = app
        .post(
            "/api/auth/deletion/cancel",
            None,
            json!({"email": child.email, "password": PASSWORD}),
        )
        .await;
    assert_eq!(cancel.status, StatusCode::FORBIDDEN, "{}", cancel.body);

    // A second linked parent who did not ask cannot cancel; a stranger neither.
    let second = app.user(Role::Parent).await;
    sqlx::query("insert into parent_links (parent_id, student_id) values ($1, $2)")
        .bind(second.id)
        .bind(child.id)
        .execute(&app.pool)
        .await
        .expect("link");
    for token in [&second.token, &stranger.token, &school.teacher.token] {
        let answer = app.delete(&path, Some(token)).await;
        assert_eq!(answer.status, StatusCode::FORBIDDEN, "{}", answer.body);
    }
    let status = app.get(&path, Some(&second.token)).await;
    assert_eq!(status.body["pending"], json!(true));
    assert_eq!(status.body["canCancel"], json!(false));
    let status = app.get(&path, Some(&school.parent.token)).await;
    assert_eq!(status.body["canCancel"], json!(true));

    let cancel = app.delete(&path, Some(&school.parent.token)).await;
    assert_eq!(cancel.status, StatusCode::OK, "{}", cancel.body);
    assert_eq!(
        app.login(&child.email, PASSWORD).await.status,
        StatusCode::OK
    );
    let entries = audit(&app, &school.admin, child.id).await;
    let who: Vec<(String, Value, Value)> = entries
        .iter()
        .map(|e| {
            (
                e["action"].as_str().unwrap_or_default().to_owned(),
                e["actorId"].clone(),
                e["actorRole"].clone(),
            )
        })
        .collect();
    assert_eq!(
        who,
        vec![
            (
                "deletion_cancelled".to_owned(),
                json!(school.parent.id),
                json!("parent")
            ),
            (
                "deletion_requested".to_owned(),
                json!(school.parent.id),
                json!("parent")
            ),
        ]
    );
}

#[tokio::test]
async fn only_an_admin_deletes_other_users_and_the_last_admin_stays() {
    let app = spawn_app().await;
    let school = School::new(&app).await;
    let target = &school.teacher;
    let path = format!("/api/admin/users/{}/deletion", target.id);
    for token in [&school.student.token, &school.parent.token] {
        let answer = app.post(&path, Some(token), confirm()).await;
        assert_eq!(answer.status, StatusCode::FORBIDDEN, "{}", answer.body);
        assert_eq!(
            app.get("/api/admin/deletions", Some(token)).await.status,
            StatusCode::FORBIDDEN
        );
    }
    let peer = app.user(Role::Teacher).await;
    let answer = app
        .post(
            &format!("/api/admin/users/{}/deletion", peer.id),
            Some(&target.token),
            confirm(),
        )
        .await;
    assert_eq!(
        answer.status,
        StatusCode::FORBIDDEN,
        "a teacher deletes nobody"
    );
    let own = format!("/api/admin/users/{}/deletion", school.admin.id);
    let answer = app.post(&own, Some(&school.admin.token), confirm()).await;
    assert_eq!(answer.status, StatusCode::CONFLICT, "{}", answer.body);
    // The only admin cannot delete their own account either.
    let answer = app
        .post("/api/me/deletion", Some(&school.admin.token), confirm())
        .await;
    assert_eq!(answer.status, StatusCode::CONFLICT, "{}", answer.body);
    assert_eq!(answer.error_code(), "last_admin");

    let wrong = app
        .post(
            &path,
            Some(&school.admin.token),
            json!({"password": "Pas-le-bon-42"}),
        )
        .await;
    assert_eq!(wrong.status, StatusCode::UNPROCESSABLE_ENTITY);
    let asked = app.post(&path, Some(&school.admin.token), confirm()).await;
    assert_eq!(asked.status, StatusCode::ACCEPTED, "{}", asked.body);
    let login = app.login(&target.email, PASSWORD).await;
    assert!(
        login.body["error"]
            .as_str()
            .expect("msg")
            .contains("par l'administration")
    );
    let list = app
        .get("/api/admin/deletions", Some(&school.admin.token))
        .await;
    assert_eq!(list.status, StatusCode::OK);
    assert_eq!(list.body["deletions"][0]["userId"], json!(target.id));
    assert_eq!(
        list.body["deletions"][0]["requestedBy"],
        json!(school.admin.id)
    );
    // Re-enabling goes through cancelling, not the status switch.
    let reactivate = app
        .patch(
            &format!("/api/users/{}/status", target.id),
            Some(&school.admin.token),
            json!({"isActive": true}),
        )
        .await;
    assert_eq!(
        reactivate.status,
        StatusCode::CONFLICT,
        "{}",
        reactivate.body
    );
    for token in [&school.student.token, &school.parent.token, &peer.token] {
        let answer = app.delete(&path, Some(token)).await;
        assert_eq!(answer.status, StatusCode::FORBIDDEN);
    }
    let cancel = app.delete(&path, Some(&school.admin.token)).await;
    assert_eq!(cancel.status, StatusCode::OK, "{}", cancel.body);
    assert_eq!(
        app.login(&target.email, PASSWORD).await.status,
        StatusCode::OK
    );

    // Erasing a teacher keeps their class (a class needs a teacher) under an anonymous one.
    let asked = app.post(&path, Some(&school.admin.token), confirm()).await;
    assert_eq!(asked.status, StatusCode::ACCEPTED);
    let done = erase_due(&app.pool, Utc::now() + Duration::days(31))
        .await
        .expect("purge");
    assert_eq!(done.accounts, 1);
    let owner: (String, bool) = sqlx::query_as(
        "select u.first_name, u.anonymised_at is not null from classes c join users u on u.id = c.teacher_id where c.id = $1",
    )
    .bind(school.class_id)
    .fetch_one(&app.pool)
    .await
    .expect("class");
    assert_eq!(owner, ("Enseignant".to_owned(), true));
    assert_eq!(
        count(&app, "select count(*) from users where id = $1", target.id).await,
        0
    );
}
