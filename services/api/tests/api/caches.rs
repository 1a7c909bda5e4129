//! What the API keeps in memory — the detail of published courses
//! (`caches::CourseBodies`), the catalogue's pages as students and parents get them
//! (`caches::CataloguePages`), the sessions it found live (`auth::SessionCache`), students'
//! dashboards (`caches::Dashboards`) and classes' progress tables
//! (`caches::ClassProgressCache`): every change must show at once to the process that
//! made it, and to the others as soon as the notification arrives, whoever made it
//! (another replica, a script in SQL); a student never sees a course they may not see, a
//! closed session never passes.

use reqwest::{Method, StatusCode};
use serde_json::json;

use nexus_auth::Role;

use crate::{
    fixtures::{School, assessment_of, course_body, course_of, every_type_questions},
    helpers::{TestApp, TestUser, eventually, spawn_app, spawn_app_with},
};

/// Reads the course as `token` until the cache holds it (the listener must be on, and a
/// notification of an earlier change may still arrive and refuse one read's copy).
async fn cached(app: &TestApp, id: i64, token: &str) {
    eventually("the course to be cached", || async {
        let answer = app.get(&format!("/api/courses/{id}"), Some(token)).await;
        assert_eq!(answer.status, StatusCode::OK, "{}", answer.body);
        app.state.course_bodies.get(&id).map(|_| ())
    })
    .await;
}

/// Asks `path` as `token` until the answer is `status`: a change reaching a cache.
async fn until_status(api: &TestApp, what: &str, path: &str, token: &str, status: StatusCode) {
    eventually(what, || async {
        (api.get(path, Some(token)).await.status == status).then_some(())
    })
    .await;
}

#[tokio::test]
async fn every_change_through_the_api_shows_at_once() {
    let app = spawn_app().await;
    let school = School::new(&app).await;
    let id = school.course_id;
    let path = format!("/api/courses/{id}");
    let (student, parent, teacher) = (
        &school.student.token,
        &school.parent.token,
        &school.teacher.token,
    );

    cached(&app, id, student).await;
    let edit = app
        .put(&path, Some(teacher), course_body("Piles, files et deques"))
        .await;
    assert_eq!(edit.status, StatusCode::OK, "{}", edit.body);
    for token in [student, parent] {
        let answer = app.get(&path, Some(token)).await;
        assert_eq!(answer.body["title"], json!("Piles, files et deques"));
    }

    cached(&app, id, student).await;
    let unpublished = app
        .post(&format!("{path}/unpublish"), Some(teacher), json!({}))
        .await;
    assert_eq!(unpublished.status, StatusCode::OK, "{}", unpublished.body);
    for token in [student, parent] {
        assert_eq!(
            app.get(&path, Some(token)).await.status,
            StatusCode::NOT_FOUND
        );
    }
    let draft = app.get(&path, Some(teacher)).await;
    assert_eq!(draft.body["isPublished"], json!(false));
    assert!(
        app.state.course_bodies.get(&id).is_none(),
        "a draft is never cached"
    );

    let published = app
        .post(&format!("{path}/publish"), Some(teacher), json!({}))
        .await;
    assert_eq!(published.status, StatusCode::OK, "{}", published.body);
    cached(&app, id, student).await;
    let deleted = app.delete(&path, Some(teacher)).await;
    assert_eq!(deleted.status, StatusCode::OK, "{}", deleted.body);
    for token in [student, teacher] {
        assert_eq!(
            app.get(&path, Some(token)).await.status,
            StatusCode::NOT_FOUND
        );
    }
}

#[tokio::test]
async fn another_replica_and_changes_outside_the_api_reach_the_cache() {
    let app = spawn_app().await;
    let replica = spawn_app_with(app.settings.clone()).await;
    let school = School::new(&app).await;
    let id = school.course_id;
    let path = format!("/api/courses/{id}");
    let student = &school.student.token;

    // A teacher's edit on the first replica reaches the second's copy.
    cached(&replica, id, student).await;
    let edit = app
        .put(
            &path,
            Some(&school.teacher.token),
            course_body("Modifié ailleurs"),
        )
        .await;
    assert_eq!(edit.status, StatusCode::OK, "{}", edit.body);
    eventually("the other replica to show the edit", || async {
        let answer = replica.get(&path, Some(student)).await;
        (answer.body["title"] == json!("Modifié ailleurs")).then_some(())
    })
    .await;

    // A change written straight into the database (an administrator's script, an
    // account's erasure) reaches both.
    cached(&replica, id, student).await;
    cached(&app, id, student).await;
    sqlx::query("update courses set is_published = false where id = $1")
        .bind(id)
        .execute(&app.pool)
        .await
        .expect("unpublish in SQL");
    for api in [&app, &replica] {
        until_status(
            api,
            "a course unpublished in SQL to disappear",
            &path,
            student,
            StatusCode::NOT_FOUND,
        )
        .await;
    }
}

#[tokio::test]
async fn the_cache_is_off_while_its_listener_is_disconnected() {
    let app = spawn_app().await;
    let school = School::new(&app).await;
    let id = school.course_id;
    cached(&app, id, &school.student.token).await;

    // The listener's connection is cut: the notifications it would carry are lost, so the
    // cache must forget everything and answer nothing until it listens again.
    let cut: Vec<bool> = sqlx::query_scalar(
        "select pg_terminate_backend(pid) from pg_stat_activity
         where datname = current_database() and pid <> pg_backend_pid()
           and query like '%nexus_course_changed%'",
    )
    .fetch_all(&app.pool)
    .await
    .expect("terminate the listener");
    assert_eq!(cut, vec![true], "one listener per process");
    eventually("the cache to be emptied", || async {
        app.state.course_bodies.is_empty().then_some(())
    })
    .await;
    // It comes back on by itself and caches again.
    cached(&app, id, &school.student.token).await;
    sqlx::query("update courses set title = 'Après la coupure' where id = $1")
        .bind(id)
        .execute(&app.pool)
        .await
        .expect("edit in SQL");
    eventually("the edit after the reconnection to show", || async {
        let answer = app
            .get(&format!("/api/courses/{id}"), Some(&school.student.token))
            .await;
        (answer.body["title"] == json!("Après la coupure")).then_some(())
    })
    .await;
}

/// Calls `/api/auth/me` as `user` until their session is cached.
async fn session_cached(app: &TestApp, user: &TestUser) {
    eventually("the session to be cached", || async {
        let me = app.get("/api/auth/me", Some(&user.token)).await;
        assert_eq!(me.status, StatusCode::OK, "{}", me.body);
        app.state
            .authenticator
            .sessions
            .as_ref()
            .expect("the API caches sessions")
            .get(&user.id)
            .map(|_| ())
    })
    .await;
}

#[tokio::test]
async fn a_closed_session_or_a_disabled_account_never_passes_the_cache() {
    let app = spawn_app().await;
    let replica = spawn_app_with(app.settings.clone()).await;
    let admin = app.user(Role::Admin).await;

    // Signing out: refused at once where it happened, as soon as notified on the other.
    let student = app.user(Role::Student).await;
    session_cached(&app, &student).await;
    session_cached(&replica, &student).await;
    let logout = app
        .post(
            "/api/auth/logout",
            None,
            json!({"refreshToken": student.refresh_token}),
        )
        .await;
    assert_eq!(logout.status, StatusCode::OK, "{}", logout.body);
    let me = app.get("/api/auth/me", Some(&student.token)).await;
    assert_eq!(me.status, StatusCode::UNAUTHORIZED, "{}", me.body);
    until_status(
        &replica,
        "the other replica to refuse the closed session",
        "/api/auth/me",
        &student.token,
        StatusCode::UNAUTHORIZED,
    )
    .await;

    // An account disabled by an administrator on the other replica.
    let other = app.user(Role::Student).await;
    session_cached(&app, &other).await;
    let disabled = replica
        .request(
            Method::PATCH,
            &format!("/api/users/{}/status", other.id),
            Some(&admin.token),
            Some(json!({"isActive": false})),
        )
        .await;
    assert_eq!(disabled.status, StatusCode::OK, "{}", disabled.body);
    assert_eq!(
        replica.get("/api/auth/me", Some(&other.token)).await.status,
        StatusCode::FORBIDDEN
    );
    until_status(
        &app,
        "the first replica to refuse the disabled account",
        "/api/auth/me",
        &other.token,
        StatusCode::FORBIDDEN,
    )
    .await;

    // A role changed straight in the database: the new role applies once notified.
    let boss = app.user(Role::Admin).await;
    session_cached(&app, &boss).await;
    assert_eq!(
        app.get("/api/users", Some(&boss.token)).await.status,
        StatusCode::OK
    );
    sqlx::query("update users set role = 'teacher' where id = $1")
        .bind(boss.id)
        .execute(&app.pool)
        .await
        .expect("demote in SQL");
    until_status(
        &app,
        "the demotion to apply",
        "/api/users",
        &boss.token,
        StatusCode::FORBIDDEN,
    )
    .await;
    // And a refresh token revoked in SQL ends the session.
    let third = app.user(Role::Parent).await;
    session_cached(&app, &third).await;
    sqlx::query("update auth_tokens set revoked_at = now() where user_id = $1")
        .bind(third.id)
        .execute(&app.pool)
        .await
        .expect("revoke in SQL");
    until_status(
        &app,
        "the revocation in SQL to apply",
        "/api/auth/me",
        &third.token,
        StatusCode::UNAUTHORIZED,
    )
    .await;
}

/// A page as one user reads it, and whether the cache holds its answer.
type Reader<'a> = (&'a str, &'a str, &'a dyn Fn() -> bool);

/// Reads each page until it is cached, runs `change` (SQL), then for each: a fresh read
/// (`Cache-Control: no-cache`) must differ from the answer before — the change is
/// visible — and the ordinary read must come to equal it once the notification arrived.
async fn follows(app: &TestApp, readers: &[Reader<'_>], change: &str) {
    let mut before = Vec::new();
    for (path, token, is_cached) in readers {
        eventually("the answer to be cached", || async {
            let answer = app.get(path, Some(token)).await;
            assert_eq!(answer.status, StatusCode::OK, "{path}: {}", answer.body);
            is_cached().then_some(())
        })
        .await;
        before.push(app.get(path, Some(token)).await.body);
    }
    sqlx::raw_sql(sqlx::AssertSqlSafe(change.to_owned()))
        .execute(&app.pool)
        .await
        .unwrap_or_else(|e| panic!("{change}: {e}"));
    for ((path, token, _), before) in readers.iter().zip(before) {
        let fresh = app.get_fresh(path, Some(token)).await.body;
        assert_ne!(
            fresh, before,
            "{path} after `{change}`: the change shows in a fresh read"
        );
        eventually(&format!("{path} to show `{change}`"), || async {
            (app.get(path, Some(token)).await.body == fresh).then_some(())
        })
        .await;
    }
}

#[tokio::test]
async fn dashboards_and_class_progress_follow_every_change_written_in_sql() {
    let app = spawn_app().await;
    let school = School::new(&app).await;
    let (student, class, course) = (school.student.id, school.class_id, school.course_id);
    let teacher = school.teacher.id;
    let first = assessment_of(&app, teacher, every_type_questions(), Some(class)).await;
    let second = assessment_of(&app, teacher, every_type_questions(), Some(class)).await;
    sqlx::query("insert into student_progress (student_id, course_id, progress_percentage) values ($1, $2, 10)")
        .bind(student)
        .bind(course)
        .execute(&app.pool)
        .await
        .expect("progress");

    let dashboard = "/api/dashboard/student";
    let classes = format!("/api/classes/{class}/progress");
    let is_dashboard_cached = || app.state.dashboards.get(&student).is_some();
    let is_class_cached = || app.state.class_progress.get(&class).is_some();
    let (s_token, p_token, t_token) = (
        &school.student.token,
        &school.parent.token,
        &school.teacher.token,
    );
    // What the student's and the parent's dashboards and the teacher's table show.
    let both: [Reader; 3] = [
        (dashboard, s_token, &is_dashboard_cached),
        ("/api/dashboard/parent", p_token, &is_dashboard_cached),
        (&classes, t_token, &is_class_cached),
    ];
    for change in [
        format!(
            "update student_progress set progress_percentage = progress_percentage + 5 where student_id = {student}"
        ),
        format!("update users set first_name = first_name || 'e' where id = {student}"),
        format!("update courses set title = title || ' !' where id = {course}"),
    ] {
        follows(&app, &both, &change).await;
    }
    let dashboards = &both[..2];
    for change in [
        format!("insert into section_progress (student_id, course_id, section_id, completed_at) values ({student}, {course}, 'ch2-s1-bis', now())"),
        format!("update student_profiles set class_level = case class_level when 'premiere' then 'terminale' else 'premiere' end where user_id = {student}"),
        format!("update assessments set title = 'Quiz renommé' where id = {first}"),
        format!("update assessments set max_attempts = 1 where id = {second}"),
        format!("insert into assessment_results (assessment_id, student_id, attempt_number, status, score, max_score, submitted_at)
                 values ({first}, {student}, 1, 'graded', 3, 10, now())"),
        format!("update assessment_results set score = 7 where assessment_id = {first} and student_id = {student}"),
        format!("update assessment_classes set closes_at = now() - interval '1 second' where assessment_id = {second}"),
    ] {
        follows(&app, dashboards, &change).await;
    }
    // A new assessment given to the class, taken back, given again, then the class
    // archived: due, not due, due, not due.
    let third = assessment_of(&app, teacher, every_type_questions(), None).await;
    let give = format!(
        "insert into assessment_classes (assessment_id, class_id, opens_at) values ({third}, {class}, now() - interval '1 minute')"
    );
    for change in [
        give.clone(),
        format!("delete from assessment_classes where assessment_id = {third}"),
        give,
        format!("update classes set archived_at = now() where id = {class}"),
    ] {
        follows(&app, dashboards, &change).await;
    }
    let other = course_of(&app, teacher, "Graphes", true).await;
    for change in [
        format!("insert into course_classes (course_id, class_id) values ({other}, {class})"),
        format!("delete from class_members where class_id = {class} and student_id = {student}"),
    ] {
        follows(&app, &both[2..], &change).await;
    }
    let change = format!("delete from student_progress where student_id = {student}");
    follows(&app, dashboards, &change).await;
}

#[tokio::test]
async fn a_dashboard_is_kept_only_until_an_assessment_opens() {
    let app = spawn_app().await;
    let school = School::new(&app).await;
    let quiz = assessment_of(&app, school.teacher.id, every_type_questions(), None).await;
    // Given to the class, opening in three seconds: no write will say when it opened.
    sqlx::query("insert into assessment_classes (assessment_id, class_id, opens_at) values ($1, $2, now() + interval '3 seconds')")
        .bind(quiz)
        .bind(school.class_id)
        .execute(&app.pool)
        .await
        .expect("assign");
    let token = &school.student.token;
    eventually("the dashboard to be cached", || async {
        let answer = app.get("/api/dashboard/student", Some(token)).await;
        assert_eq!(answer.body["dueAssessments"], json!([]), "not open yet");
        app.state.dashboards.get(&school.student.id).map(|_| ())
    })
    .await;
    eventually("the assessment to be due once open", || async {
        let answer = app.get("/api/dashboard/student", Some(token)).await;
        (answer.body["dueAssessments"][0]["assessmentId"] == json!(quiz)).then_some(())
    })
    .await;
}

#[tokio::test]
async fn what_a_request_changes_shows_in_the_next_one() {
    let app = spawn_app().await;
    let school = School::new(&app).await;
    let course = school.course_id;
    let classes = format!("/api/classes/{}/progress", school.class_id);
    // Each round: both pages cached, then a change through the API, read right after its
    // answer (the API answers a write once its caches heard of it).
    for percentage in [20, 35, 50, 65, 80] {
        eventually("both pages cached", || async {
            app.get("/api/dashboard/student", Some(&school.student.token))
                .await;
            app.get(&classes, Some(&school.teacher.token)).await;
            let cached = app.state.dashboards.get(&school.student.id).is_some()
                && app.state.class_progress.get(&school.class_id).is_some();
            cached.then_some(())
        })
        .await;
        let saved = app
            .put(
                &format!("/api/courses/{course}/progress"),
                Some(&school.student.token),
                json!({"progressPercentage": percentage}),
            )
            .await;
        assert_eq!(saved.status, StatusCode::OK, "{}", saved.body);
        let dashboard = app
            .get("/api/dashboard/student", Some(&school.student.token))
            .await;
        assert_eq!(
            dashboard.body["courses"][0]["progressPercentage"],
            json!(percentage)
        );
        let table = app.get(&classes, Some(&school.teacher.token)).await;
        assert_eq!(table.body["students"][0]["progress"][0], json!(percentage));
    }
    // The race above is rarely lost even without the wait (a notification takes a fraction
    // of a millisecond), so the wait itself is checked: once `settle` returns, a change
    // committed before it has emptied the entry — read straight after the commit, it
    // would most often still be there.
    for round in 0..20 {
        eventually("the dashboard cached", || async {
            app.get("/api/dashboard/student", Some(&school.student.token))
                .await;
            app.state.dashboards.get(&school.student.id).map(|_| ())
        })
        .await;
        sqlx::query("update student_progress set time_spent_seconds = time_spent_seconds + 1 where student_id = $1")
            .bind(school.student.id)
            .execute(&app.pool)
            .await
            .expect("change");
        app.state.invalidations.settle(&app.pool).await;
        assert!(
            app.state.dashboards.get(&school.student.id).is_none(),
            "round {round}: settle returned before the notification"
        );
    }
}

#[tokio::test]
async fn the_catalogue_students_get_follows_every_change_and_never_shows_a_draft() {
    let app = spawn_app().await;
    let school = School::new(&app).await;
    let teacher = school.teacher.id;
    let course = school.course_id;
    let page = "/api/courses?level=terminale&page=1&limit=50";
    // A search finds the school's course (« Piles et files ») and the one inserted below,
    // not this one, which the page lists: the two answers differ.
    sqlx::query(
        "insert into courses (title, description, level, category, content, created_by, is_published)
         values ('Tri fusion', 'Diviser pour régner', 'terminale', 'algorithmique', '{\"chapters\": []}', $1, true)",
    )
    .bind(teacher)
    .execute(&app.pool)
    .await
    .expect("course");
    let search = "/api/courses?q=piles%20or%20graphes&level=terminale&page=1&limit=50";
    // The page is read (and cached) first: the search is cached once there are two.
    let is_cached = || !app.state.catalogue_pages.is_empty();
    let both_cached = || app.state.catalogue_pages.len() == 2;
    let readers: [Reader; 4] = [
        (page, &school.student.token, &is_cached),
        (page, &school.parent.token, &is_cached),
        (search, &school.student.token, &both_cached),
        (search, &school.parent.token, &both_cached),
    ];
    // The page cached first never answers the search (nor the other way round).
    for _ in 0..2 {
        let listed = app.get(page, Some(&school.student.token)).await.body;
        let found = app.get(search, Some(&school.student.token)).await.body;
        assert!(listed.to_string().contains("Tri fusion"), "{listed}");
        assert!(!found.to_string().contains("Tri fusion"), "{found}");
    }
    for change in [
        format!("insert into courses (title, description, level, category, content, created_by, is_published)
                 values ('Graphes', 'Parcours', 'terminale', 'algorithmique', '{{\"chapters\": []}}', {teacher}, true)"),
        format!("update courses set title = 'Piles renommées' where id = {course}"),
        format!("update courses set is_published = false where id = {course}"),
        format!("update courses set is_published = true where id = {course}"),
        format!("delete from courses where id = {course}"),
    ] {
        follows(&app, &readers, &change).await;
    }

    // A draft: its author lists it, a student never, whatever the teacher's request left.
    let draft = course_of(&app, teacher, "Brouillon secret", false).await;
    for _ in 0..2 {
        let mine = app.get(page, Some(&school.teacher.token)).await;
        let ids: Vec<_> = mine.body["courses"]
            .as_array()
            .expect("courses")
            .iter()
            .map(|c| c["id"].clone())
            .collect();
        assert!(ids.contains(&json!(draft)), "the author sees their draft");
        let theirs = app.get(page, Some(&school.student.token)).await;
        assert!(
            !theirs.body.to_string().contains("Brouillon secret"),
            "a student never sees a draft: {}",
            theirs.body
        );
    }

    // Published through the API: the next page the student asks for has it.
    app.publish_course(&school.teacher.token, draft).await;
    let theirs = app.get(page, Some(&school.student.token)).await;
    assert!(
        theirs.body.to_string().contains("Brouillon secret"),
        "{}",
        theirs.body
    );
}
