//! Malformed and hostile input: always a 4xx with the contract's error body, never a 5xx,
//! never an internal detail.

use nexus_auth::Role;
use reqwest::{Method, StatusCode};
use serde_json::json;

use crate::helpers::{Answer, PASSWORD, spawn_app};

/// Things an error body must never show.
const LEAKS: [&str; 9] = [
    "sqlx", "postgres", "panicked", "/work/", "src/", "select ", "SELECT", "stack", "nexus_",
];

fn assert_clean_client_error(what: &str, answer: &Answer, status: StatusCode, code: &str) {
    assert_eq!(answer.status, status, "{what}: {}", answer.body);
    assert_eq!(answer.error_code(), code, "{what}");
    let text = answer.body.to_string();
    for leak in LEAKS {
        assert!(!text.contains(leak), "{what} leaks {leak:?}: {text}");
    }
}

#[tokio::test]
async fn malformed_json_wrong_types_and_missing_fields_are_told_apart() {
    let app = spawn_app().await;
    let post =
        |body: &'static str| app.raw(Method::POST, "/api/auth/register", "application/json", body);
    assert_clean_client_error(
        "malformed",
        &post("{\"email\": ").await,
        StatusCode::BAD_REQUEST,
        "malformed_json",
    );
    assert_clean_client_error(
        "not json",
        &post("email=a@b.fr").await,
        StatusCode::BAD_REQUEST,
        "malformed_json",
    );
    assert_clean_client_error(
        "array",
        &post("[1,2]").await,
        StatusCode::UNPROCESSABLE_ENTITY,
        "invalid_fields",
    );
    assert_clean_client_error(
        "wrong type",
        &post(r#"{"email": 42, "password": true, "firstName": [], "lastName": {}, "role": "student"}"#).await,
        StatusCode::UNPROCESSABLE_ENTITY,
        "invalid_fields",
    );
    assert_clean_client_error(
        "missing fields",
        &post(r#"{"email": "a@b.fr"}"#).await,
        StatusCode::UNPROCESSABLE_ENTITY,
        "invalid_fields",
    );
    assert_clean_client_error(
        "unknown role",
        &post(r#"{"email": "a@b.fr", "password": "x", "firstName": "a", "lastName": "b", "role": "root"}"#).await,
        StatusCode::UNPROCESSABLE_ENTITY,
        "invalid_fields",
    );
    let no_type = app
        .raw(
            Method::POST,
            "/api/auth/login",
            "text/plain",
            r#"{"email":"a@b.fr","password":"x"}"#,
        )
        .await;
    assert_clean_client_error(
        "text/plain",
        &no_type,
        StatusCode::UNSUPPORTED_MEDIA_TYPE,
        "unsupported_media_type",
    );
}

#[tokio::test]
async fn a_ten_megabyte_body_is_refused_with_413() {
    let app = spawn_app().await;
    let huge = format!(
        r#"{{"email": "a@b.fr", "password": "{}"}}"#,
        "x".repeat(10 * 1024 * 1024)
    );
    let answer = app
        .raw(Method::POST, "/api/auth/login", "application/json", huge)
        .await;
    assert_clean_client_error(
        "10 MB",
        &answer,
        StatusCode::PAYLOAD_TOO_LARGE,
        "payload_too_large",
    );
}

#[tokio::test]
async fn sql_looking_input_is_only_data() {
    let app = spawn_app().await;
    let admin = app.user(Role::Admin).await;
    let injections = [
        "' or '1'='1",
        "admin'--",
        "'; drop table users; --",
        "\" or 1=1 --",
        "1); delete from users where (1=1",
    ];
    for injection in injections {
        let login = app.login(&format!("{injection}@lycee.fr"), injection).await;
        assert_clean_client_error(
            injection,
            &login,
            StatusCode::UNAUTHORIZED,
            "invalid_credentials",
        );
        let search = app
            .get(
                &format!("/api/users?q={}", urlencode(injection)),
                Some(&admin.token),
            )
            .await;
        assert_eq!(search.status, StatusCode::OK, "{injection}");
        assert_eq!(search.body["pagination"]["total"], json!(0), "{injection}");
    }
    let body = json!({"email": "bobby@lycee.fr", "password": PASSWORD, "firstName": "Robert'); DROP TABLE users;--", "lastName": "Tables", "role": "parent"});
    assert_eq!(
        app.post("/api/auth/register", None, body).await.status,
        StatusCode::CREATED
    );
    let name: String =
        sqlx::query_scalar("select first_name from users where email = 'bobby@lycee.fr'")
            .fetch_one(&app.pool)
            .await
            .expect("stored literally");
    assert_eq!(name, "Robert'); DROP TABLE users;--");
}

fn urlencode(raw: &str) -> String {
    url::form_urlencoded::byte_serialize(raw.as_bytes()).collect()
}

#[tokio::test]
async fn unicode_edge_cases_are_stored_or_refused_cleanly() {
    let app = spawn_app().await;
    let accepted = [
        "Zoë 🚀",
        "Ἀθηνᾶ",
        "ناصر",
        "e\u{301}lodie",
        "\u{202e}kcirtaP",
        "名前",
    ];
    for (n, name) in accepted.iter().enumerate() {
        let body = json!({"email": format!("u{n}@lycee.fr"), "password": PASSWORD, "firstName": name, "lastName": "Test", "role": "parent"});
        let answer = app.post("/api/auth/register", None, body).await;
        assert_eq!(
            answer.status,
            StatusCode::CREATED,
            "{name:?}: {}",
            answer.body
        );
    }
    let refused = [
        ("nul", "Jean\u{0}ne"),
        ("control", "a\u{7}b"),
        ("too long", &"é".repeat(101)),
        ("blank", "   "),
    ];
    for (what, name) in refused {
        let body = json!({"email": "x@lycee.fr", "password": PASSWORD, "firstName": name, "lastName": "Test", "role": "parent"});
        let answer = app.post("/api/auth/register", None, body).await;
        assert_eq!(
            answer.status,
            StatusCode::UNPROCESSABLE_ENTITY,
            "{what}: {}",
            answer.body
        );
        answer.error_code();
    }
    let nul_login = app.login("a\u{0}@lycee.fr", "x\u{0}").await;
    assert_clean_client_error(
        "NUL in login",
        &nul_login,
        StatusCode::UNPROCESSABLE_ENTITY,
        "invalid_characters",
    );
    let admin = app.user(Role::Admin).await;
    let nul_query = app.get("/api/users?q=a%00b", Some(&admin.token)).await;
    assert_clean_client_error(
        "NUL in query",
        &nul_query,
        StatusCode::UNPROCESSABLE_ENTITY,
        "invalid_characters",
    );
    let emoji_search = app
        .get("/api/users?q=%F0%9F%9A%80", Some(&admin.token))
        .await;
    assert_eq!(emoji_search.status, StatusCode::OK);
    let overlong = app
        .login(&format!("{}@lycee.fr", "a".repeat(5000)), &"p".repeat(5000))
        .await;
    assert_clean_client_error(
        "overlong login",
        &overlong,
        StatusCode::UNAUTHORIZED,
        "invalid_credentials",
    );
}

#[tokio::test]
async fn bad_paths_queries_and_methods_get_json_errors() {
    let app = spawn_app().await;
    let admin = app.user(Role::Admin).await;
    for (path, status, code) in [
        ("/api/users/abc", StatusCode::BAD_REQUEST, "invalid_path"),
        (
            "/api/users/99999999999999999999999",
            StatusCode::BAD_REQUEST,
            "invalid_path",
        ),
        (
            "/api/users?page=-1",
            StatusCode::BAD_REQUEST,
            "invalid_query",
        ),
        (
            "/api/users?page=abc",
            StatusCode::BAD_REQUEST,
            "invalid_query",
        ),
        (
            "/api/users?role=superuser",
            StatusCode::BAD_REQUEST,
            "invalid_query",
        ),
        (
            "/api/users?isActive=maybe",
            StatusCode::BAD_REQUEST,
            "invalid_query",
        ),
        ("/api/nothing-here", StatusCode::NOT_FOUND, "not_found"),
        (
            "/api/users/1/../../etc/passwd",
            StatusCode::NOT_FOUND,
            "not_found",
        ),
    ] {
        let answer = app.get(path, Some(&admin.token)).await;
        assert_clean_client_error(path, &answer, status, code);
    }
    let deleted = app.delete("/api/auth/me", Some(&admin.token)).await;
    assert_clean_client_error(
        "DELETE me",
        &deleted,
        StatusCode::METHOD_NOT_ALLOWED,
        "method_not_allowed",
    );
    let huge_page = app
        .get("/api/users?page=1000000&limit=100", Some(&admin.token))
        .await;
    assert_eq!(huge_page.status, StatusCode::OK);
    assert_eq!(huge_page.body["users"], json!([]));
}
