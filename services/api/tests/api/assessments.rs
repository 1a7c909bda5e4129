use nexus_auth::Role;
use reqwest::{Method, StatusCode};
use serde_json::{Value, json};

use crate::{
    fixtures::{
        School, course_of, every_type_questions, leaked_answer_keys, objective_answers,
        objective_questions,
    },
    helpers::spawn_app,
};

fn assert_no_answers(what: &str, body: &Value) {
    let leaked = leaked_answer_keys(body);
    assert!(leaked.is_empty(), "{what} leaks {leaked:?}: {body}");
    if let Some(questions) = body["assessment"]["questions"].as_array() {
        assert!(
            questions.iter().all(|q| q.get("answer").is_none()),
            "{what} leaks a numeric answer"
        );
    }
}

#[tokio::test]
async fn a_student_takes_a_quiz_of_every_type_and_objective_questions_are_graded_at_once() {
    let app = spawn_app().await;
    let school = School::new(&app).await;
    let id = school
        .publish_assessment(
            &app,
            json!({"title": "Piles", "type": "quiz", "questions": every_type_questions()}),
        )
        .await;

    let view = app
        .get(
            &format!("/api/assessments/{id}"),
            Some(&school.student.token),
        )
        .await;
    assert_eq!(view.status, StatusCode::OK);
    assert_no_answers("assessment view", &view.body);
    let started = app.start_attempt(id, &school.student.token).await;
    assert_eq!(started.status, StatusCode::CREATED, "{}", started.body);
    assert_no_answers("attempt start", &started.body);
    let attempt = started.body["attempt"]["id"].as_i64().expect("attempt");

    let answers = json!({"answers": {
        "single": 1, "multi": [2], "tf": true, "short": "  PILE. ", "num": "15", "order": ["a", "b", "c"],
        "code": "def f():\n    return 1", "free": "Parce que."
    }});
    let submitted = app.submit(attempt, &school.student.token, answers).await;
    assert_eq!(submitted.status, StatusCode::OK, "{}", submitted.body);
    assert_no_answers("submission", &submitted.body);
    let result = &submitted.body["attempt"];
    assert_eq!(
        result["status"],
        json!("submitted"),
        "code and free text wait for the teacher"
    );
    // single 1 + multi 1 (one of two right picks) + tf 1 + short 1 + num 1 + order 1 = 6
    assert_eq!(result["score"], json!(6.0));
    assert_eq!(result["maxScore"], json!(10.0));
    // Right or wrong per question: the teacher sees it at once, the student once the
    // answers are released (security::audit_10_…).
    let as_teacher = app
        .get(
            &format!("/api/attempts/{attempt}"),
            Some(&school.teacher.token),
        )
        .await;
    let grade_of = |id: &str| {
        as_teacher.body["attempt"]["results"]
            .as_array()
            .expect("results")
            .iter()
            .find(|r| r["questionId"] == json!(id))
            .expect("result")["grade"]
            .clone()
    };
    assert_eq!(grade_of("multi")["status"], json!("partial"));
    assert_eq!(grade_of("code")["status"], json!("pending_review"));

    let graded = app
        .post(
            &format!("/api/attempts/{attempt}/grade"),
            Some(&school.teacher.token),
            json!({"questions": {"code": {"points": 1.5, "feedback": "Presque."}, "free": {"points": 1}}, "feedback": "Bon travail."}),
        )
        .await;
    assert_eq!(graded.status, StatusCode::OK, "{}", graded.body);
    assert_eq!(graded.body["attempt"]["status"], json!("graded"));
    assert_eq!(graded.body["attempt"]["score"], json!(8.5));
    let again = app
        .post(
            &format!("/api/attempts/{attempt}/grade"),
            Some(&school.teacher.token),
            json!({"questions": {"code": {"points": 2}}}),
        )
        .await;
    assert_eq!(again.status, StatusCode::CONFLICT, "the result is final");
    assert_eq!(again.error_code(), "already_graded");

    let mine = app
        .get(
            &format!("/api/attempts/{attempt}"),
            Some(&school.student.token),
        )
        .await;
    assert_no_answers("graded attempt before release", &mine.body);
    assert_eq!(mine.body["attempt"]["feedback"], json!("Bon travail."));
    let parent = app
        .get(
            &format!("/api/attempts/{attempt}"),
            Some(&school.parent.token),
        )
        .await;
    assert_eq!(parent.body["attempt"]["score"], json!(8.5));
    assert_no_answers("parent view", &parent.body);

    app.patch(
        &format!("/api/assessments/{id}"),
        Some(&school.teacher.token),
        json!({"answersReleased": true}),
    )
    .await;
    let released = app
        .get(
            &format!("/api/attempts/{attempt}"),
            Some(&school.student.token),
        )
        .await;
    let single = released.body["attempt"]["results"]
        .as_array()
        .expect("results")
        .iter()
        .find(|r| r["questionId"] == json!("single"))
        .expect("single")
        .clone();
    assert_eq!(single["correctAnswer"], json!(1));
    assert_eq!(single["explanation"], json!("Arithmétique."));
}

#[tokio::test]
async fn teachers_grade_only_their_own_assessments() {
    let app = spawn_app().await;
    let school = School::new(&app).await;
    let id = school
        .publish_assessment(
            &app,
            json!({"title": "TP", "type": "tp", "questions": every_type_questions()}),
        )
        .await;
    let attempt = app.start_attempt(id, &school.student.token).await.body["attempt"]["id"]
        .as_i64()
        .expect("attempt");
    app.submit(attempt, &school.student.token, json!({"answers": {}}))
        .await;
    let other = app.user(Role::Teacher).await;
    for (method, path, body) in [
        (Method::GET, format!("/api/assessments/{id}"), None),
        (Method::GET, format!("/api/assessments/{id}/attempts"), None),
        (Method::GET, format!("/api/attempts/{attempt}"), None),
        (
            Method::POST,
            format!("/api/attempts/{attempt}/grade"),
            Some(json!({"questions": {"code": {"points": 2}, "free": {"points": 1}}})),
        ),
        (
            Method::PATCH,
            format!("/api/assessments/{id}"),
            Some(json!({"answersReleased": true})),
        ),
    ] {
        let answer = app
            .request(method.clone(), &path, Some(&other.token), body)
            .await;
        assert_eq!(
            answer.status,
            StatusCode::NOT_FOUND,
            "{method} {path}: {}",
            answer.body
        );
    }
    let incomplete = app
        .post(
            &format!("/api/attempts/{attempt}/grade"),
            Some(&school.teacher.token),
            json!({"questions": {"code": {"points": 2}}}),
        )
        .await;
    assert_eq!(
        incomplete.status,
        StatusCode::UNPROCESSABLE_ENTITY,
        "every question waiting for review must be graded"
    );
    let too_many = app
        .post(
            &format!("/api/attempts/{attempt}/grade"),
            Some(&school.teacher.token),
            json!({"questions": {"code": {"points": 3}, "free": {"points": 1}}}),
        )
        .await;
    assert_eq!(too_many.status, StatusCode::UNPROCESSABLE_ENTITY);
}

#[tokio::test]
async fn the_attempt_limit_and_the_window_are_enforced_by_the_server() {
    let app = spawn_app().await;
    let school = School::new(&app).await;
    let id = school.publish_assessment(&app, json!({"title": "Quiz", "type": "quiz", "questions": objective_questions(), "maxAttempts": 1})).await;
    let start_path = format!("/api/assessments/{id}/attempts");
    let start = || app.post(&start_path, Some(&school.student.token), json!({}));
    let first = start().await;
    assert_eq!(first.status, StatusCode::CREATED);
    let resumed = start().await;
    assert_eq!(
        resumed.status,
        StatusCode::OK,
        "starting again returns the attempt in progress"
    );
    assert_eq!(resumed.body["attempt"]["id"], first.body["attempt"]["id"]);
    let attempt = first.body["attempt"]["id"].as_i64().expect("attempt");
    app.submit(attempt, &school.student.token, objective_answers())
        .await;
    let resubmit = app
        .submit(
            attempt,
            &school.student.token,
            json!({"answers": {"q1": 0}}),
        )
        .await;
    assert_eq!(resubmit.status, StatusCode::CONFLICT);
    let no_more = start().await;
    assert_eq!(no_more.status, StatusCode::CONFLICT);
    assert_eq!(no_more.error_code(), "no_attempts_left");

    let future = school
        .publish_assessment(
            &app,
            json!({"title": "Plus tard", "type": "exam", "questions": objective_questions()}),
        )
        .await;
    app.post(
        &format!("/api/assessments/{future}/publish"),
        Some(&school.teacher.token),
        json!({"classId": school.class_id, "opensAt": "2099-01-01T08:00:00Z", "closesAt": "2099-01-01T10:00:00Z"}),
    )
    .await;
    let early = app.start_attempt(future, &school.student.token).await;
    assert_eq!(early.error_code(), "assessment_not_open");
    sqlx::query("update assessment_classes set opens_at = now() - interval '2 hours', closes_at = now() - interval '1 hour' where assessment_id = $1")
        .bind(future)
        .execute(&app.pool)
        .await
        .expect("close");
    let late = app.start_attempt(future, &school.student.token).await;
    assert_eq!(late.error_code(), "assessment_closed");

    let outsider = app.user(Role::Student).await;
    let not_mine = app.start_attempt(id, &outsider.token).await;
    assert_eq!(
        not_mine.status,
        StatusCode::NOT_FOUND,
        "not published to the outsider's classes"
    );
}

#[tokio::test]
async fn a_late_submission_is_flagged_or_refused_as_the_teacher_chose_and_never_lost() {
    let app = spawn_app().await;
    let school = School::new(&app).await;
    for policy in ["flag", "refuse"] {
        let id = school.publish_assessment(&app, json!({"title": format!("Chrono {policy}"), "type": "exam", "questions": objective_questions(), "timeLimitMinutes": 30, "latePolicy": policy}),
        )
        .await;
        let started = app.start_attempt(id, &school.student.token).await;
        let deadline = started.body["attempt"]["deadlineAt"]
            .as_str()
            .expect("deadline")
            .to_owned();
        let deadline: chrono::DateTime<chrono::Utc> = deadline.parse().expect("rfc3339");
        let minutes = (deadline - chrono::Utc::now()).num_minutes();
        assert!(
            (29..=30).contains(&minutes),
            "deadline is the time limit, got {minutes} min"
        );
        let attempt = started.body["attempt"]["id"].as_i64().expect("id");
        // The student's clock said "on time"; the server's clock says the limit passed.
        sqlx::query("update assessment_results set deadline_at = now() - interval '5 minutes' where id = $1")
            .bind(attempt)
            .execute(&app.pool)
            .await
            .expect("age");
        let submitted = app
            .submit(attempt, &school.student.token, objective_answers())
            .await;
        let stored: (String, bool, serde_json::Value) =
            sqlx::query_as("select status, is_late, answers from assessment_results where id = $1")
                .bind(attempt)
                .fetch_one(&app.pool)
                .await
                .expect("attempt");
        assert_eq!(
            stored.2,
            json!({"q1": 1, "q2": true}),
            "{policy}: the answers are kept"
        );
        assert!(stored.1, "{policy}: flagged late");
        if policy == "flag" {
            assert_eq!(submitted.status, StatusCode::OK);
            assert_eq!(submitted.body["attempt"]["isLate"], json!(true));
            assert_eq!(stored.0, "graded");
        } else {
            assert_eq!(submitted.status, StatusCode::CONFLICT);
            assert_eq!(submitted.error_code(), "attempt_late");
            assert_eq!(stored.0, "refused");
            let queue = app
                .get("/api/dashboard/teacher", Some(&school.teacher.token))
                .await;
            assert!(
                queue.body["gradingQueue"]
                    .as_array()
                    .expect("queue")
                    .iter()
                    .any(|q| q["attemptId"] == json!(attempt))
            );
        }
    }
}

#[tokio::test]
async fn answers_of_the_wrong_shape_are_refused_without_closing_the_attempt() {
    let app = spawn_app().await;
    let school = School::new(&app).await;
    let id = school
        .publish_assessment(
            &app,
            json!({"title": "Forme", "type": "quiz", "questions": every_type_questions()}),
        )
        .await;
    let attempt = app.start_attempt(id, &school.student.token).await.body["attempt"]["id"]
        .as_i64()
        .expect("attempt");
    for answers in [
        json!({"single": "b"}),
        json!({"multi": 1}),
        json!({"tf": "oui"}),
        json!({"order": "abc"}),
        json!({"ghost": 1}),
    ] {
        let answer = app
            .submit(attempt, &school.student.token, json!({"answers": answers}))
            .await;
        assert_eq!(answer.status, StatusCode::UNPROCESSABLE_ENTITY, "{answers}");
    }
    let fine = app
        .submit(
            attempt,
            &school.student.token,
            json!({"answers": {"single": 0}}),
        )
        .await;
    assert_eq!(fine.status, StatusCode::OK);
}

#[tokio::test]
async fn questions_are_validated_and_frozen_once_students_start() {
    let app = spawn_app().await;
    let school = School::new(&app).await;
    let broken = json!({"title": "Cassé", "type": "quiz", "questions": [
        {"id": "a", "type": "single_choice", "prompt": "?", "options": ["x"], "correct": 3, "points": 1},
        {"id": "a", "type": "numeric", "prompt": "?", "answer": 1, "tolerance": -1, "points": 0}
    ]});
    let refused = app
        .post("/api/assessments", Some(&school.teacher.token), broken)
        .await;
    assert_eq!(refused.status, StatusCode::UNPROCESSABLE_ENTITY);
    let unknown_type = app.post("/api/assessments", Some(&school.teacher.token), json!({"title": "X", "type": "quiz", "questions": [{"id": "a", "type": "essay", "prompt": "?", "points": 1}]})).await;
    assert_eq!(unknown_type.status, StatusCode::UNPROCESSABLE_ENTITY);

    let id = school
        .publish_assessment(
            &app,
            json!({"title": "Figé", "type": "quiz", "questions": objective_questions()}),
        )
        .await;
    app.start_attempt(id, &school.student.token).await;
    let edit = app
        .put(
            &format!("/api/assessments/{id}"),
            Some(&school.teacher.token),
            json!({"title": "Figé", "type": "quiz", "questions": objective_questions()}),
        )
        .await;
    assert_eq!(edit.status, StatusCode::CONFLICT);
    let delete = app
        .delete(
            &format!("/api/assessments/{id}"),
            Some(&school.teacher.token),
        )
        .await;
    assert_eq!(delete.status, StatusCode::CONFLICT);
}

#[tokio::test]
async fn answers_saved_during_an_attempt_come_back_to_their_student_ungraded_until_the_deadline() {
    let app = spawn_app().await;
    let school = School::new(&app).await;
    let id = school.publish_assessment(&app, json!({"title": "DS chronométré", "type": "exam", "questions": every_type_questions(), "timeLimitMinutes": 30}),
    )
    .await;
    let attempt = app.start_attempt(id, &school.student.token).await.body["attempt"]["id"]
        .as_i64()
        .expect("attempt");
    let path = format!("/api/attempts/{attempt}/answers");
    let draft = json!({"single": 1, "code": "def f():\n    return 42", "free": "Une pile."});

    let saved = app
        .put(
            &path,
            Some(&school.student.token),
            json!({"answers": draft}),
        )
        .await;
    assert_eq!(saved.status, StatusCode::OK, "{}", saved.body);
    assert_eq!(saved.body["answers"], draft);
    assert!(saved.body["savedAt"].is_string());

    // A reload: both the start route (the attempt in progress) and the attempt return it,
    // with no grade and no score.
    let resumed = app.start_attempt(id, &school.student.token).await;
    assert_eq!(resumed.status, StatusCode::OK, "{}", resumed.body);
    assert_eq!(resumed.body["attempt"]["draftAnswers"], draft);
    assert_eq!(resumed.body["attempt"]["score"], Value::Null);
    assert_eq!(resumed.body["assessment"]["helpMode"], json!("none"));
    assert_eq!(
        resumed.body["assessment"]["attempts"][0]["status"],
        json!("in_progress")
    );
    assert_no_answers("resumed attempt", &resumed.body);
    let mine = app
        .get(
            &format!("/api/attempts/{attempt}"),
            Some(&school.student.token),
        )
        .await;
    assert_eq!(mine.body["attempt"]["draftAnswers"], draft);
    assert_eq!(mine.body["attempt"]["status"], json!("in_progress"));
    let parent = app
        .get(
            &format!("/api/attempts/{attempt}"),
            Some(&school.parent.token),
        )
        .await;
    assert_eq!(parent.status, StatusCode::OK);
    assert!(
        parent.body["attempt"].get("draftAnswers").is_none(),
        "a draft is the student's: {}",
        parent.body
    );
    let listed = app
        .get("/api/assessments", Some(&school.student.token))
        .await;
    let row = listed.body["assessments"]
        .as_array()
        .expect("list")
        .iter()
        .find(|a| a["id"] == json!(id))
        .expect("listed")
        .clone();
    assert_eq!(row["latestAttemptId"], json!(attempt));
    assert_eq!(row["latestStatus"], json!("in_progress"));
    assert_eq!(row["maxAttempts"], json!(1));

    // Checked like a submission; nothing stored when refused.
    let wrong = app
        .put(
            &path,
            Some(&school.student.token),
            json!({"answers": {"nope": 1}}),
        )
        .await;
    assert_eq!(wrong.status, StatusCode::UNPROCESSABLE_ENTITY);
    let other = app.user(Role::Student).await;
    let stranger = app
        .put(&path, Some(&other.token), json!({"answers": {}}))
        .await;
    assert_eq!(stranger.status, StatusCode::NOT_FOUND, "not theirs");
    let still = app
        .get(
            &format!("/api/attempts/{attempt}"),
            Some(&school.student.token),
        )
        .await;
    assert_eq!(still.body["attempt"]["draftAnswers"], draft);

    // Past the deadline and its grace: submit, don't save.
    sqlx::query(
        "update assessment_results set deadline_at = now() - interval '31 seconds' where id = $1",
    )
    .bind(attempt)
    .execute(&app.pool)
    .await
    .expect("age");
    let late = app
        .put(
            &path,
            Some(&school.student.token),
            json!({"answers": {"single": 0}}),
        )
        .await;
    assert_eq!(late.status, StatusCode::CONFLICT);
    assert_eq!(late.error_code(), "attempt_late");
    sqlx::query(
        "update assessment_results set deadline_at = now() + interval '5 minutes' where id = $1",
    )
    .bind(attempt)
    .execute(&app.pool)
    .await
    .expect("back in time");
    let submitted = app
        .submit(attempt, &school.student.token, json!({"answers": draft}))
        .await;
    assert_eq!(submitted.status, StatusCode::OK, "{}", submitted.body);
    assert!(submitted.body["attempt"].get("draftAnswers").is_none());
    let after = app
        .put(&path, Some(&school.student.token), json!({"answers": {}}))
        .await;
    assert_eq!(after.status, StatusCode::CONFLICT);
    assert_eq!(after.error_code(), "already_submitted");
}

/// An assessment may name a course its author sees (`nexus_database::courses`, the rule
/// the catalogue and the hub use): a published one, their own draft; an admin any; not
/// a colleague's draft, nor a course that does not exist.
#[tokio::test]
async fn an_assessment_names_only_a_course_its_author_sees() {
    let app = spawn_app().await;
    let school = School::new(&app).await;
    let colleague = app.user(Role::Teacher).await;
    let own_draft = course_of(&app, school.teacher.id, "Mon brouillon", false).await;
    let their_draft = course_of(&app, colleague.id, "Son brouillon", false).await;
    let body = |course: i64| {
        json!({"title": "Sur un cours", "type": "quiz", "courseId": course,
               "questions": objective_questions()})
    };
    for (who, token, course, accepted) in [
        (
            "author, published",
            &school.teacher.token,
            school.course_id,
            true,
        ),
        ("author, own draft", &school.teacher.token, own_draft, true),
        (
            "author, a colleague's draft",
            &school.teacher.token,
            their_draft,
            false,
        ),
        (
            "author, no such course",
            &school.teacher.token,
            their_draft + 1000,
            false,
        ),
        (
            "admin, a teacher's draft",
            &school.admin.token,
            their_draft,
            true,
        ),
    ] {
        let created = app
            .post("/api/assessments", Some(token), body(course))
            .await;
        if accepted {
            assert_eq!(
                created.status,
                StatusCode::CREATED,
                "{who}: {}",
                created.body
            );
        } else {
            assert_eq!(
                created.status,
                StatusCode::UNPROCESSABLE_ENTITY,
                "{who}: {}",
                created.body
            );
            assert!(
                created.body.to_string().contains("courseId"),
                "{who}: {}",
                created.body
            );
        }
    }
}
