//! Learning-domain fixtures, written straight to the database: a teacher's class with a
//! student (whose parent is linked), a published course assigned to it, assessments.

use nexus_auth::Role;
use reqwest::StatusCode;
use serde_json::{Value, json};

use crate::helpers::{TestApp, TestUser};

pub struct School {
    pub teacher: TestUser,
    pub student: TestUser,
    pub parent: TestUser,
    pub admin: TestUser,
    pub class_id: i64,
    pub join_code: String,
    pub course_id: i64,
}

pub fn course_content() -> Value {
    json!({"chapters": [{"id": "ch1", "title": "Les bases", "sections": [
        {"id": "ch1-s1", "title": "Définition", "content": "Une pile est une structure LIFO.",
         "examples": [{"title": "Empiler", "code": "p = []\np.append(1)", "explanation": "On empile 1."}],
         "exercises": [{"question": "Dépiler ?", "hint": "pop", "solution": "p.pop()"}]},
        {"id": "ch1-s2", "title": "Usages", "content": "Annuler une action."}]},
        {"id": "ch2", "title": "Files", "sections": [{"id": "ch2-s1", "title": "FIFO", "content": "Premier entré, premier sorti."}]}]})
}

pub fn course_body(title: &str) -> Value {
    json!({"title": title, "description": "Piles et files en Python", "level": "terminale", "category": "structures",
           "content": course_content(), "prerequisites": ["Listes Python"], "objectives": ["Savoir empiler"], "estimatedTime": 60})
}

/// A quiz with one question of every type, 1 point each (code and free text included).
pub fn every_type_questions() -> Value {
    json!([
        {"id": "single", "type": "single_choice", "prompt": "2+2 ?", "options": ["3", "4", "5"], "correct": 1, "points": 1, "explanation": "Arithmétique."},
        {"id": "multi", "type": "multiple_choice", "prompt": "Structures LIFO ?", "options": ["pile", "file", "pile d'appels", "tas"], "correct": [0, 2], "points": 2},
        {"id": "tf", "type": "true_false", "prompt": "Une file est FIFO.", "correct": true, "points": 1},
        {"id": "short", "type": "short_answer", "prompt": "Nom de la structure LIFO ?", "accepted": ["pile", "une pile"], "points": 1},
        {"id": "num", "type": "numeric", "prompt": "0b1111 en décimal ?", "answer": 15, "tolerance": 0, "points": 1},
        {"id": "order", "type": "ordering", "prompt": "Ordonner", "items": [{"id": "a", "text": "Empiler 1"}, {"id": "b", "text": "Empiler 2"}, {"id": "c", "text": "Dépiler"}], "points": 1},
        {"id": "code", "type": "code", "prompt": "Écrire une fonction", "starter": "def f():\n    pass", "points": 2},
        {"id": "free", "type": "free_text", "prompt": "Expliquer", "points": 1}
    ])
}

pub fn objective_questions() -> Value {
    json!([
        {"id": "q1", "type": "single_choice", "prompt": "2+2 ?", "options": ["3", "4"], "correct": 1, "points": 1, "explanation": "Facile."},
        {"id": "q2", "type": "true_false", "prompt": "Vrai ?", "correct": true, "points": 1}
    ])
}

/// The right answers to `objective_questions`, as a submission's body.
pub fn objective_answers() -> Value {
    json!({"answers": {"q1": 1, "q2": true}})
}

impl School {
    pub async fn new(app: &TestApp) -> School {
        let teacher = app.user(Role::Teacher).await;
        let student = app.user(Role::Student).await;
        let parent = app.user(Role::Parent).await;
        let admin = app.user(Role::Admin).await;
        sqlx::query("insert into parent_links (parent_id, student_id) values ($1, $2)")
            .bind(parent.id)
            .bind(student.id)
            .execute(&app.pool)
            .await
            .expect("link");
        let (class_id, join_code) = class_of(app, teacher.id).await;
        add_member(app, class_id, student.id).await;
        let course_id = course_of(app, teacher.id, "Piles et files", true).await;
        assign_course(app, course_id, class_id).await;
        School {
            teacher,
            student,
            parent,
            admin,
            class_id,
            join_code,
            course_id,
        }
    }

    /// An assessment written by the school's teacher through the API (`body`) and
    /// published to its class: its id.
    pub async fn publish_assessment(&self, app: &TestApp, body: Value) -> i64 {
        let created = app
            .post("/api/assessments", Some(&self.teacher.token), body)
            .await;
        assert_eq!(created.status, StatusCode::CREATED, "{}", created.body);
        let id = created.body["assessment"]["id"].as_i64().expect("id");
        let published = app
            .post(
                &format!("/api/assessments/{id}/publish"),
                Some(&self.teacher.token),
                json!({"classId": self.class_id}),
            )
            .await;
        assert_eq!(published.status, StatusCode::OK, "{}", published.body);
        id
    }

    /// A two-question objective quiz by the school's teacher, published to its class.
    pub async fn quiz(&self, app: &TestApp) -> i64 {
        assessment_of(
            app,
            self.teacher.id,
            objective_questions(),
            Some(self.class_id),
        )
        .await
    }

    /// The same quiz as [`School::quiz`], given to no class yet.
    pub async fn unpublished_quiz(&self, app: &TestApp) -> i64 {
        assessment_of(app, self.teacher.id, objective_questions(), None).await
    }
}

pub async fn class_of(app: &TestApp, teacher_id: i64) -> (i64, String) {
    let code = nexus_auth::tokens::generate_pairing_code();
    let id = sqlx::query_scalar("insert into classes (teacher_id, name, level, school_year, join_code) values ($1, 'Terminale NSI', 'terminale', '2026-2027', $2) returning id")
        .bind(teacher_id)
        .bind(&code)
        .fetch_one(&app.pool)
        .await
        .expect("class");
    (id, code)
}

pub async fn add_member(app: &TestApp, class_id: i64, student_id: i64) {
    sqlx::query("insert into class_members (class_id, student_id) values ($1, $2)")
        .bind(class_id)
        .bind(student_id)
        .execute(&app.pool)
        .await
        .expect("member");
}

pub async fn assign_course(app: &TestApp, course_id: i64, class_id: i64) {
    sqlx::query("insert into course_classes (course_id, class_id) values ($1, $2)")
        .bind(course_id)
        .bind(class_id)
        .execute(&app.pool)
        .await
        .expect("assign");
}

pub async fn course_of(app: &TestApp, teacher_id: i64, title: &str, published: bool) -> i64 {
    sqlx::query_scalar(
        "insert into courses (title, description, level, category, content, created_by, is_published)
         values ($1, 'Un cours', 'terminale', 'structures', $2, $3, $4) returning id",
    )
    .bind(title)
    .bind(course_content())
    .bind(teacher_id)
    .bind(published)
    .fetch_one(&app.pool)
    .await
    .expect("course")
}

/// An assessment by `teacher_id`, published to `class_id` when given (open now, no close).
pub async fn assessment_of(
    app: &TestApp,
    teacher_id: i64,
    questions: Value,
    class_id: Option<i64>,
) -> i64 {
    let max: f64 = questions
        .as_array()
        .expect("questions")
        .iter()
        .map(|q| q["points"].as_f64().expect("points"))
        .sum();
    let id: i64 = sqlx::query_scalar(
        "insert into assessments (title, type, questions, max_score, max_attempts, created_by, is_published)
         values ('Quiz piles', 'quiz', $1, $2, 100, $3, $4) returning id",
    )
    .bind(&questions)
    .bind(max)
    .bind(teacher_id)
    .bind(class_id.is_some())
    .fetch_one(&app.pool)
    .await
    .expect("assessment");
    if let Some(class_id) = class_id {
        sqlx::query("insert into assessment_classes (assessment_id, class_id, opens_at) values ($1, $2, now() - interval '1 minute')")
            .bind(id)
            .bind(class_id)
            .execute(&app.pool)
            .await
            .expect("publish");
    }
    id
}

/// A message by `sender` in the class's conversation (created if need be).
pub async fn class_message(app: &TestApp, class_id: i64, sender: i64, body: &str) {
    let conversation: i64 = sqlx::query_scalar(
        "insert into conversations (kind, class_id, created_by) values ('class', $1, $2)
         on conflict (class_id) do update set class_id = excluded.class_id returning id",
    )
    .bind(class_id)
    .bind(sender)
    .fetch_one(&app.pool)
    .await
    .expect("conversation");
    sqlx::query(
        "insert into messages (conversation_id, sender_id, client_message_id, body) values ($1, $2, $3, $4)",
    )
    .bind(conversation)
    .bind(sender)
    .bind(uuid::Uuid::new_v4().to_string())
    .bind(body)
    .execute(&app.pool)
    .await
    .expect("message");
}

/// An attempt in the given status (answers empty).
pub async fn attempt_of(app: &TestApp, assessment_id: i64, student_id: i64, status: &str) -> i64 {
    sqlx::query_scalar(
        "insert into assessment_results (assessment_id, student_id, attempt_number, status, max_score, submitted_at, breakdown)
         values ($1, $2, coalesce((select max(attempt_number) + 1 from assessment_results where assessment_id = $1 and student_id = $2), 1),
                 $3, 2, case when $3 <> 'in_progress' then now() end, '{}') returning id",
    )
    .bind(assessment_id)
    .bind(student_id)
    .bind(status)
    .fetch_one(&app.pool)
    .await
    .expect("attempt")
}

/// Keys that reveal answers. A student-visible body must contain none of them (the
/// `answer` a student gave is theirs to see and is not in this list).
pub const ANSWER_KEYS: [&str; 5] = [
    "correct",
    "accepted",
    "tolerance",
    "explanation",
    "correctAnswer",
];

pub fn leaked_answer_keys(value: &Value) -> Vec<String> {
    let mut found = Vec::new();
    walk(value, &mut found);
    found
}

fn walk(value: &Value, found: &mut Vec<String>) {
    match value {
        Value::Object(map) => {
            for (key, inner) in map {
                if ANSWER_KEYS.contains(&key.as_str()) {
                    found.push(key.clone());
                }
                walk(inner, found);
            }
        }
        Value::Array(items) => items.iter().for_each(|i| walk(i, found)),
        _ => {}
    }
}
