//! Every endpoint × every role (and anonymous) → the expected status. The table must name
//! every operation of the OpenAPI document, so a new endpoint cannot skip it.

use std::collections::BTreeSet;

use nexus_auth::Role;
use reqwest::{Method, StatusCode};
use serde_json::{Value, json};

use crate::helpers::{PASSWORD, spawn_app};

/// Expected statuses for: anonymous, student, parent, teacher, admin.
type Expect = [u16; 5];

struct Case {
    method: Method,
    /// `{target}` is replaced by the id of a user the calls act on.
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
    let new_staff = json!({"email": "new.teacher@lycee.fr", "password": PASSWORD, "firstName": "Nina", "lastName": "Prof", "role": "teacher"});
    vec![
        // Public operations: the same answer whoever calls.
        case(
            M::POST,
            "/api/auth/register",
            Some(
                json!({"role": "parent", "password": PASSWORD, "firstName": "P", "lastName": "Q", "email": "{unique}"}),
            ),
            [201; 5],
        ),
        case(
            M::POST,
            "/api/auth/login",
            Some(json!({"email": "nobody@lycee.fr", "password": "Wrong-Password-1"})),
            [401; 5],
        ),
        case(
            M::POST,
            "/api/auth/refresh",
            Some(json!({"refreshToken": "unknown"})),
            [401; 5],
        ),
        case(
            M::POST,
            "/api/auth/logout",
            Some(json!({"refreshToken": "unknown"})),
            [200; 5],
        ),
        case(
            M::POST,
            "/api/auth/password-reset/request",
            Some(json!({"email": "nobody@lycee.fr"})),
            [202; 5],
        ),
        case(
            M::POST,
            "/api/auth/password-reset/confirm",
            Some(json!({"token": "unknown", "newPassword": "Girafe-Violette-42"})),
            [400; 5],
        ),
        // Any signed-in user.
        case(M::GET, "/api/auth/me", None, [401, 200, 200, 200, 200]),
        case(
            M::PATCH,
            "/api/me",
            Some(json!({})),
            [401, 200, 200, 200, 200],
        ),
        // Students only.
        case(
            M::POST,
            "/api/me/pairing-code",
            None,
            [401, 201, 403, 403, 403],
        ),
        case(M::GET, "/api/me/parents", None, [401, 200, 403, 403, 403]),
        // Parents only.
        case(M::GET, "/api/me/children", None, [401, 403, 200, 403, 403]),
        case(
            M::POST,
            "/api/me/children",
            Some(json!({"code": "ZZZZZZZZ"})),
            [401, 403, 400, 403, 403],
        ),
        // Admins only.
        case(M::GET, "/api/users", None, [401, 403, 403, 403, 200]),
        case(
            M::POST,
            "/api/users",
            Some(new_staff),
            [401, 403, 403, 403, 201],
        ),
        case(
            M::GET,
            "/api/users/{target}",
            None,
            [401, 403, 403, 403, 200],
        ),
        case(
            M::PATCH,
            "/api/users/{target}/status",
            Some(json!({"isActive": true})),
            [401, 403, 403, 403, 200],
        ),
        case(
            M::PATCH,
            "/api/users/{target}/role",
            Some(json!({"role": "parent"})),
            [401, 403, 403, 403, 200],
        ),
    ]
}

#[tokio::test]
async fn every_endpoint_answers_every_role_as_documented() {
    let app = spawn_app().await;
    let target = app.user(Role::Parent).await;
    let mut callers: Vec<(&str, Option<String>)> = vec![("anonymous", None)];
    for role in [Role::Student, Role::Parent, Role::Teacher, Role::Admin] {
        callers.push((role.as_str(), Some(app.user(role).await.token)));
    }
    let mut failures = Vec::new();
    for case in cases() {
        let path = case.path.replace("{target}", &target.id.to_string());
        for ((who, token), expected) in callers.iter().zip(case.expect) {
            let body = case.body.clone().map(|mut b| {
                if b.get("email") == Some(&json!("{unique}")) {
                    b["email"] = json!(format!(
                        "{who}-{}@famille.fr",
                        uuid::Uuid::new_v4().simple()
                    ));
                }
                b
            });
            let body = body.or_else(|| (case.method != Method::GET).then(|| json!({})));
            let answer = app
                .request(case.method.clone(), &path, token.as_deref(), body)
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
                .map(move |m| format!("{} {}", m.to_uppercase(), path.replace("{id}", "{target}")))
        })
        .collect();
    let tested: BTreeSet<String> = cases()
        .iter()
        .map(|c| format!("{} {}", c.method, c.path))
        .collect();
    let missing: Vec<_> = documented.difference(&tested).collect();
    assert!(
        missing.is_empty(),
        "operations missing from the authorization matrix: {missing:?}"
    );
    assert!(documented.len() >= 17);
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
