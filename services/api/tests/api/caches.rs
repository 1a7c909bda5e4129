//! What the API keeps in memory — the detail of published courses
//! (`courses::CourseBodies`) and the sessions it found live (`auth::SessionCache`): every
//! change must show at once to the process that made it, and to the others as soon as the
//! notification arrives, whoever made it (another replica, a script in SQL); a student
//! never sees a course they may not see, a closed session never passes.

use reqwest::{Method, StatusCode};
use serde_json::json;

use nexus_auth::Role;

use crate::{
    fixtures::{School, course_body},
    helpers::{TestApp, TestUser, eventually, spawn_app, spawn_app_with},
};

/// Reads the course as `token` until the cache holds it (the listener must be on, and a
/// notification of an earlier change may still arrive and refuse one read's copy).
async fn cached(app: &TestApp, id: i64, token: &str) {
    eventually("the course to be cached", || async {
        let answer = app.get(&format!("/api/courses/{id}"), Some(token)).await;
        assert_eq!(answer.status, StatusCode::OK, "{}", answer.body);
        app.course_bodies.get(&id).map(|_| ())
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
        .request(
            Method::PUT,
            &path,
            Some(teacher),
            Some(course_body("Piles, files et deques")),
        )
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
        app.course_bodies.get(&id).is_none(),
        "a draft is never cached"
    );

    let published = app
        .post(&format!("{path}/publish"), Some(teacher), json!({}))
        .await;
    assert_eq!(published.status, StatusCode::OK, "{}", published.body);
    cached(&app, id, student).await;
    let deleted = app
        .request(Method::DELETE, &path, Some(teacher), None)
        .await;
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
        .request(
            Method::PUT,
            &path,
            Some(&school.teacher.token),
            Some(course_body("Modifié ailleurs")),
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
        app.course_bodies.is_empty().then_some(())
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
        app.sessions.get(&user.id).map(|_| ())
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
