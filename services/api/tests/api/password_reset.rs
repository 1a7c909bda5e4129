use nexus_auth::Role;
use nexus_config::ConnectionUrl;
use reqwest::StatusCode;
use tokio::io::{AsyncBufReadExt, AsyncWriteExt, BufReader};

use crate::helpers::{
    PASSWORD, TestApp, eventually, reset_token_in, spawn_app, spawn_app_with, test_settings,
};

const NEW_PASSWORD: &str = "Girafe-Violette-42";

/// The token printed in the last mail to `email`.
async fn reset_token_from_mailbox(app: &TestApp, email: &str) -> String {
    eventually("the reset mail", || async {
        app.mails()
            .await
            .into_iter()
            .rev()
            .find(|m| m.contains(email))
            .map(|mail| token_in(&mail))
    })
    .await
}

fn token_in(mail: &str) -> String {
    reset_token_in(mail)
}

#[tokio::test]
async fn a_reset_request_answers_the_same_for_known_and_unknown_emails() {
    let app = spawn_app().await;
    let student = app.user(Role::Student).await;
    let known = app.request_reset(&student.email).await;
    let unknown = app.request_reset("nobody@lycee.fr").await;
    assert_eq!(known.status, StatusCode::ACCEPTED);
    assert_eq!((known.status, &known.body), (unknown.status, &unknown.body));
    reset_token_from_mailbox(&app, &student.email).await;
    assert_eq!(
        app.mails().await.len(),
        1,
        "no mail for the unknown address"
    );
}

#[tokio::test]
async fn a_reset_sets_the_new_password_once_and_ends_every_session() {
    let app = spawn_app().await;
    let student = app.user(Role::Student).await;
    app.request_reset(&student.email).await;
    let token = reset_token_from_mailbox(&app, &student.email).await;
    let stored: String =
        sqlx::query_scalar("select token_hash from auth_tokens where token_type = 'reset'")
            .fetch_one(&app.pool)
            .await
            .expect("reset row");
    assert_ne!(stored, token, "only a hash is stored");

    let confirm = app.confirm_reset(&token, NEW_PASSWORD).await;
    assert_eq!(confirm.status, StatusCode::OK, "{}", confirm.body);

    assert_eq!(
        app.login(&student.email, PASSWORD).await.status,
        StatusCode::UNAUTHORIZED
    );
    assert_eq!(
        app.login(&student.email, NEW_PASSWORD).await.status,
        StatusCode::OK
    );
    let old_session = app.refresh(&student.refresh_token).await;
    assert_eq!(
        old_session.status,
        StatusCode::UNAUTHORIZED,
        "refresh tokens are revoked"
    );

    let again = app.confirm_reset(&token, "Autre-Mot-2-Passe").await;
    assert_eq!(again.status, StatusCode::BAD_REQUEST, "single use");
    assert_eq!(again.error_code(), "invalid_reset_token");
}

#[tokio::test]
async fn an_expired_or_superseded_reset_token_is_refused() {
    let app = spawn_app().await;
    let student = app.user(Role::Student).await;
    app.request_reset(&student.email).await;
    let first = reset_token_from_mailbox(&app, &student.email).await;
    app.request_reset(&student.email).await;
    let second = eventually("a second mail", || async {
        let mails = app.mails().await;
        (mails.len() == 2).then(|| token_in(&mails[1]))
    })
    .await;
    let superseded = app.confirm_reset(&first, NEW_PASSWORD).await;
    assert_eq!(superseded.status, StatusCode::BAD_REQUEST);

    sqlx::query("update auth_tokens set expires_at = now() - interval '1 second' where token_type = 'reset'")
        .execute(&app.pool)
        .await
        .expect("expire");
    let expired = app.confirm_reset(&second, NEW_PASSWORD).await;
    assert_eq!(expired.status, StatusCode::BAD_REQUEST);
    assert_eq!(
        app.login(&student.email, PASSWORD).await.status,
        StatusCode::OK
    );
}

#[tokio::test]
async fn a_weak_new_password_is_refused_and_the_token_stays_usable() {
    let app = spawn_app().await;
    let student = app.user(Role::Student).await;
    app.request_reset(&student.email).await;
    let token = reset_token_from_mailbox(&app, &student.email).await;
    let weak = app.confirm_reset(&token, "123456789").await;
    assert_eq!(weak.status, StatusCode::UNPROCESSABLE_ENTITY);
    assert!(weak.body["details"]["newPassword"].is_string());
    let good = app.confirm_reset(&token, NEW_PASSWORD).await;
    assert_eq!(good.status, StatusCode::OK);
}

/// A minimal SMTP server (RFC 5321 without extensions) standing in for the relay on the
/// internet; it hands over each message it accepts.
async fn smtp_sink() -> (u16, tokio::sync::mpsc::UnboundedReceiver<String>) {
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0")
        .await
        .expect("bind");
    let port = listener.local_addr().expect("addr").port();
    let (sender, receiver) = tokio::sync::mpsc::unbounded_channel();
    tokio::spawn(async move {
        loop {
            let Ok((socket, _)) = listener.accept().await else {
                return;
            };
            let sender = sender.clone();
            tokio::spawn(async move {
                let (read, mut write) = socket.into_split();
                let mut lines = BufReader::new(read).lines();
                let _ = write.write_all(b"220 sink ESMTP\r\n").await;
                let mut data: Option<String> = None;
                while let Ok(Some(line)) = lines.next_line().await {
                    if let Some(body) = data.as_mut() {
                        if line == "." {
                            let _ = sender.send(std::mem::take(body));
                            data = None;
                            let _ = write.write_all(b"250 queued\r\n").await;
                        } else {
                            body.push_str(&line);
                            body.push('\n');
                        }
                        continue;
                    }
                    let verb = line
                        .split_whitespace()
                        .next()
                        .unwrap_or("")
                        .to_ascii_uppercase();
                    let reply: &[u8] = match verb.as_str() {
                        "EHLO" | "HELO" => b"250 sink\r\n",
                        "DATA" => {
                            data = Some(String::new());
                            b"354 go ahead\r\n"
                        }
                        "QUIT" => {
                            let _ = write.write_all(b"221 bye\r\n").await;
                            return;
                        }
                        _ => b"250 ok\r\n",
                    };
                    let _ = write.write_all(reply).await;
                }
            });
        }
    });
    (port, receiver)
}

#[tokio::test]
async fn with_smtp_configured_the_reset_mail_goes_through_smtp() {
    let (port, mut inbox) = smtp_sink().await;
    let mut settings = test_settings().await;
    settings.mail.smtp_url = Some(ConnectionUrl::new(format!("smtp://127.0.0.1:{port}")));
    let app = spawn_app_with(settings).await;
    let student = app.user(Role::Student).await;
    app.request_reset(&student.email).await;

    let mail = tokio::time::timeout(std::time::Duration::from_secs(10), inbox.recv())
        .await
        .expect("a mail within 10 s")
        .expect("mail");
    assert!(mail.contains(&student.email));
    let token = token_in(&mail);
    let confirm = app.confirm_reset(&token, NEW_PASSWORD).await;
    assert_eq!(confirm.status, StatusCode::OK, "{}", confirm.body);
    assert!(
        app.mails().await.is_empty(),
        "nothing in the dev mailbox when SMTP is on"
    );
}
