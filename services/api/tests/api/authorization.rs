//! Every endpoint × every role (and anonymous) → the expected status. The table must name
//! every operation of the OpenAPI document, so a new endpoint cannot skip it.

use std::collections::BTreeSet;

use nexus_auth::Role;
use reqwest::{Method, StatusCode};
use serde_json::{Value, json};

use crate::{
    fixtures::{self, School},
    helpers::{PASSWORD, TestApp, TestUser, spawn_app},
};

/// Expected statuses for: anonymous, student, parent, the school's teacher (who teaches
/// the class, wrote the course and the assessment), another teacher (of another class),
/// admin. This table is the documentation of who may do what (docs/SECURITY.md).
type Expect = [u16; 6];

struct Case {
    method: Method,
    /// Placeholders in braces are resolved for each call by `World::resolve`.
    path: &'static str,
    body: Option<Value>,
    expect: Expect,
}

fn case(method: Method, path: &'static str, body: Option<Value>, expect: Expect) -> Case {
    Case {
        method,
        path,
        body,
        expect,
    }
}

fn cases() -> Vec<Case> {
    use Method as M;
    let new_staff = json!({"email": "{unique_email}", "password": PASSWORD, "firstName": "Nina", "lastName": "Prof", "role": "teacher"});
    let new_assessment =
        json!({"title": "Quiz", "type": "quiz", "questions": fixtures::objective_questions()});
    vec![
        // Public operations: the same answer whoever calls.
        case(
            M::POST,
            "/api/auth/register",
            Some(
                json!({"role": "parent", "password": PASSWORD, "firstName": "P", "lastName": "Q", "email": "{unique_email}"}),
            ),
            [201; 6],
        ),
        case(
            M::POST,
            "/api/auth/login",
            Some(json!({"email": "{unique_email}", "password": "Wrong-Password-1"})),
            [401; 6],
        ),
        case(
            M::POST,
            "/api/auth/refresh",
            Some(json!({"refreshToken": "unknown"})),
            [401; 6],
        ),
        case(
            M::POST,
            "/api/auth/logout",
            Some(json!({"refreshToken": "unknown"})),
            [200; 6],
        ),
        case(
            M::POST,
            "/api/auth/password-reset/request",
            Some(json!({"email": "{unique_email}"})),
            [202; 6],
        ),
        case(
            M::POST,
            "/api/auth/password-reset/confirm",
            Some(json!({"token": "unknown", "newPassword": "Girafe-Violette-42"})),
            [400; 6],
        ),
        case(
            M::POST,
            "/api/auth/verify-email",
            Some(json!({"token": "unknown"})),
            [400; 6],
        ),
        // Issue #17: verification mail, parental consent (the school's parent is linked
        // but not verified: 403 email_not_verified), the audit log.
        case(
            M::POST,
            "/api/auth/verify-email/resend",
            None,
            [401, 202, 202, 202, 202, 202],
        ),
        case(
            M::GET,
            "/api/students/{student}/consent",
            None,
            [401, 200, 200, 403, 403, 403],
        ),
        case(
            M::PUT,
            "/api/students/{student}/consent",
            Some(json!({"given": true})),
            [401, 403, 403, 403, 403, 403],
        ),
        case(
            M::GET,
            "/api/admin/audit-log",
            None,
            [401, 403, 403, 403, 403, 200],
        ),
        // Issue #17: deletion requests (a wrong password, so that nothing changes: 422
        // once the caller is allowed) and their cancellation (none pending: 404).
        case(
            M::POST,
            "/api/me/deletion",
            Some(json!({"password": "Wrong-Password-1"})),
            [401, 422, 422, 422, 422, 422],
        ),
        case(
            M::POST,
            "/api/auth/deletion/cancel",
            Some(json!({"email": "{unique_email}", "password": "Wrong-Password-1"})),
            [401; 6],
        ),
        case(
            M::GET,
            "/api/students/{student}/deletion",
            None,
            [401, 403, 200, 403, 403, 200],
        ),
        case(
            M::POST,
            "/api/students/{student}/deletion",
            Some(json!({"password": "Wrong-Password-1"})),
            [401, 403, 422, 403, 403, 403],
        ),
        case(
            M::DELETE,
            "/api/students/{student}/deletion",
            None,
            [401, 403, 404, 403, 403, 403],
        ),
        case(
            M::POST,
            "/api/admin/users/{target}/deletion",
            Some(json!({"password": "Wrong-Password-1"})),
            [401, 403, 403, 403, 403, 422],
        ),
        case(
            M::DELETE,
            "/api/admin/users/{target}/deletion",
            None,
            [401, 403, 403, 403, 403, 404],
        ),
        case(
            M::GET,
            "/api/admin/deletions",
            None,
            [401, 403, 403, 403, 403, 200],
        ),
        // Issue #17: data exports. Anyone signed in asks for their own (202, produced in
        // the background); a parent for a linked child only; an export is downloaded by
        // its requester alone — to anyone else it does not exist (404).
        case(
            M::POST,
            "/api/me/data-exports",
            None,
            [401, 202, 202, 202, 202, 202],
        ),
        case(
            M::GET,
            "/api/me/data-exports",
            None,
            [401, 200, 200, 200, 200, 200],
        ),
        case(
            M::POST,
            "/api/students/{student}/data-exports",
            None,
            [401, 403, 202, 403, 403, 403],
        ),
        case(
            M::GET,
            "/api/data-exports/{target_export}/download",
            None,
            [401, 404, 404, 404, 404, 404],
        ),
        // Any signed-in user.
        case(M::GET, "/api/auth/me", None, [401, 200, 200, 200, 200, 200]),
        case(
            M::GET,
            "/api/me/notification-preferences",
            None,
            [401, 200, 200, 200, 200, 200],
        ),
        case(
            M::PUT,
            "/api/me/notification-preferences",
            Some(
                json!({"digestFrequency": "daily", "categories": {"grades": true, "assessments": false, "messages": true}}),
            ),
            [401, 200, 200, 200, 200, 200],
        ),
        // Public: the token of the digest's link (none here) decides, not the caller.
        case(M::POST, "/api/digest/unsubscribe", None, [400; 6]),
        case(
            M::PATCH,
            "/api/me",
            Some(json!({})),
            [401, 200, 200, 200, 200, 200],
        ),
        case(
            M::GET,
            "/api/notifications",
            None,
            [401, 200, 200, 200, 200, 200],
        ),
        case(
            M::POST,
            "/api/notifications/read-all",
            None,
            [401, 200, 200, 200, 200, 200],
        ),
        case(
            M::POST,
            "/api/notifications/{own_notification}/read",
            None,
            [401, 200, 200, 200, 200, 200],
        ),
        case(M::GET, "/api/classes", None, [401, 200, 200, 200, 200, 200]),
        case(M::GET, "/api/courses", None, [401, 200, 200, 200, 200, 200]),
        case(
            M::GET,
            "/api/courses/{course}",
            None,
            [401, 200, 200, 200, 200, 200],
        ),
        // Students only.
        case(
            M::POST,
            "/api/me/pairing-code",
            None,
            [401, 201, 403, 403, 403, 403],
        ),
        case(
            M::GET,
            "/api/me/parents",
            None,
            [401, 200, 403, 403, 403, 403],
        ),
        case(
            M::POST,
            "/api/classes/join",
            Some(json!({"code": "{other_class_code}"})),
            [401, 200, 403, 403, 403, 403],
        ),
        case(
            M::PUT,
            "/api/courses/{course}/progress",
            Some(json!({"progressPercentage": 40})),
            [401, 200, 403, 403, 403, 403],
        ),
        case(
            M::POST,
            "/api/assessments/{fresh_open_assessment}/attempts",
            None,
            [401, 201, 403, 403, 403, 403],
        ),
        // The student passes the role check; the fixture's question has no tests (422).
        case(
            M::POST,
            "/api/attempts/{in_progress_attempt}/run",
            Some(json!({"questionId": "q1", "code": "x = 1"})),
            [401, 422, 403, 403, 403, 403],
        ),
        case(
            M::POST,
            "/api/attempts/{in_progress_attempt}/submit",
            Some(json!({"answers": {"q1": 1}})),
            [401, 200, 403, 403, 403, 403],
        ),
        case(
            M::PUT,
            "/api/attempts/{in_progress_attempt}/answers",
            Some(json!({"answers": {"q1": 1}})),
            [401, 200, 403, 403, 403, 403],
        ),
        case(
            M::GET,
            "/api/dashboard/student",
            None,
            [401, 200, 403, 403, 403, 403],
        ),
        // Parents only.
        case(
            M::GET,
            "/api/me/children",
            None,
            [401, 403, 200, 403, 403, 403],
        ),
        case(
            M::POST,
            "/api/me/children",
            Some(json!({"code": "ZZZZZZZZ"})),
            [401, 403, 400, 403, 403, 403],
        ),
        case(
            M::GET,
            "/api/dashboard/parent",
            None,
            [401, 403, 200, 403, 403, 403],
        ),
        // Relations: the student, their parent, their teacher, admins.
        case(
            M::GET,
            "/api/classes/{class}",
            None,
            [401, 200, 200, 200, 404, 200],
        ),
        case(
            M::GET,
            "/api/students/{student}/progress",
            None,
            [401, 200, 200, 200, 404, 200],
        ),
        case(
            M::GET,
            "/api/attempts/{attempt}",
            None,
            [401, 200, 200, 200, 404, 200],
        ),
        case(
            M::GET,
            "/api/assessments/{assessment}",
            None,
            [401, 200, 404, 200, 404, 200],
        ),
        case(
            M::GET,
            "/api/assessments",
            None,
            [401, 200, 403, 200, 200, 200],
        ),
        // The class's teacher and admins.
        case(
            M::GET,
            "/api/dashboard/teacher",
            None,
            [401, 403, 403, 200, 200, 403],
        ),
        case(
            M::POST,
            "/api/classes",
            Some(json!({"name": "1re NSI", "level": "premiere", "schoolYear": "2026-2027"})),
            [401, 403, 403, 201, 201, 201],
        ),
        case(
            M::PATCH,
            "/api/classes/{class}",
            Some(json!({"name": "Terminale NSI B"})),
            [401, 403, 403, 200, 403, 200],
        ),
        case(
            M::POST,
            "/api/classes/{class}/students",
            Some(json!({"email": "{fresh_student_email}"})),
            [401, 403, 403, 202, 403, 202],
        ),
        case(
            M::DELETE,
            "/api/classes/{class}/students/{fresh_member}",
            None,
            [401, 403, 403, 200, 403, 200],
        ),
        case(
            M::GET,
            "/api/classes/{class}/progress",
            None,
            [401, 403, 403, 200, 403, 200],
        ),
        case(
            M::GET,
            "/api/classes/{class}/grades/export",
            None,
            [401, 403, 403, 200, 403, 200],
        ),
        case(
            M::GET,
            "/api/classes/{class}/assessments/{assessment}/grades/export",
            None,
            [401, 403, 403, 200, 403, 200],
        ),
        // An empty file: 422 once the caller is allowed (nothing is written).
        case(
            M::POST,
            "/api/classes/{class}/roster/import",
            None,
            [401, 403, 403, 422, 403, 422],
        ),
        case(
            M::GET,
            "/api/students/{student}/report",
            None,
            [401, 200, 200, 200, 404, 200],
        ),
        case(
            M::POST,
            "/api/courses",
            Some(fixtures::course_body("Nouveau cours")),
            [401, 403, 403, 201, 201, 201],
        ),
        case(
            M::PUT,
            "/api/courses/{fresh_course}",
            Some(fixtures::course_body("Cours modifié")),
            [401, 404, 404, 200, 404, 200],
        ),
        case(
            M::DELETE,
            "/api/courses/{fresh_course}",
            None,
            [401, 404, 404, 200, 404, 200],
        ),
        case(
            M::POST,
            "/api/courses/{fresh_course}/publish",
            None,
            [401, 404, 404, 200, 404, 200],
        ),
        case(
            M::POST,
            "/api/courses/{fresh_course}/unpublish",
            None,
            [401, 404, 404, 200, 404, 200],
        ),
        case(
            M::POST,
            "/api/courses/{fresh_course}/classes",
            Some(json!({"classId": "{class_id_number}"})),
            [401, 404, 404, 201, 404, 201],
        ),
        case(
            M::DELETE,
            "/api/courses/{assigned_course}/classes/{class}",
            None,
            [401, 403, 403, 200, 403, 200],
        ),
        case(
            M::POST,
            "/api/assessments",
            Some(new_assessment.clone()),
            [401, 403, 403, 201, 201, 201],
        ),
        case(
            M::PUT,
            "/api/assessments/{fresh_assessment}",
            Some(new_assessment),
            [401, 404, 404, 200, 404, 200],
        ),
        case(
            M::PATCH,
            "/api/assessments/{fresh_assessment}",
            Some(json!({"answersReleased": true})),
            [401, 404, 404, 200, 404, 200],
        ),
        case(
            M::DELETE,
            "/api/assessments/{fresh_assessment}",
            None,
            [401, 404, 404, 200, 404, 200],
        ),
        case(
            M::POST,
            "/api/assessments/{fresh_assessment}/publish",
            Some(json!({"classId": "{class_id_number}"})),
            [401, 404, 404, 200, 404, 200],
        ),
        case(
            M::DELETE,
            "/api/assessments/{fresh_open_assessment}/classes/{class}",
            None,
            [401, 404, 404, 200, 404, 200],
        ),
        case(
            M::GET,
            "/api/assessments/{assessment}/attempts",
            None,
            [401, 404, 404, 200, 404, 200],
        ),
        case(
            M::POST,
            "/api/attempts/{submitted_attempt}/grade",
            Some(json!({"questions": {}})),
            [401, 403, 403, 200, 404, 200],
        ),
        // Admins only.
        case(M::GET, "/api/users", None, [401, 403, 403, 403, 403, 200]),
        case(
            M::POST,
            "/api/users",
            Some(new_staff),
            [401, 403, 403, 403, 403, 201],
        ),
        case(
            M::GET,
            "/api/users/{target}",
            None,
            [401, 403, 403, 403, 403, 200],
        ),
        case(
            M::PATCH,
            "/api/users/{target}",
            Some(json!({"firstName": "Nina"})),
            [401, 403, 403, 403, 403, 200],
        ),
        case(
            M::PATCH,
            "/api/users/{target}/status",
            Some(json!({"isActive": true})),
            [401, 403, 403, 403, 403, 200],
        ),
        case(
            M::PATCH,
            "/api/users/{target}/role",
            Some(json!({"role": "parent"})),
            [401, 403, 403, 403, 403, 200],
        ),
        case(
            M::GET,
            "/api/dashboard/admin",
            None,
            [401, 403, 403, 403, 403, 200],
        ),
        // Chat: members of the conversation; who may talk to whom.
        case(
            M::GET,
            "/api/conversations",
            None,
            [401, 200, 200, 200, 200, 200],
        ),
        case(
            M::POST,
            "/api/conversations",
            Some(json!({"userId": "{teacher_id_number}"})),
            [401, 200, 200, 403, 403, 200],
        ),
        case(
            M::GET,
            "/api/classes/{class}/conversation",
            None,
            [401, 200, 404, 200, 404, 200],
        ),
        case(
            M::GET,
            "/api/conversations/{class_conversation}/messages",
            None,
            [401, 200, 404, 200, 404, 404],
        ),
        case(
            M::POST,
            "/api/conversations/{class_conversation}/messages",
            Some(json!({"clientMessageId": "{unique_email}", "body": "Bonjour"})),
            [401, 201, 404, 201, 404, 404],
        ),
        case(
            M::DELETE,
            "/api/conversations/{class_conversation}/messages/{fresh_message}",
            None,
            [401, 403, 404, 200, 404, 200],
        ),
        case(
            M::POST,
            "/api/conversations/{class_conversation}/read",
            Some(json!({"messageId": "{fresh_message_number}"})),
            [401, 200, 404, 200, 404, 404],
        ),
        // The audit of 2026-12-02 (docs/SECURITY.md).
        case(
            M::POST,
            "/api/conversations/{class_conversation}/review",
            Some(json!({"reason": "Signalement d'une famille"})),
            [401, 403, 403, 403, 403, 200],
        ),
        case(
            M::DELETE,
            "/api/classes/{class}/invitations/{fresh_invitation}",
            None,
            [401, 403, 403, 200, 403, 200],
        ),
        case(
            M::GET,
            "/api/me/class-invitations",
            None,
            [401, 200, 403, 403, 403, 403],
        ),
        case(
            M::POST,
            "/api/me/class-invitations/{own_invitation}/accept",
            None,
            [401, 200, 403, 403, 403, 403],
        ),
        case(
            M::POST,
            "/api/me/class-invitations/{own_invitation}/decline",
            None,
            [401, 200, 403, 403, 403, 403],
        ),
        case(
            M::DELETE,
            "/api/me/children/{own_child}",
            None,
            [401, 403, 200, 403, 403, 403],
        ),
        case(
            M::DELETE,
            "/api/me/parents/{own_parent}",
            None,
            [401, 200, 403, 403, 403, 403],
        ),
        case(
            M::DELETE,
            "/api/users/{linked_student}/parents/{linked_parent}",
            None,
            [401, 403, 403, 403, 403, 200],
        ),
    ]
}

/// The fixtures the matrix acts on; `fresh_*` placeholders create a new object per call,
/// so that a call that changes or deletes it leaves the next caller's case intact.
struct World {
    school: School,
    other_teacher: TestUser,
    /// The parent of the last `linked_student`, for the `linked_parent` that follows it.
    last_link: std::sync::Mutex<Option<i64>>,
    target: TestUser,
    other_class_codes: std::sync::Mutex<Vec<String>>,
    assessment: i64,
    attempt: i64,
}

impl World {
    async fn new(app: &TestApp) -> World {
        let school = School::new(app).await;
        let target = app.user(Role::Parent).await;
        let assessment = school.quiz(app).await;
        let attempt = fixtures::attempt_of(app, assessment, school.student.id, "graded").await;
        let other_teacher = app.user(Role::Teacher).await;
        fixtures::class_of(app, other_teacher.id).await;
        World {
            school,
            other_teacher,
            last_link: Default::default(),
            target,
            other_class_codes: Default::default(),
            assessment,
            attempt,
        }
    }

    /// Replaces the placeholders of `text` for a call by `caller` (None: anonymous).
    async fn resolve(&self, app: &TestApp, text: &str, caller: Option<&TestUser>) -> String {
        let mut out = String::new();
        let mut rest = text;
        while let Some(start) = rest.find('{') {
            let after = &rest[start + 1..];
            let name_len = after
                .find(|c: char| !(c.is_ascii_lowercase() || c == '_'))
                .unwrap_or(after.len());
            out.push_str(&rest[..start]);
            if name_len > 0 && after[name_len..].starts_with('}') {
                let name = &after[..name_len];
                let value = self
                    .value_of(app, name.trim_end_matches("_number"), caller)
                    .await;
                rest = &after[name_len + 1..];
                // `"{x_number}"` in a JSON body stands for a number: drop its quotes.
                if name.ends_with("_number") && out.ends_with('"') && rest.starts_with('"') {
                    out.pop();
                    rest = &rest[1..];
                }
                out.push_str(&value);
            } else {
                out.push('{');
                rest = after;
            }
        }
        out.push_str(rest);
        out
    }

    /// A parent–child link; a caller of another role simply gets a 403 on its use.
    async fn link(&self, app: &TestApp, parent: i64, child: i64) {
        sqlx::query(
            "insert into parent_links (parent_id, student_id) select $1, $2
             where exists(select 1 from users where id = $1 and role = 'parent')
               and exists(select 1 from users where id = $2 and role = 'student')",
        )
        .bind(parent)
        .bind(child)
        .execute(&app.pool)
        .await
        .expect("link");
    }

    async fn class_conversation(&self, app: &TestApp) -> i64 {
        sqlx::query_scalar(
            "insert into conversations (kind, class_id) values ('class', $1)
             on conflict (class_id) do update set class_id = excluded.class_id returning id",
        )
        .bind(self.school.class_id)
        .fetch_one(&app.pool)
        .await
        .expect("class conversation")
    }

    async fn value_of(&self, app: &TestApp, name: &str, caller: Option<&TestUser>) -> String {
        let s = &self.school;
        let teacher = s.teacher.id;
        match name {
            "target" => self.target.id.to_string(),
            // A ready export of someone who is none of the callers.
            "target_export" => sqlx::query_scalar::<_, i64>(
                "insert into data_exports (requester_id, subject_id, status, file, file_size, ready_at, expires_at)
                 values ($1, $1, 'ready', '\\x504b0506'::bytea, 4, now(), now() + interval '1 day') returning id",
            )
            .bind(self.target.id)
            .fetch_one(&app.pool)
            .await
            .expect("export")
            .to_string(),
            "class" | "class_id" => s.class_id.to_string(),
            "teacher_id" => s.teacher.id.to_string(),
            "class_conversation" => self.class_conversation(app).await.to_string(),
            "fresh_message" => {
                let conversation = self.class_conversation(app).await;
                sqlx::query_scalar::<_, i64>(
                    "insert into messages (conversation_id, sender_id, client_message_id, body) values ($1, $2, $3, 'Bonjour') returning id",
                )
                .bind(conversation)
                .bind(s.student.id)
                .bind(uuid::Uuid::new_v4().to_string())
                .fetch_one(&app.pool)
                .await
                .expect("message")
                .to_string()
            }
            "course" => s.course_id.to_string(),
            "student" => s.student.id.to_string(),
            "assessment" => self.assessment.to_string(),
            "attempt" => self.attempt.to_string(),
            "unique_email" => format!("u-{}@famille.fr", uuid::Uuid::new_v4().simple()),
            "own_notification" => match caller {
                Some(user) => sqlx::query_scalar::<_, i64>("insert into notifications (user_id, kind, title) values ($1, 'test', 'Test') returning id")
                    .bind(user.id)
                    .fetch_one(&app.pool)
                    .await
                    .expect("notification")
                    .to_string(),
                None => "1".into(),
            },
            "other_class_code" => {
                let (_, code) = fixtures::class_of(app, teacher).await;
                self.other_class_codes.lock().expect("lock").push(code.clone());
                code
            }
            "fresh_student_email" => app.user(Role::Student).await.email,
            "fresh_invitation" => sqlx::query_scalar::<_, i64>(
                "insert into class_invitations (class_id, email) values ($1, $2) returning id",
            )
            .bind(s.class_id)
            .bind(format!("i-{}@lycee.fr", uuid::Uuid::new_v4().simple()))
            .fetch_one(&app.pool)
            .await
            .expect("invitation")
            .to_string(),
            // An invitation to a new class, addressed to the caller (or to the school's
            // student, for callers who are not students).
            "own_invitation" => {
                let email = match caller {
                    Some(user) => user.email.clone(),
                    None => s.student.email.clone(),
                };
                let (class, _) = fixtures::class_of(app, teacher).await;
                sqlx::query_scalar::<_, i64>(
                    "insert into class_invitations (class_id, email) values ($1, $2) returning id",
                )
                .bind(class)
                .bind(email)
                .fetch_one(&app.pool)
                .await
                .expect("invitation")
                .to_string()
            }
            // A fresh student linked to the caller as parent (or to the school's parent).
            "own_child" => {
                let child = app.user(Role::Student).await;
                let parent = caller.map_or(s.parent.id, |c| c.id);
                self.link(app, parent, child.id).await;
                child.id.to_string()
            }
            // A fresh parent linked to the caller as child (or to the school's student).
            "own_parent" => {
                let parent = app.user(Role::Parent).await;
                let child = caller.map_or(s.student.id, |c| c.id);
                self.link(app, parent.id, child).await;
                parent.id.to_string()
            }
            "linked_student" => {
                let parent = app.user(Role::Parent).await;
                let child = app.user(Role::Student).await;
                self.link(app, parent.id, child.id).await;
                *self.last_link.lock().expect("lock") = Some(parent.id);
                child.id.to_string()
            }
            "linked_parent" => self
                .last_link
                .lock()
                .expect("lock")
                .take()
                .expect("linked_student comes first")
                .to_string(),
            "fresh_member" => {
                let student = app.user(Role::Student).await;
                fixtures::add_member(app, s.class_id, student.id).await;
                student.id.to_string()
            }
            "fresh_course" => fixtures::course_of(app, teacher, "Brouillon", false).await.to_string(),
            "assigned_course" => {
                let course = fixtures::course_of(app, teacher, "Attribué", true).await;
                fixtures::assign_course(app, course, s.class_id).await;
                course.to_string()
            }
            "fresh_assessment" => s.unpublished_quiz(app).await.to_string(),
            "fresh_open_assessment" => {
                s.quiz(app).await.to_string()
            }
            "in_progress_attempt" => {
                let assessment = s.quiz(app).await;
                fixtures::attempt_of(app, assessment, s.student.id, "in_progress").await.to_string()
            }
            "submitted_attempt" => fixtures::attempt_of(app, self.assessment, s.student.id, "submitted").await.to_string(),
            other => panic!("unknown placeholder {other}"),
        }
    }
}

#[tokio::test]
async fn every_endpoint_answers_every_role_as_documented() {
    let app = spawn_app().await;
    let world = World::new(&app).await;
    let callers: Vec<(&str, Option<&TestUser>)> = vec![
        ("anonymous", None),
        ("student", Some(&world.school.student)),
        ("parent", Some(&world.school.parent)),
        ("teacher", Some(&world.school.teacher)),
        ("other teacher", Some(&world.other_teacher)),
        ("admin", Some(&world.school.admin)),
    ];
    let mut failures = Vec::new();
    for case in cases() {
        for ((who, caller), expected) in callers.iter().zip(case.expect) {
            let path = world.resolve(&app, case.path, *caller).await;
            let body = match &case.body {
                Some(body) => {
                    let text = world.resolve(&app, &body.to_string(), *caller).await;
                    serde_json::from_str(&text).expect("json")
                }
                None if case.method != Method::GET && case.method != Method::DELETE => json!({}),
                None => Value::Null,
            };
            let body = (!body.is_null()).then_some(body);
            let answer = app
                .request(
                    case.method.clone(),
                    &path,
                    caller.map(|c| c.token.as_str()),
                    body,
                )
                .await;
            if answer.status.as_u16() != expected {
                failures.push(format!(
                    "{} {} as {who}: expected {expected}, got {} {}",
                    case.method, case.path, answer.status, answer.body
                ));
            }
            if answer.status.is_client_error() {
                answer.error_code();
            }
        }
    }
    assert!(failures.is_empty(), "\n{}", failures.join("\n"));
}

#[tokio::test]
async fn the_matrix_covers_every_documented_operation() {
    let app = spawn_app().await;
    let spec = app.get("/api/openapi.json", None).await.body;
    let documented: BTreeSet<String> = spec["paths"]
        .as_object()
        .expect("paths")
        .iter()
        .flat_map(|(path, ops)| {
            ops.as_object()
                .expect("operations")
                .keys()
                .filter(|m| ["get", "post", "put", "patch", "delete"].contains(&m.as_str()))
                .map(move |m| format!("{} {}", m.to_uppercase(), shape(path)))
        })
        .collect();
    let tested: BTreeSet<String> = cases()
        .iter()
        .map(|c| format!("{} {}", c.method, shape(c.path)))
        .collect();
    let missing: Vec<_> = documented.difference(&tested).collect();
    assert!(
        missing.is_empty(),
        "operations missing from the authorization matrix: {missing:?}"
    );
    assert!(documented.len() >= 50);
}

/// A path with every parameter written `{}`.
fn shape(path: &str) -> String {
    let mut out = String::new();
    let mut in_param = false;
    for c in path.chars() {
        match c {
            '{' => {
                in_param = true;
                out.push_str("{}");
            }
            '}' => in_param = false,
            c if !in_param => out.push(c),
            _ => {}
        }
    }
    out
}

#[tokio::test]
async fn a_missing_or_malformed_authorization_header_is_a_401() {
    let app = spawn_app().await;
    for header in [
        "",
        "Bearer",
        "Bearer ",
        "Basic dXNlcjpwYXNz",
        "bearer not-a-jwt",
        "Token abc",
    ] {
        let answer = app
            .client
            .get(format!("{}/api/auth/me", app.address))
            .header("authorization", header)
            .send()
            .await
            .expect("sent");
        assert_eq!(answer.status(), StatusCode::UNAUTHORIZED, "{header:?}");
    }
}
