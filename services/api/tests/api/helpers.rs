use std::{path::PathBuf, sync::OnceLock};

use nexus_api::{Application, settings::ApiSettings};
use nexus_auth::Role;
use nexus_config::ConnectionUrl;
use reqwest::{Method, StatusCode};
use serde_json::{Value, json};
use sqlx::PgPool;

pub const PASSWORD: &str = "Tr0mpette-Bleue";

pub struct TestApp {
    pub address: String,
    pub pool: PgPool,
    /// The process's state: its caches, for the tests of their invalidation.
    pub state: nexus_api::state::AppState,
    pub settings: ApiSettings,
    pub client: reqwest::Client,
    pub mailbox: PathBuf,
}

pub struct Answer {
    pub status: StatusCode,
    pub headers: reqwest::header::HeaderMap,
    pub body: Value,
}

impl Answer {
    /// The contract's error body, checked, and its code.
    pub fn error_code(&self) -> &str {
        assert_eq!(
            self.body["success"],
            json!(false),
            "error body: {}",
            self.body
        );
        assert!(
            self.body["error"].as_str().is_some_and(|m| !m.is_empty()),
            "message: {}",
            self.body
        );
        self.body["code"].as_str().expect("code")
    }
}

#[derive(Clone, Debug)]
pub struct TestUser {
    pub id: i64,
    pub email: String,
    pub token: String,
    pub refresh_token: String,
}

/// Settings for a fresh app: its own database and Redis prefix, port 0, a temp mailbox.
pub async fn test_settings() -> ApiSettings {
    static INIT: OnceLock<()> = OnceLock::new();
    INIT.get_or_init(|| {
        let _ = rustls::crypto::ring::default_provider().install_default();
    });
    let mut settings = ApiSettings::from_env().expect("settings");
    let id = uuid::Uuid::new_v4().simple().to_string();
    settings.common.database_url = ConnectionUrl::new(nexus_testkit::fresh_database("test").await);
    settings.common.database_max_connections = 5;
    settings.common.port = 0;
    settings.common.bind_addr = "127.0.0.1".parse().expect("ip");
    settings.common.redis_key_prefix = format!("test:{id}:");
    settings.common.environment = nexus_config::Environment::Test;
    settings.mail.smtp_url = None;
    settings.mail.mailbox_dir = std::env::temp_dir().join(format!("nexus-mailbox-{id}"));
    settings.migrate_on_start = true;
    settings
}

pub async fn spawn_app() -> TestApp {
    spawn_app_with(test_settings().await).await
}

/// Starts an API with these settings; a second call with the same settings is a second
/// replica sharing the database and Redis.
pub async fn spawn_app_with(settings: ApiSettings) -> TestApp {
    let app = Application::build(settings.clone())
        .await
        .expect("build app");
    let address = format!("http://127.0.0.1:{}", app.port());
    let pool = app.state().pool.clone();
    let state = app.state().clone();
    tokio::spawn(app.run_until_stopped(std::future::pending()));
    TestApp {
        address,
        pool,
        state,
        mailbox: settings.mail.mailbox_dir.clone(),
        settings,
        client: reqwest::Client::builder()
            .redirect(reqwest::redirect::Policy::none())
            .build()
            .expect("client"),
    }
}

impl TestApp {
    pub async fn request(
        &self,
        method: Method,
        path: &str,
        token: Option<&str>,
        body: Option<Value>,
    ) -> Answer {
        self.send(
            self.client
                .request(method, format!("{}{}", self.address, path)),
            token,
            body,
        )
        .await
    }

    /// A GET that asks for a value read now, not a cached one (`Cache-Control: no-cache`).
    pub async fn get_fresh(&self, path: &str, token: Option<&str>) -> Answer {
        let request = (self.client.get(format!("{}{}", self.address, path)))
            .header("cache-control", "no-cache");
        self.send(request, token, None).await
    }

    async fn send(
        &self,
        mut request: reqwest::RequestBuilder,
        token: Option<&str>,
        body: Option<Value>,
    ) -> Answer {
        if let Some(token) = token {
            request = request.bearer_auth(token);
        }
        if let Some(body) = body {
            request = request.json(&body);
        }
        let response = request.send().await.expect("request sent");
        read(response).await
    }

    pub async fn get(&self, path: &str, token: Option<&str>) -> Answer {
        self.request(Method::GET, path, token, None).await
    }

    pub async fn post(&self, path: &str, token: Option<&str>, body: Value) -> Answer {
        self.request(Method::POST, path, token, Some(body)).await
    }

    pub async fn patch(&self, path: &str, token: Option<&str>, body: Value) -> Answer {
        self.request(Method::PATCH, path, token, Some(body)).await
    }

    pub async fn put(&self, path: &str, token: Option<&str>, body: Value) -> Answer {
        self.request(Method::PUT, path, token, Some(body)).await
    }

    pub async fn delete(&self, path: &str, token: Option<&str>) -> Answer {
        self.request(Method::DELETE, path, token, None).await
    }

    /// `POST /api/assessments/{assessment}/attempts`: start an attempt (or resume the
    /// one in progress).
    pub async fn start_attempt(&self, assessment: impl std::fmt::Display, token: &str) -> Answer {
        let path = format!("/api/assessments/{assessment}/attempts");
        self.post(&path, Some(token), serde_json::json!({})).await
    }

    /// `POST /api/attempts/{attempt}/submit` with `body` (`{"answers": …}`).
    pub async fn submit(
        &self,
        attempt: impl std::fmt::Display,
        token: &str,
        body: Value,
    ) -> Answer {
        let path = format!("/api/attempts/{attempt}/submit");
        self.post(&path, Some(token), body).await
    }

    pub async fn raw(
        &self,
        method: Method,
        path: &str,
        content_type: &str,
        body: impl Into<reqwest::Body>,
    ) -> Answer {
        let response = self
            .client
            .request(method, format!("{}{}", self.address, path))
            .header("content-type", content_type)
            .body(body)
            .send()
            .await
            .expect("request sent");
        read(response).await
    }

    /// `POST /api/courses` with `body`, which must be accepted: the new draft's id.
    pub async fn write_course(&self, token: &str, body: Value) -> i64 {
        let created = self.post("/api/courses", Some(token), body).await;
        assert_eq!(created.status, StatusCode::CREATED, "{}", created.body);
        created.body["course"]["id"].as_i64().expect("course id")
    }

    /// `POST /api/courses/{course}/publish`, which must be accepted.
    pub async fn publish_course(&self, token: &str, course: i64) {
        let path = format!("/api/courses/{course}/publish");
        let published = self.post(&path, Some(token), json!({})).await;
        assert_eq!(published.status, StatusCode::OK, "{}", published.body);
    }

    /// `POST /api/me/class-invitations/{invitation}/{answer}` (`accept` or `decline`).
    pub async fn answer_invitation(&self, token: &str, invitation: i64, answer: &str) -> Answer {
        let path = format!("/api/me/class-invitations/{invitation}/{answer}");
        self.post(&path, Some(token), json!({})).await
    }

    /// `POST /api/auth/refresh`: a new pair of tokens for `refresh_token`.
    pub async fn refresh(&self, refresh_token: &str) -> Answer {
        self.post(
            "/api/auth/refresh",
            None,
            json!({ "refreshToken": refresh_token }),
        )
        .await
    }

    /// `POST /api/auth/password-reset/request`: ask for a reset mail to `email`.
    pub async fn request_reset(&self, email: &str) -> Answer {
        self.post(
            "/api/auth/password-reset/request",
            None,
            json!({ "email": email }),
        )
        .await
    }

    /// `POST /api/auth/password-reset/confirm`: set `new_password` with a mailed token.
    pub async fn confirm_reset(&self, token: &str, new_password: &str) -> Answer {
        self.post(
            "/api/auth/password-reset/confirm",
            None,
            json!({ "token": token, "newPassword": new_password }),
        )
        .await
    }

    pub async fn login(&self, email: &str, password: &str) -> Answer {
        self.post(
            "/api/auth/login",
            None,
            json!({ "email": email, "password": password }),
        )
        .await
    }

    /// A user of `role` stored directly (the API only lets admins create staff), then
    /// signed in through the API.
    pub async fn user(&self, role: Role) -> TestUser {
        let email = format!(
            "{}-{}@lycee.fr",
            role.as_str(),
            &uuid::Uuid::new_v4().simple().to_string()[..12]
        );
        let id: i64 = sqlx::query_scalar(
            "insert into users (email, password_hash, first_name, last_name, role) values ($1, $2, 'Camille', 'Durand', $3) returning id",
        )
        .bind(&email)
        .bind(password_hash().await)
        .bind(role.as_str())
        .fetch_one(&self.pool)
        .await
        .expect("insert user");
        if role == Role::Student {
            sqlx::query(
                "insert into student_profiles (user_id, class_level) values ($1, 'premiere')",
            )
            .bind(id)
            .execute(&self.pool)
            .await
            .expect("insert profile");
        }
        let answer = self.login(&email, PASSWORD).await;
        assert_eq!(answer.status, StatusCode::OK, "{}", answer.body);
        TestUser {
            id,
            email,

            token: answer.body["accessToken"]
                .as_str()
                .expect("token")
                .to_owned(),
            refresh_token: answer.body["refreshToken"]
                .as_str()
                .expect("refresh")
                .to_owned(),
        }
    }

    /// The text of the mails in the dev mailbox, oldest first.
    pub async fn mails(&self) -> Vec<String> {
        let Ok(mut dir) = tokio::fs::read_dir(&self.mailbox).await else {
            return Vec::new();
        };
        let mut names = Vec::new();
        while let Some(entry) = dir.next_entry().await.expect("read mailbox") {
            names.push(entry.path());
        }
        names.sort();
        let mut mails = Vec::new();
        for name in names {
            mails.push(tokio::fs::read_to_string(name).await.expect("read mail"));
        }
        mails
    }
}

/// One argon2 hash of PASSWORD for every stored test user (hashing is the slow part).
async fn password_hash() -> String {
    static HASH: tokio::sync::OnceCell<String> = tokio::sync::OnceCell::const_new();
    HASH.get_or_init(|| async {
        nexus_auth::password::hash(PASSWORD.to_owned())
            .await
            .expect("hash")
    })
    .await
    .clone()
}

async fn read(response: reqwest::Response) -> Answer {
    let status = response.status();
    let headers = response.headers().clone();
    let text = response.text().await.expect("body");
    let body = if text.is_empty() {
        Value::Null
    } else {
        serde_json::from_str(&text).unwrap_or(Value::String(text))
    };
    Answer {
        status,
        headers,
        body,
    }
}

/// Polls until `check` holds (background work such as sending a mail), or panics.
pub async fn eventually<F, Fut, T>(what: &str, mut check: F) -> T
where
    F: FnMut() -> Fut,
    Fut: std::future::Future<Output = Option<T>>,
{
    for _ in 0..100 {
        if let Some(value) = check().await {
            return value;
        }
        tokio::time::sleep(std::time::Duration::from_millis(50)).await;
    }
    panic!("timed out waiting for {what}");
}

/// The reset code of a mail: the first non-empty line after the one that announces it.
pub fn reset_token_in(mail: &str) -> String {
    mail.lines()
        .skip_while(|l| !l.starts_with("Code de r"))
        .skip(1)
        .map(str::trim)
        .find(|l| !l.is_empty())
        .map(str::to_owned)
        .unwrap_or_else(|| panic!("no reset code in mail:\n{mail}"))
}
