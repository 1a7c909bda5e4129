//! `nexus-aria` against real Postgres and Redis (and a real llama.cpp server for
//! generation): the index follows the published courses, answers come from them with
//! their sources, sessions are kept per user, the contract's limit applies; the
//! modules below cover streaming, the help policy, budgets and oversight.

mod budget;
mod classes;
mod code_context;
mod consent;
mod oversight;
mod policy;
mod qdrant;
mod retrieval;
mod shutdown;
mod streaming;

use std::time::Duration;

use nexus_aria::{Application, AriaSettings};
use nexus_auth::{JwtKeys, Role};
use reqwest::StatusCode;
use secrecy::ExposeSecret;
use serde_json::{Value, json};

pub struct Aria {
    pub address: String,
    pub pool: sqlx::PgPool,
    pub keys: JwtKeys,
    /// This instance's Redis key prefix.
    pub redis_prefix: String,
}

/// rustls' crypto provider, which every HTTP client of the tests (reqwest) needs:
/// installed by whichever test builds one first (once per process).
pub fn install_tls() {
    let _ = rustls::crypto::ring::default_provider().install_default();
}

pub async fn spawn(limit: u64) -> Aria {
    spawn_with(limit, None).await
}

pub async fn spawn_with(limit: u64, model: Option<nexus_aria::model::ModelSettings>) -> Aria {
    spawn_configured(limit, model, |_| {}).await
}

pub async fn spawn_configured(
    limit: u64,
    model: Option<nexus_aria::model::ModelSettings>,
    configure: impl FnOnce(&mut AriaSettings),
) -> Aria {
    install_tls();
    let mut settings = AriaSettings::from_env().expect("settings");
    let pool = nexus_testkit::isolate(&mut settings.common, "aria").await;
    settings.chat_limit.max = limit;
    settings.sync_interval = Duration::from_millis(200);
    settings.model = model;
    configure(&mut settings);
    let redis_prefix = settings.common.redis_key_prefix.clone();
    let c = &settings.common;
    let keys = JwtKeys::new(
        c.jwt_secret.expose_secret().as_bytes(),
        &c.jwt_audience,
        c.access_token_ttl,
    );
    let app = Application::build(settings).await.expect("build");
    let address = format!("http://127.0.0.1:{}", app.port());
    tokio::spawn(app.run_until_stopped(std::future::pending()));
    Aria {
        address,
        pool,
        keys,
        redis_prefix,
    }
}

impl Aria {
    pub async fn user(&self, role: Role) -> (i64, String) {
        let id: i64 = sqlx::query_scalar("insert into users (email, password_hash, first_name, last_name, role) values ($1, 'x', 'A', 'B', $2) returning id")
            .bind(format!("{}@lycee.fr", uuid::Uuid::new_v4().simple()))
            .bind(role.as_str())
            .fetch_one(&self.pool)
            .await
            .expect("user");
        (id, self.keys.issue_access(id, role))
    }

    pub async fn course(
        &self,
        author: i64,
        title: &str,
        section: &str,
        text: &str,
        published: bool,
    ) -> i64 {
        let content = json!({"chapters": [{"id": "ch1", "title": "Chapitre", "sections": [
            {"id": "ch1-s1", "title": section, "content": text, "examples": [], "exercises": [{"question": "Q", "solution": "SOLUTION SECRÈTE"}]}]}]});
        sqlx::query_scalar("insert into courses (title, level, content, is_published, created_by) values ($1, 'terminale', $2, $3, $4) returning id")
            .bind(title)
            .bind(content)
            .bind(published)
            .bind(author)
            .fetch_one(&self.pool)
            .await
            .expect("course")
    }

    pub async fn chat(&self, token: &str, body: Value) -> (StatusCode, Value) {
        let response = reqwest::Client::new()
            .post(format!("{}/api/aria/chat", self.address))
            .bearer_auth(token)
            .json(&body)
            .send()
            .await
            .expect("chat");
        let status = response.status();
        (status, response.json().await.unwrap_or(Value::Null))
    }

    /// `POST /api/aria/chat` with a question and nothing else (no session, no context).
    pub async fn ask(&self, token: &str, message: &str) -> (StatusCode, Value) {
        self.chat(token, json!({ "message": message })).await
    }

    pub async fn request(
        &self,
        method: reqwest::Method,
        token: &str,
        path: &str,
        body: Option<Value>,
    ) -> (StatusCode, Value) {
        let mut request = reqwest::Client::new()
            .request(method, format!("{}{path}", self.address))
            .bearer_auth(token);
        if let Some(body) = body {
            request = request.json(&body);
        }
        let response = request.send().await.expect("request");
        let status = response.status();
        (status, response.json().await.unwrap_or(Value::Null))
    }

    pub async fn get(&self, token: &str, path: &str) -> (StatusCode, Value) {
        self.request(reqwest::Method::GET, token, path, None).await
    }

    /// A class of `teacher` with these students.
    pub async fn class(&self, teacher: i64, students: &[i64]) -> i64 {
        let class: i64 = sqlx::query_scalar(
            "insert into classes (teacher_id, name, level, school_year, join_code)
             values ($1, 'TNSI', 'terminale', '2026-2027', $2) returning id",
        )
        .bind(teacher)
        .bind(uuid::Uuid::new_v4().simple().to_string())
        .fetch_one(&self.pool)
        .await
        .expect("class");
        for student in students {
            sqlx::query("insert into class_members (class_id, student_id) values ($1, $2)")
                .bind(class)
                .bind(student)
                .execute(&self.pool)
                .await
                .expect("member");
        }
        class
    }

    /// An attempt in progress at a new assessment; returns the assessment's id.
    pub async fn attempt(
        &self,
        teacher: i64,
        student: i64,
        kind: &str,
        title: &str,
        course: Option<i64>,
        questions: Value,
    ) -> i64 {
        let assessment: i64 = sqlx::query_scalar(
            "insert into assessments (title, type, course_id, questions, created_by, is_published)
             values ($1, $2, $3, $4, $5, true) returning id",
        )
        .bind(title)
        .bind(kind)
        .bind(course)
        .bind(questions)
        .bind(teacher)
        .fetch_one(&self.pool)
        .await
        .expect("assessment");
        sqlx::query(
            "insert into assessment_results (assessment_id, student_id, status, deadline_at)
             values ($1, $2, 'in_progress', now() + interval '1 hour')",
        )
        .bind(assessment)
        .bind(student)
        .execute(&self.pool)
        .await
        .expect("attempt");
        assessment
    }

    pub async fn count(&self, sql: &str) -> i64 {
        sqlx::query_scalar(sqlx::AssertSqlSafe(sql.to_owned()))
            .fetch_one(&self.pool)
            .await
            .expect("count")
    }

    /// "Structures linéaires — Les piles" ([`STACKS`]), published and indexed.
    pub async fn stacks_course(&self, teacher: i64) -> i64 {
        let course = self
            .course(teacher, "Structures linéaires", "Les piles", STACKS, true)
            .await;
        self.wait_indexed(course, 1).await;
        course
    }

    /// "Graphes — Parcours en largeur", published and indexed.
    pub async fn graphs_course(&self, teacher: i64) -> i64 {
        let course = self
            .course(
                teacher,
                "Graphes",
                "Parcours en largeur",
                "Le parcours en largeur d'un graphe visite les sommets par distance croissante, avec une file.",
                true,
            )
            .await;
        self.wait_indexed(course, 1).await;
        course
    }

    /// "Représentation des données — Les nombres flottants", a Première course,
    /// published and indexed.
    pub async fn floats_course(&self, teacher: i64) -> i64 {
        let content = json!({"chapters": [{"id": "ch1", "title": "Représentation des données", "sections": [
            {"id": "ch1-s1", "title": "Les nombres flottants",
             "content": "Un nombre flottant représente un réel avec une mantisse et un exposant (norme IEEE 754) : 0,1 + 0,2 n'est pas exactement égal à 0,3.",
             "examples": [], "exercises": []}]}]});
        let id = sqlx::query_scalar(
            "insert into courses (title, level, content, is_published, created_by)
             values ('Représentation des données', 'premiere', $1, true, $2) returning id",
        )
        .bind(content)
        .bind(teacher)
        .fetch_one(&self.pool)
        .await
        .expect("course");
        self.wait_indexed(id, 1).await;
        id
    }

    pub async fn indexed(&self, course: i64) -> i64 {
        sqlx::query_scalar("select count(*) from aria_chunks where course_id = $1")
            .bind(course)
            .fetch_one(&self.pool)
            .await
            .expect("count")
    }

    pub async fn wait_indexed(&self, course: i64, expected: i64) {
        let chunks = format!("select count(*) from aria_chunks where course_id = {course}");
        // 30 s: the sync loop's round may be embedding another course's chunks on rayon's
        // pool, which every test of this process shares with the evaluation set's
        // (10 s was once not enough in a whole workspace run on 2 cores, 2026-12-08).
        self.wait_count(&chunks, expected, Duration::from_secs(30))
            .await;
    }

    /// Asks `sql` (a count) every 100 ms until it answers `expected`; panics after `limit`.
    pub async fn wait_count(&self, sql: &str, expected: i64, limit: Duration) {
        let deadline = tokio::time::Instant::now() + limit;
        loop {
            let count = self.count(sql).await;
            if count == expected {
                return;
            }
            assert!(
                tokio::time::Instant::now() < deadline,
                "`{sql}` never reached {expected} in {limit:?} (last: {count})"
            );
            tokio::time::sleep(Duration::from_millis(100)).await;
        }
    }
}

#[tokio::test]
async fn without_a_model_aria_answers_from_the_relevant_sections_and_says_so() {
    let aria = spawn(100).await;
    let (teacher, _) = aria.user(Role::Teacher).await;
    let stacks = aria.stacks_course(teacher).await;
    aria.graphs_course(teacher).await;
    let (_, student) = aria.user(Role::Student).await;

    let (status, answer) = aria
        .ask(&student, "C'est quoi une pile et comment on dépile ?")
        .await;
    assert_eq!(status, StatusCode::OK, "{answer}");
    assert_eq!(
        answer["sources"][0]["courseId"],
        json!(stacks),
        "the relevant section comes first: {answer}"
    );
    assert_eq!(answer["sources"][0]["sectionTitle"], json!("Les piles"));
    let text = answer["response"].as_str().expect("response");
    assert!(
        text.contains("génération de réponses est désactivée"),
        "it says generation is off: {text}"
    );
    assert!(text.contains("LIFO"), "{text}");
    assert!(
        !text.contains("SOLUTION SECRÈTE"),
        "exercise solutions are not indexed"
    );
    assert!(
        answer["confidence"]
            .as_f64()
            .is_some_and(|c| c > 0.0 && c <= 1.0)
    );
    assert_eq!(answer["metadata"]["model"], json!("extractive"));

    let (_, nothing) = aria.ask(&student, "recette de la tarte aux pommes").await;
    assert_eq!(nothing["confidence"], json!(0.0));
    assert_eq!(nothing["sources"], json!([]));
}

#[tokio::test]
async fn the_index_follows_publication_and_unpublication() {
    let aria = spawn(100).await;
    let (teacher, _) = aria.user(Role::Teacher).await;
    let course = aria
        .course(
            teacher,
            "Récursivité",
            "Fonctions récursives",
            "Une fonction récursive s'appelle elle-même.",
            false,
        )
        .await;
    tokio::time::sleep(Duration::from_millis(500)).await;
    assert_eq!(aria.indexed(course).await, 0, "drafts are not indexed");
    sqlx::query("update courses set is_published = true where id = $1")
        .bind(course)
        .execute(&aria.pool)
        .await
        .expect("publish");
    aria.wait_indexed(course, 1).await;
    sqlx::query("update courses set is_published = false where id = $1")
        .bind(course)
        .execute(&aria.pool)
        .await
        .expect("unpublish");
    aria.wait_indexed(course, 0).await;
}

/// One sync round embeds for a bounded time (here a single batch of 16), so a course
/// unpublished while a large backlog is embedded leaves the index at the next round,
/// not once the whole backlog is done.
#[tokio::test]
async fn an_unpublished_course_leaves_the_index_while_the_backlog_is_embedded() {
    let aria = spawn_configured(100, None, |s| s.embed_round = Duration::ZERO).await;
    let settings = AriaSettings::from_env().expect("settings");
    let retriever = nexus_aria::retriever(&settings, &aria.pool, &reqwest::Client::new());
    assert!(
        retriever.dense(),
        "ARIA_EMBEDDING_MODEL_DIR: scripts/test.sh installs the embedding model"
    );
    let started = std::time::Instant::now();
    retrieval::seed_curriculum(&aria).await;
    let unembedded = "select count(*) from aria_chunks where embedding is null";
    // Generous waits: in a debug build one batch of 16 passages takes ~60 s on 2 cores
    // (more in the full suite), and the sync may index the courses in two rounds with a
    // batch between them.
    let patience = Duration::from_secs(600);
    aria.wait_count("select count(*) from aria_chunks", 96, patience)
        .await;
    let backlog = aria.count(unembedded).await;
    eprintln!(
        "96 chunks after {:?}, {backlog} to embed",
        started.elapsed()
    );
    assert!(
        backlog > 32,
        "the curriculum's 96 chunks wait to be embedded ({backlog} left)"
    );
    let course: i64 = sqlx::query_scalar(
        "update courses set is_published = false
         where id = (select min(id) from courses) returning id",
    )
    .fetch_one(&aria.pool)
    .await
    .expect("unpublish");
    // However slow the embedding on a busy machine: the removal comes first.
    let chunks = format!("select count(*) from aria_chunks where course_id = {course}");
    aria.wait_count(&chunks, 0, patience).await;
    let left = aria.count(unembedded).await;
    eprintln!(
        "unpublished after {:?}, {left} still to embed",
        started.elapsed()
    );
    assert!(
        left > 0,
        "the course left the index only once the backlog was done"
    );
}

#[tokio::test]
async fn sessions_keep_both_sides_of_the_conversation_for_their_owner_only() {
    let aria = spawn(100).await;
    let (_, student) = aria.user(Role::Student).await;
    let (_, other) = aria.user(Role::Student).await;
    let (_, first) = aria.ask(&student, "Qu'est-ce qu'un graphe ?").await;
    let session = first["sessionId"].as_str().expect("session").to_owned();
    let (_, second) = aria
        .chat(
            &student,
            json!({"sessionId": session, "message": "Et un arbre ?"}),
        )
        .await;
    assert_eq!(second["sessionId"], json!(session));

    let client = reqwest::Client::new();
    let messages: Value = client
        .get(format!("{}/api/aria/sessions/{session}", aria.address))
        .bearer_auth(&student)
        .send()
        .await
        .expect("get")
        .json()
        .await
        .expect("json");
    let kinds: Vec<&str> = messages["messages"]
        .as_array()
        .expect("messages")
        .iter()
        .map(|m| m["messageType"].as_str().expect("type"))
        .collect();
    assert_eq!(kinds, ["user", "assistant", "user", "assistant"]);
    let foreign = client
        .get(format!("{}/api/aria/sessions/{session}", aria.address))
        .bearer_auth(&other)
        .send()
        .await
        .expect("get");
    assert_eq!(foreign.status(), StatusCode::NOT_FOUND);
    let (status, _) = aria
        .chat(
            &other,
            json!({"sessionId": session, "message": "intrusion"}),
        )
        .await;
    assert_eq!(status, StatusCode::NOT_FOUND);
    let deleted = client
        .delete(format!("{}/api/aria/sessions/{session}", aria.address))
        .bearer_auth(&student)
        .send()
        .await
        .expect("delete");
    assert_eq!(deleted.status(), StatusCode::OK);
    let list: Value = client
        .get(format!("{}/api/aria/sessions", aria.address))
        .bearer_auth(&student)
        .send()
        .await
        .expect("list")
        .json()
        .await
        .expect("json");
    assert_eq!(list["sessions"], json!([]));
}

#[tokio::test]
async fn roles_limits_and_bad_input() {
    let aria = spawn(3).await;
    let (_, parent) = aria.user(Role::Parent).await;
    let (_, student) = aria.user(Role::Student).await;
    let (_, teacher) = aria.user(Role::Teacher).await;
    assert_eq!(aria.ask(&parent, "Bonjour").await.0, StatusCode::FORBIDDEN);
    assert_eq!(aria.ask(&teacher, "Bonjour").await.0, StatusCode::OK);
    let anonymous = reqwest::Client::new()
        .post(format!("{}/api/aria/chat", aria.address))
        .json(&json!({"message": "x"}))
        .send()
        .await
        .expect("send");
    assert_eq!(anonymous.status(), StatusCode::UNAUTHORIZED);
    let (status, body) = aria.ask(&student, "   ").await;
    assert_eq!(status, StatusCode::UNPROCESSABLE_ENTITY, "{body}");
    assert_eq!(
        aria.ask(&student, "'); drop table aria_chunks; --").await.0,
        StatusCode::OK
    );
    assert_eq!(aria.ask(&student, "Bonjour").await.0, StatusCode::OK);
    let (status, body) = aria.ask(&student, "Encore").await;
    assert_eq!(
        status,
        StatusCode::TOO_MANY_REQUESTS,
        "the 4th message in a minute with a limit of 3: {body}"
    );
    assert!(body["error"].as_str().is_some_and(|m| m.contains("ARIA")));
}

/// A local stand-in for a provider's API (faults, moderation): its base URL, `…/v1`.
pub async fn stand_in(app: axum::Router) -> String {
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0")
        .await
        .expect("bind");
    let port = listener.local_addr().expect("addr").port();
    tokio::spawn(async move { axum::serve(listener, app).await });
    format!("http://127.0.0.1:{port}/v1")
}

/// The lesson text of [`Aria::stacks_course`].
pub const STACKS: &str =
    "Une pile est une structure LIFO : le dernier élément empilé est le premier dépilé.";

/// The real OpenAI-compatible server (llama.cpp's, with a small model) that
/// scripts/test.sh starts and exports.
pub fn real_model() -> nexus_aria::model::ModelSettings {
    let url = std::env::var("ARIA_TEST_MODEL_URL")
        .expect("ARIA_TEST_MODEL_URL: scripts/test.sh starts a llama.cpp server");
    let model = std::env::var("ARIA_TEST_MODEL").unwrap_or_else(|_| "smollm2".into());
    model_at(url, &model, Duration::from_secs(60))
}

pub fn model_at(
    base_url: String,
    model: &str,
    timeout: Duration,
) -> nexus_aria::model::ModelSettings {
    nexus_aria::model::ModelSettings {
        base_url,
        api_key: None,
        model: model.to_owned(),
        temperature: 0.2,
        max_tokens: 96,
        timeout,
        retries: 2,
    }
}

/// A stand-in chat-completions endpoint that counts its calls and answers each with what
/// `answer` returns. Returns its base URL and the number of calls it received.
pub async fn counted_provider<F, Fut, R>(
    answer: F,
) -> (String, std::sync::Arc<std::sync::atomic::AtomicUsize>)
where
    F: Fn() -> Fut + Clone + Send + Sync + 'static,
    Fut: std::future::Future<Output = R> + Send + 'static,
    R: axum::response::IntoResponse + 'static,
{
    let calls = std::sync::Arc::new(std::sync::atomic::AtomicUsize::new(0));
    let counter = calls.clone();
    let app = axum::Router::new().route(
        "/v1/chat/completions",
        axum::routing::post(move || {
            let (counter, answer) = (counter.clone(), answer.clone());
            async move {
                counter.fetch_add(1, std::sync::atomic::Ordering::SeqCst);
                answer().await
            }
        }),
    );
    (stand_in(app).await, calls)
}

/// A stand-in for the provider that only injects faults: every call answers `status`
/// after `delay`. Returns its base URL and the number of calls it received.
pub async fn faulty_provider(
    status: u16,
    delay: Duration,
) -> (String, std::sync::Arc<std::sync::atomic::AtomicUsize>) {
    counted_provider(move || async move {
        tokio::time::sleep(delay).await;
        (
            axum::http::StatusCode::from_u16(status).expect("status"),
            axum::Json(json!({"error": {"message": "injected"}})),
        )
    })
    .await
}

#[tokio::test]
async fn when_the_model_fails_aria_retries_then_answers_from_the_courses_and_loses_nothing() {
    for (what, status, delay, expected_calls) in [
        ("server errors", 500, Duration::ZERO, 3),
        ("rate limited", 429, Duration::ZERO, 3),
        ("timeouts", 200, Duration::from_secs(3), 3),
        ("a refused request", 400, Duration::ZERO, 1),
    ] {
        let (url, calls) = faulty_provider(status, delay).await;
        let aria = spawn_with(
            100,
            Some(model_at(url, "gpt-test", Duration::from_millis(500))),
        )
        .await;
        let (teacher, _) = aria.user(Role::Teacher).await;
        let course = aria
            .course(
                teacher,
                "Piles",
                "Les piles",
                "Une pile est une structure LIFO.",
                true,
            )
            .await;
        aria.wait_indexed(course, 1).await;
        let (_, student) = aria.user(Role::Student).await;
        let (status_code, answer) = aria.ask(&student, "Qu'est-ce qu'une pile ?").await;
        assert_eq!(status_code, StatusCode::OK, "{what}: {answer}");
        assert_eq!(
            answer["metadata"]["generation"],
            json!("fallback"),
            "{what}"
        );
        let text = answer["response"].as_str().expect("text");
        assert!(
            text.contains("momentanément indisponible") && text.contains("LIFO"),
            "{what}: {text}"
        );
        assert_eq!(
            calls.load(std::sync::atomic::Ordering::SeqCst),
            expected_calls,
            "{what}: retries"
        );
        let stored: i64 = sqlx::query_scalar("select count(*) from aria_messages")
            .fetch_one(&aria.pool)
            .await
            .expect("count");
        assert_eq!(stored, 2, "{what}: the question and the answer are kept");
    }
}

/// A real OpenAI-compatible server (llama.cpp's, with a small model) started by
/// scripts/test.sh, which exports its address.
#[tokio::test]
async fn with_a_model_aria_generates_an_answer_grounded_in_the_retrieved_sections() {
    let model = real_model();
    let name = model.model.clone();
    let aria = spawn_with(100, Some(model)).await;
    let (teacher, _) = aria.user(Role::Teacher).await;
    aria.stacks_course(teacher).await;
    let (_, student) = aria.user(Role::Student).await;
    let (status, answer) = aria.ask(&student, "Qu'est-ce qu'une pile ?").await;
    assert_eq!(status, StatusCode::OK, "{answer}");
    assert_eq!(
        answer["metadata"]["generation"],
        json!("enabled"),
        "{answer}"
    );
    assert_eq!(answer["metadata"]["model"], json!(name));
    assert!(
        answer["metadata"]["tokensUsed"]
            .as_u64()
            .is_some_and(|t| t > 0)
    );
    let text = answer["response"].as_str().expect("text");
    assert!(!text.is_empty() && !text.contains("désactivée"), "{text}");
    assert_eq!(
        answer["sources"][0]["sectionTitle"],
        json!("Les piles"),
        "the sources are the retrieved sections"
    );
    let session = answer["sessionId"].as_str().expect("session");
    let (_, follow_up) = aria
        .chat(
            &student,
            json!({"sessionId": session, "message": "Et une file ?"}),
        )
        .await;
    assert_eq!(follow_up["metadata"]["generation"], json!("enabled"));
}

#[tokio::test]
async fn race_07_parallel_questions_each_get_their_answer_linked() {
    let aria = spawn(100).await;
    let (_, student) = aria.user(Role::Student).await;
    let (_, first) = aria.ask(&student, "Qu'est-ce qu'un graphe ?").await;
    let session = first["sessionId"].as_str().expect("session").to_owned();

    let questions: Vec<String> = (1..=5)
        .map(|n| format!("Question numéro {n} : qu'est-ce qu'un arbre ?"))
        .collect();
    let barrier = std::sync::Arc::new(tokio::sync::Barrier::new(questions.len()));
    let answers = futures::future::join_all(questions.iter().map(|question| {
        let (barrier, aria, student, session) = (barrier.clone(), &aria, &student, &session);
        async move {
            barrier.wait().await;
            aria.chat(student, json!({"sessionId": session, "message": question}))
                .await
        }
    }))
    .await;

    let (_, transcript) = aria
        .get(&student, &format!("/api/aria/sessions/{session}"))
        .await;
    let messages = transcript["messages"].as_array().expect("messages");
    assert_eq!(messages.len(), 12, "{transcript}");
    let by_id = |id: &Value| {
        messages
            .iter()
            .find(|m| &m["id"] == id)
            .unwrap_or_else(|| panic!("message {id} in {transcript}"))
    };
    for (question, (status, answer)) in questions.iter().zip(&answers) {
        assert_eq!(*status, StatusCode::OK, "{answer}");
        let stored = by_id(&answer["metadata"]["messageId"]);
        assert_eq!(stored["messageType"], json!("assistant"));
        let asked = by_id(&stored["replyTo"]);
        assert_eq!(asked["messageType"], json!("user"));
        assert_eq!(asked["content"], json!(question), "{stored}");
        assert_eq!(answer["metadata"]["replyTo"], stored["replyTo"]);
    }
    // Every answer of the session names its question, and no question has two answers.
    let mut answered: Vec<&Value> = messages
        .iter()
        .filter(|m| m["messageType"] == json!("assistant"))
        .map(|m| &m["replyTo"])
        .collect();
    assert!(answered.iter().all(|id| id.is_i64()), "{transcript}");
    answered.sort_by_key(|id| id.as_i64());
    answered.dedup();
    assert_eq!(answered.len(), 6);
    assert!(
        messages
            .iter()
            .filter(|m| m["messageType"] == json!("user"))
            .all(|m| m["replyTo"].is_null())
    );
}

/// The seed's client: it picks the session id itself over REST (created on first use,
/// as over the websocket), reads `success`, and names the course by id or slug.
#[tokio::test]
async fn the_rest_contract_takes_a_chosen_session_id_and_a_course_slug() {
    let aria = spawn(100).await;
    let (teacher, _) = aria.user(Role::Teacher).await;
    let stacks = aria.stacks_course(teacher).await;
    let graphs = aria.graphs_course(teacher).await;
    let (_, student) = aria.user(Role::Student).await;
    let (_, other) = aria.user(Role::Student).await;
    let chosen = format!("web-{}", uuid::Uuid::new_v4().simple());
    let (status, first) = aria
        .chat(
            &student,
            json!({"sessionId": chosen, "message": "Qu'est-ce qu'une pile ?"}),
        )
        .await;
    assert_eq!(status, StatusCode::OK, "{first}");
    assert_eq!(first["success"], json!(true));
    assert_eq!(
        first["sessionId"],
        json!(chosen),
        "created under the chosen id"
    );
    let (_, second) = aria
        .chat(
            &student,
            json!({"sessionId": chosen, "message": "Et une file ?"}),
        )
        .await;
    assert_eq!(second["sessionId"], json!(chosen));
    assert_eq!(
        aria.count(&format!(
            "select count(*) from aria_messages where session_id = '{chosen}'"
        ))
        .await,
        4
    );
    let (status, _) = aria
        .chat(&other, json!({"sessionId": chosen, "message": "intrusion"}))
        .await;
    assert_eq!(
        status,
        StatusCode::NOT_FOUND,
        "someone else's id stays theirs"
    );
    let (status, _) = aria
        .chat(&student, json!({"sessionId": "x y", "message": "Bonjour"}))
        .await;
    assert_eq!(status, StatusCode::NOT_FOUND, "an id that is not one");

    // The course being read: by slug or id, its passages only.
    // Every word of it is in one course or the other (with multilingual-e5-small the
    // stacks passage is not similar enough to pass the floor on its own).
    let question = "Une pile ou une file pour le parcours en largeur ?";
    for (course, expected) in [
        (json!("structures-lineaires"), stacks),
        (json!("Graphes"), graphs),
        (json!(graphs), graphs),
        (json!(graphs.to_string()), graphs),
    ] {
        let (status, answer) = aria
            .chat(
                &student,
                json!({"message": question, "context": {"currentCourse": course}}),
            )
            .await;
        assert_eq!(status, StatusCode::OK, "{answer}");
        let sources = answer["sources"].as_array().expect("sources");
        assert!(!sources.is_empty(), "{course}: {answer}");
        assert!(
            sources.iter().all(|s| s["courseId"] == json!(expected)),
            "{course}: {answer}"
        );
    }
    let (status, answer) = aria
        .chat(
            &student,
            json!({"message": question, "context": {"currentCourse": "cours-inconnu"}}),
        )
        .await;
    assert_eq!(
        status,
        StatusCode::OK,
        "an unknown course only does not narrow: {answer}"
    );
    assert_eq!(
        answer["sources"].as_array().map(Vec::len),
        Some(2),
        "{answer}"
    );
}

/// Terminale builds on Première: a Terminale student finds Première courses (after
/// Terminale's at equal relevance); a Première student gets a Terminale passage only
/// when nothing of Première answers, marked by its level.
#[tokio::test]
async fn levels_terminale_finds_premiere_and_premiere_falls_back_to_terminale_marked() {
    let aria = spawn(100).await;
    let (teacher, _) = aria.user(Role::Teacher).await;
    let stacks = aria.stacks_course(teacher).await;
    let floats = aria.floats_course(teacher).await;
    let (_, student) = aria.user(Role::Student).await;
    let ask = |level: &'static str, message: &'static str| {
        let (aria, student) = (&aria, &student);
        async move {
            let (status, answer) = aria
                .chat(
                    student,
                    json!({"message": message, "context": {"userLevel": level}}),
                )
                .await;
            assert_eq!(status, StatusCode::OK, "{answer}");
            answer["sources"].as_array().cloned().unwrap_or_default()
        }
    };
    let floats_question = "Pourquoi 0,1 + 0,2 ne fait pas 0,3 avec les nombres flottants ?";
    let sources = ask("terminale", floats_question).await;
    assert_eq!(sources[0]["courseId"], json!(floats), "{sources:?}");
    assert_eq!(
        sources[0]["level"],
        json!("premiere"),
        "marked: {sources:?}"
    );
    let sources = ask("premiere", floats_question).await;
    assert_eq!(sources[0]["courseId"], json!(floats), "{sources:?}");
    // A Première student asking about a Terminale notion: the Terminale passage, marked.
    let sources = ask("premiere", "Qu'est-ce qu'une pile LIFO ?").await;
    assert_eq!(sources[0]["courseId"], json!(stacks), "{sources:?}");
    assert_eq!(sources[0]["level"], json!("terminale"), "{sources:?}");
    // A Terminale student: their level first.
    let sources = ask("terminale", "Qu'est-ce qu'une pile LIFO ?").await;
    assert_eq!(sources[0]["courseId"], json!(stacks), "{sources:?}");
    assert_eq!(sources[0]["level"], json!("terminale"));
}
