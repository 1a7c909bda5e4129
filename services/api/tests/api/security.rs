//! The outside audit of 2026-12-02 (docs/SECURITY.md): one regression test per finding
//! the API owns, named `audit_NN_…` after it. Each failed on the code as audited.

use nexus_auth::Role;
use reqwest::StatusCode;
use serde_json::{Value, json};

use nexus_api::code_guard;

use crate::{
    fixtures::{self, School},
    helpers::{PASSWORD, TestApp, spawn_app, spawn_app_with, test_settings},
};

async fn invite(app: &TestApp, token: &str, class_id: i64, email: &str) -> (StatusCode, Value) {
    let answer = app
        .post(
            &format!("/api/classes/{class_id}/students"),
            Some(token),
            json!({ "email": email }),
        )
        .await;
    (answer.status, answer.body)
}

#[tokio::test]
async fn audit_01_a_teacher_invites_a_student_and_sees_nothing_until_they_accept() {
    let app = spawn_app().await;
    let school = School::new(&app).await;
    let stranger_teacher = app.user(Role::Teacher).await;
    let (their_class, _) = fixtures::class_of(&app, stranger_teacher.id).await;
    let child = app.user(Role::Student).await;

    // The answer is the same for a student's address, a student already in another
    // class, and an address nobody has.
    let known = invite(&app, &stranger_teacher.token, their_class, &child.email).await;
    let member_elsewhere = invite(
        &app,
        &stranger_teacher.token,
        their_class,
        &school.student.email,
    )
    .await;
    let unknown = invite(
        &app,
        &stranger_teacher.token,
        their_class,
        "personne@lycee.fr",
    )
    .await;
    assert_eq!(known.0, StatusCode::ACCEPTED, "{}", known.1);
    assert_eq!(known, member_elsewhere);
    assert_eq!(known, unknown);

    // Until the child accepts, the teacher sees nothing of them.
    let progress = format!("/api/students/{}/progress", child.id);
    let before = app.get(&progress, Some(&stranger_teacher.token)).await;
    assert_eq!(before.status, StatusCode::NOT_FOUND);
    let class = app
        .get(
            &format!("/api/classes/{their_class}"),
            Some(&stranger_teacher.token),
        )
        .await;
    assert_eq!(class.body["students"], json!([]));
    assert_eq!(class.body["invitations"].as_array().map(Vec::len), Some(3));

    // The child is told, sees the invitation, and accepts it.
    let notifications = app.get("/api/notifications", Some(&child.token)).await;
    assert_eq!(
        notifications.body["notifications"][0]["kind"],
        "class_invitation"
    );
    let mine = app
        .get("/api/me/class-invitations", Some(&child.token))
        .await;
    assert_eq!(mine.status, StatusCode::OK, "{}", mine.body);
    let invitation = mine.body["invitations"][0]["id"].as_i64().expect("id");
    assert_eq!(mine.body["invitations"][0]["classId"], their_class);
    // Nobody else can use it.
    let not_theirs = app
        .answer_invitation(&school.student.token, invitation, "accept")
        .await;
    assert_eq!(not_theirs.status, StatusCode::NOT_FOUND);
    let accepted = app
        .answer_invitation(&child.token, invitation, "accept")
        .await;
    assert_eq!(accepted.status, StatusCode::OK, "{}", accepted.body);
    let after = app.get(&progress, Some(&stranger_teacher.token)).await;
    assert_eq!(after.status, StatusCode::OK, "{}", after.body);

    // The student already in a class declines: nothing changes for the teacher.
    let theirs = app
        .get("/api/me/class-invitations", Some(&school.student.token))
        .await;
    let id = theirs.body["invitations"][0]["id"].as_i64().expect("id");
    let declined = app
        .answer_invitation(&school.student.token, id, "decline")
        .await;
    assert_eq!(declined.status, StatusCode::OK);
    let still_hidden = app
        .get(
            &format!("/api/students/{}/progress", school.student.id),
            Some(&stranger_teacher.token),
        )
        .await;
    assert_eq!(still_hidden.status, StatusCode::NOT_FOUND);
}

#[tokio::test]
async fn audit_02_a_student_sees_an_exam_s_questions_only_while_it_is_open() {
    let app = spawn_app().await;
    let school = School::new(&app).await;
    let exam = school.unpublished_quiz(&app).await;
    let publish = app
        .post(
            &format!("/api/assessments/{exam}/publish"),
            Some(&school.teacher.token),
            json!({"classId": school.class_id, "opensAt": chrono::Utc::now() + chrono::Duration::hours(1),
                   "closesAt": chrono::Utc::now() + chrono::Duration::hours(2)}),
        )
        .await;
    assert_eq!(publish.status, StatusCode::OK, "{}", publish.body);
    let path = format!("/api/assessments/{exam}");

    let upcoming = app.get(&path, Some(&school.student.token)).await;
    assert_eq!(upcoming.status, StatusCode::OK, "{}", upcoming.body);
    assert_eq!(upcoming.body["assessment"]["title"], "Quiz piles");
    assert_eq!(upcoming.body["assessment"]["availability"], "upcoming");
    assert_eq!(upcoming.body["assessment"]["questions"], json!([]));
    assert!(!upcoming.body.to_string().contains("2+2"));

    let set_window = |opens: &'static str, closes: &'static str| {
        let pool = app.pool.clone();
        async move {
            sqlx::query(sqlx::AssertSqlSafe(format!(
                "update assessment_classes set opens_at = now() + interval '{opens}', closes_at = now() + interval '{closes}' where assessment_id = $1"
            )))
            .bind(exam)
            .execute(&pool)
            .await
            .expect("window");
        }
    };
    set_window("-1 hour", "1 hour").await;
    let open = app.get(&path, Some(&school.student.token)).await;
    assert_eq!(open.body["assessment"]["availability"], "open");
    assert_eq!(open.body["assessment"]["questions"][0]["prompt"], "2+2 ?");

    set_window("-2 hours", "-1 hour").await;
    let closed = app.get(&path, Some(&school.student.token)).await;
    assert_eq!(closed.body["assessment"]["availability"], "closed");
    assert_eq!(closed.body["assessment"]["questions"], json!([]));

    let released = app
        .patch(
            &path,
            Some(&school.teacher.token),
            json!({"answersReleased": true}),
        )
        .await;
    assert_eq!(released.status, StatusCode::OK, "{}", released.body);
    let after_release = app.get(&path, Some(&school.student.token)).await;
    assert_eq!(
        after_release.body["assessment"]["questions"][0]["prompt"],
        "2+2 ?"
    );
    assert!(fixtures::leaked_answer_keys(&after_release.body).is_empty());
}

#[tokio::test]
async fn audit_04_wrong_codes_are_throttled_per_account_and_address() {
    let app = spawn_app().await;
    let school = School::new(&app).await;
    let newcomer = app.user(Role::Student).await;
    for n in 0..10 {
        let wrong = app
            .post(
                "/api/classes/join",
                Some(&newcomer.token),
                json!({"code": format!("ZZZZ{n:04}")}),
            )
            .await;
        assert_eq!(wrong.status, StatusCode::NOT_FOUND, "try {n}");
    }
    // The eleventh try is refused, even with the right code.
    let right = app
        .post(
            "/api/classes/join",
            Some(&newcomer.token),
            json!({"code": school.join_code}),
        )
        .await;
    assert_eq!(
        right.status,
        StatusCode::TOO_MANY_REQUESTS,
        "{}",
        right.body
    );
    assert!(right.headers.contains_key("retry-after"));

    // The same for a parent's pairing codes (another address: this one is spent too).
    let parent = app.user(Role::Parent).await;
    let link = |code: String| {
        let app = &app;
        let token = parent.token.clone();
        async move {
            app.client
                .post(format!("{}/api/me/children", app.address))
                .bearer_auth(token)
                .header("x-forwarded-for", "198.51.100.40")
                .json(&json!({ "code": code }))
                .send()
                .await
                .expect("sent")
                .status()
        }
    };
    for n in 0..10 {
        assert_eq!(
            link(format!("QQQQ{n:04}")).await,
            StatusCode::BAD_REQUEST,
            "try {n}"
        );
    }
    assert_eq!(link("QQQQ0000".into()).await, StatusCode::TOO_MANY_REQUESTS);

    // One address, many accounts each under their own limit: the address's limit (sized
    // for a class behind one school address) stops them too.
    let join_from = |token: String, code: String| {
        let app = &app;
        async move {
            app.client
                .post(format!("{}/api/classes/join", app.address))
                .bearer_auth(token)
                .header("x-forwarded-for", "198.51.100.41")
                .json(&json!({ "code": code }))
                .send()
                .await
                .expect("sent")
                .status()
        }
    };
    let per_address = code_guard::WRONG_CODES_PER_ADDRESS.max;
    let per_account = code_guard::WRONG_CODES_PER_ACCOUNT.max;
    for account in 0..per_address / per_account {
        let student = app.user(Role::Student).await;
        for n in 0..per_account {
            assert_eq!(
                join_from(student.token.clone(), format!("YYYY{n:04}")).await,
                StatusCode::NOT_FOUND,
                "account {account}, try {n}"
            );
        }
    }
    let fresh = app.user(Role::Student).await;
    assert_eq!(
        join_from(fresh.token, school.join_code.clone()).await,
        StatusCode::TOO_MANY_REQUESTS
    );
}

#[tokio::test]
async fn audit_04_a_teacher_switches_off_or_expires_a_join_code() {
    let app = spawn_app().await;
    let school = School::new(&app).await;
    let class = format!("/api/classes/{}", school.class_id);
    let join = |token: String| {
        let app = &app;
        let code = school.join_code.clone();
        async move {
            app.post("/api/classes/join", Some(&token), json!({ "code": code }))
                .await
                .status
        }
    };
    let off = app
        .patch(
            &class,
            Some(&school.teacher.token),
            json!({"joinCodeEnabled": false}),
        )
        .await;
    assert_eq!(off.status, StatusCode::OK, "{}", off.body);
    assert_eq!(off.body["class"]["joinCodeEnabled"], false);
    let a = app.user(Role::Student).await;
    assert_eq!(join(a.token.clone()).await, StatusCode::NOT_FOUND);

    let expired = app
        .patch(
            &class,
            Some(&school.teacher.token),
            json!({"joinCodeEnabled": true, "joinCodeExpiresAt": chrono::Utc::now() - chrono::Duration::minutes(1)}),
        )
        .await;
    assert_eq!(expired.status, StatusCode::OK, "{}", expired.body);
    assert_eq!(join(a.token.clone()).await, StatusCode::NOT_FOUND);

    let no_expiry = app
        .patch(
            &class,
            Some(&school.teacher.token),
            json!({"joinCodeExpiresAt": null}),
        )
        .await;
    assert_eq!(no_expiry.status, StatusCode::OK, "{}", no_expiry.body);
    assert!(no_expiry.body["class"].get("joinCodeExpiresAt").is_none());
    assert_eq!(join(a.token.clone()).await, StatusCode::OK);
}

#[tokio::test]
async fn audit_04_the_parent_the_student_or_an_admin_ends_a_family_link() {
    let app = spawn_app().await;
    let school = School::new(&app).await;
    let progress = format!("/api/students/{}/progress", school.student.id);
    let admin_path = format!(
        "/api/users/{}/parents/{}",
        school.student.id, school.parent.id
    );
    let by_teacher = app.delete(&admin_path, Some(&school.teacher.token)).await;
    assert_eq!(by_teacher.status, StatusCode::FORBIDDEN);
    for (who, path, token) in [
        (
            "the parent",
            format!("/api/me/children/{}", school.student.id),
            &school.parent.token,
        ),
        (
            "the student",
            format!("/api/me/parents/{}", school.parent.id),
            &school.student.token,
        ),
        ("an admin", admin_path.clone(), &school.admin.token),
    ] {
        // Linked again after the previous round ended it.
        sqlx::query(
            "insert into parent_links (parent_id, student_id) values ($1, $2) on conflict do nothing",
        )
        .bind(school.parent.id)
        .bind(school.student.id)
        .execute(&app.pool)
        .await
        .expect("link");
        let ended = app.delete(&path, Some(token)).await;
        assert_eq!(ended.status, StatusCode::OK, "{who}: {}", ended.body);
        assert_eq!(
            app.get(&progress, Some(&school.parent.token)).await.status,
            StatusCode::NOT_FOUND,
            "{who} ended the link"
        );
    }
    let again = app.delete(&admin_path, Some(&school.admin.token)).await;
    assert_eq!(again.status, StatusCode::NOT_FOUND);
}

async fn login_from(app: &TestApp, address: &str, email: &str, password: &str) -> StatusCode {
    app.client
        .post(format!("{}/api/auth/login", app.address))
        .header("x-forwarded-for", address)
        .json(&json!({ "email": email, "password": password }))
        .send()
        .await
        .expect("sent")
        .status()
}

#[tokio::test]
async fn audit_07_a_stranger_who_knows_an_email_cannot_lock_its_owner_out() {
    let app = spawn_app().await;
    let owner = app.user(Role::Student).await;
    let attacker = "203.0.113.66";
    let failures = app.settings.rate_limits.login_failures.max;
    for _ in 0..failures {
        assert_eq!(
            login_from(&app, attacker, &owner.email, "Pas-Le-Bon-1").await,
            StatusCode::UNAUTHORIZED
        );
    }
    // The attacker's address is locked out of this account, even with the password…
    assert_eq!(
        login_from(&app, attacker, &owner.email, PASSWORD).await,
        StatusCode::TOO_MANY_REQUESTS
    );
    // …the owner, from home, is not.
    assert_eq!(
        login_from(&app, "198.51.100.7", &owner.email, PASSWORD).await,
        StatusCode::OK
    );
}

#[tokio::test]
async fn audit_07_login_limits_hold_when_redis_is_down() {
    let mut settings = test_settings().await;
    // Nothing listens there: every Redis call fails.
    settings.common.redis_url = nexus_config::ConnectionUrl::new("redis://127.0.0.1:1".to_owned());
    let app = spawn_app_with(settings).await;
    let email = "eleve@lycee.fr";
    let failures = app.settings.rate_limits.login_failures.max;
    let mut statuses = Vec::new();
    for _ in 0..failures + 3 {
        statuses.push(login_from(&app, "203.0.113.67", email, "Pas-Le-Bon-1").await);
    }
    assert!(
        statuses.contains(&StatusCode::TOO_MANY_REQUESTS),
        "no refusal without Redis: {statuses:?}"
    );
}

#[tokio::test]
async fn audit_09_an_admin_reads_a_private_conversation_only_through_the_recorded_review() {
    let app = spawn_app().await;
    let school = School::new(&app).await;
    let opened = app
        .post(
            "/api/conversations",
            Some(&school.parent.token),
            json!({"userId": school.teacher.id}),
        )
        .await;
    let id = opened.body["conversationId"].as_i64().expect("id");
    let sent = app
        .post(
            &format!("/api/conversations/{id}/messages"),
            Some(&school.teacher.token),
            json!({"clientMessageId": "m1", "body": "Votre enfant progresse bien."}),
        )
        .await;
    let message = sent.body["message"]["id"].as_i64().expect("message");
    let admin = Some(school.admin.token.as_str());

    let read = app
        .post(
            &format!("/api/conversations/{id}/read"),
            admin,
            json!({"messageId": message}),
        )
        .await;
    assert_eq!(read.status, StatusCode::NOT_FOUND);
    let post = app
        .post(
            &format!("/api/conversations/{id}/messages"),
            admin,
            json!({"clientMessageId": "a1", "body": "Bonjour"}),
        )
        .await;
    assert_eq!(post.status, StatusCode::NOT_FOUND);
    let history = app
        .get(&format!("/api/conversations/{id}/messages"), admin)
        .await;
    assert_eq!(history.status, StatusCode::NOT_FOUND);
    let participants: i64 = sqlx::query_scalar(
        "select count(*) from conversation_participants where conversation_id = $1 and user_id = $2",
    )
    .bind(id)
    .bind(school.admin.id)
    .fetch_one(&app.pool)
    .await
    .expect("count");
    assert_eq!(participants, 0);

    let no_reason = app
        .post(
            &format!("/api/conversations/{id}/review"),
            admin,
            json!({"reason": "vu"}),
        )
        .await;
    assert_eq!(no_reason.status, StatusCode::UNPROCESSABLE_ENTITY);
    let by_teacher = app
        .post(
            &format!("/api/conversations/{id}/review"),
            Some(&school.teacher.token),
            json!({"reason": "Signalement de la famille"}),
        )
        .await;
    assert_eq!(by_teacher.status, StatusCode::FORBIDDEN);
    let reviewed = app
        .post(
            &format!("/api/conversations/{id}/review"),
            admin,
            json!({"reason": "Signalement de la famille"}),
        )
        .await;
    assert_eq!(reviewed.status, StatusCode::OK, "{}", reviewed.body);
    assert_eq!(
        reviewed.body["messages"][0]["body"],
        "Votre enfant progresse bien."
    );
    let recorded: (i64, String) = sqlx::query_as(
        "select admin_id, reason from conversation_reviews where conversation_id = $1",
    )
    .bind(id)
    .fetch_one(&app.pool)
    .await
    .expect("record");
    assert_eq!(
        recorded,
        (school.admin.id, "Signalement de la famille".to_owned())
    );
}

#[tokio::test]
async fn audit_10_right_or_wrong_per_question_stays_hidden_until_the_answers_are_released() {
    let app = spawn_app().await;
    let school = School::new(&app).await;
    let quiz = school.quiz(&app).await;
    let started = app.start_attempt(quiz, &school.student.token).await;
    let attempt = started.body["attempt"]["id"].as_i64().expect("attempt");
    let submitted = app
        .submit(
            attempt,
            &school.student.token,
            json!({"answers": {"q1": 0, "q2": true}}),
        )
        .await;
    assert_eq!(submitted.status, StatusCode::OK, "{}", submitted.body);
    let results = &submitted.body["attempt"]["results"];
    assert!(
        results
            .as_array()
            .expect("results")
            .iter()
            .all(|r| r.get("grade").is_none()),
        "{results}"
    );
    assert_eq!(submitted.body["attempt"]["score"], 1.0);

    app.patch(
        &format!("/api/assessments/{quiz}"),
        Some(&school.teacher.token),
        json!({"answersReleased": true}),
    )
    .await;
    let after = app
        .get(
            &format!("/api/attempts/{attempt}"),
            Some(&school.student.token),
        )
        .await;
    assert_eq!(
        after.body["attempt"]["results"][0]["grade"]["status"],
        "incorrect"
    );
}

#[tokio::test]
async fn audit_11_signing_out_or_resetting_the_password_ends_access_tokens_at_once() {
    let app = spawn_app().await;
    let user = app.user(Role::Parent).await;
    let mut pubsub = redis::Client::open(app.settings.common.redis_url.expose())
        .expect("redis")
        .get_async_pubsub()
        .await
        .expect("pubsub");
    let channel = format!(
        "{}{}",
        app.settings.common.redis_key_prefix,
        nexus_web::auth::REVOKED_CHANNEL
    );
    pubsub.subscribe(&channel).await.expect("subscribe");

    let second = app.login(&user.email, PASSWORD).await;
    let second_token = second.body["accessToken"]
        .as_str()
        .expect("token")
        .to_owned();
    assert_eq!(
        app.get("/api/auth/me", Some(&user.token)).await.status,
        StatusCode::OK
    );
    let out = app
        .post(
            "/api/auth/logout",
            None,
            json!({"refreshToken": user.refresh_token}),
        )
        .await;
    assert_eq!(out.status, StatusCode::OK);
    let refused = app.get("/api/auth/me", Some(&user.token)).await;
    assert_eq!(refused.status, StatusCode::UNAUTHORIZED);
    assert_eq!(refused.error_code(), "session_revoked");
    // The other session is untouched…
    assert_eq!(
        app.get("/api/auth/me", Some(&second_token)).await.status,
        StatusCode::OK
    );
    // …and the services holding sockets were told.
    let message = tokio::time::timeout(std::time::Duration::from_secs(5), async {
        use futures::StreamExt;
        pubsub.on_message().next().await
    })
    .await
    .expect("announced in time")
    .expect("a message");
    assert_eq!(
        message.get_payload::<String>().expect("payload"),
        user.id.to_string()
    );

    // A password reset ends every session.
    drop(pubsub);
    app.request_reset(&user.email).await;
    let mail = crate::helpers::eventually("the reset mail", || async {
        app.mails().await.into_iter().next()
    })
    .await;
    let token = crate::helpers::reset_token_in(&mail);
    let reset = app.confirm_reset(&token, "Girafe-Violette-42").await;
    assert_eq!(reset.status, StatusCode::OK, "{}", reset.body);
    assert_eq!(
        app.get("/api/auth/me", Some(&second_token)).await.status,
        StatusCode::UNAUTHORIZED
    );
}

#[tokio::test]
async fn audit_12_a_class_s_courses_are_listed_only_to_who_may_see_the_class() {
    let app = spawn_app().await;
    let school = School::new(&app).await;
    let other_teacher = app.user(Role::Teacher).await;
    let other_student = app.user(Role::Student).await;
    let path = format!("/api/courses?classId={}", school.class_id);
    for token in [&other_teacher.token, &other_student.token] {
        let answer = app.get(&path, Some(token)).await;
        assert_eq!(answer.status, StatusCode::NOT_FOUND, "{}", answer.body);
    }
    for token in [
        &school.teacher.token,
        &school.student.token,
        &school.parent.token,
        &school.admin.token,
    ] {
        let answer = app.get(&path, Some(token)).await;
        assert_eq!(answer.status, StatusCode::OK, "{}", answer.body);
        assert_eq!(answer.body["courses"][0]["id"], school.course_id);
    }
}

#[tokio::test]
async fn audit_12_an_archived_class_is_read_only_for_its_teacher() {
    let app = spawn_app().await;
    let school = School::new(&app).await;
    let class = format!("/api/classes/{}", school.class_id);
    let token = Some(school.teacher.token.as_str());
    let archived = app.patch(&class, token, json!({"archived": true})).await;
    assert_eq!(archived.status, StatusCode::OK, "{}", archived.body);

    let rename = app.patch(&class, token, json!({"name": "Autre"})).await;
    assert_eq!(rename.error_code(), "class_archived");
    let (status, body) = invite(
        &app,
        &school.teacher.token,
        school.class_id,
        "nouveau@lycee.fr",
    )
    .await;
    assert_eq!(status, StatusCode::CONFLICT, "{body}");
    let course = fixtures::course_of(&app, school.teacher.id, "Graphes", true).await;
    let assign = app
        .post(
            &format!("/api/courses/{course}/classes"),
            token,
            json!({"classId": school.class_id}),
        )
        .await;
    assert_eq!(assign.error_code(), "class_archived");
    let quiz = school.unpublished_quiz(&app).await;
    let publish = app
        .post(
            &format!("/api/assessments/{quiz}/publish"),
            token,
            json!({"classId": school.class_id}),
        )
        .await;
    assert_eq!(publish.error_code(), "class_archived");
    let remove = app
        .delete(&format!("{class}/students/{}", school.student.id), token)
        .await;
    assert_eq!(remove.error_code(), "class_archived");

    // Restoring is the one change an archived class takes; reading still works.
    assert_eq!(app.get(&class, token).await.status, StatusCode::OK);
    let restored = app.patch(&class, token, json!({"archived": false})).await;
    assert_eq!(restored.status, StatusCode::OK, "{}", restored.body);
    let rename = app.patch(&class, token, json!({"name": "Autre"})).await;
    assert_eq!(rename.status, StatusCode::OK);
}

#[tokio::test]
async fn audit_12_reset_mails_to_one_address_are_throttled() {
    let app = spawn_app().await;
    let user = app.user(Role::Parent).await;
    let request = |n: u8| {
        let app = &app;
        let email = user.email.clone();
        async move {
            app.client
                .post(format!("{}/api/auth/password-reset/request", app.address))
                .header("x-forwarded-for", format!("198.51.100.{n}"))
                .json(&json!({ "email": email }))
                .send()
                .await
                .expect("sent")
                .status()
        }
    };
    for n in 1..=3 {
        assert_eq!(request(n).await, StatusCode::ACCEPTED);
    }
    // From yet another address: still refused, the mailbox is the subject.
    assert_eq!(request(4).await, StatusCode::TOO_MANY_REQUESTS);
    // One live reset token at a time.
    crate::helpers::eventually("three mails", || async {
        (app.mails().await.len() == 3).then_some(())
    })
    .await;
    let live: i64 = sqlx::query_scalar(
        "select count(*) from auth_tokens where user_id = $1 and token_type = 'reset' and revoked_at is null and used_at is null",
    )
    .bind(user.id)
    .fetch_one(&app.pool)
    .await
    .expect("count");
    assert_eq!(live, 1);
}
