//! The digest, delivered over real SMTP to a local aiosmtpd server (scripts/smtp): its
//! content, the per-category opt-out, the unsubscribe link honoured, and retries when
//! the SMTP server is away. Time is the test's: the job entry points take `now`.

use std::{path::PathBuf, process::Stdio, time::Duration};

use chrono::{DateTime, Utc};
use nexus_api::{
    digest::send_due,
    mail::Mailer,
    mail::queue::deliver_due,
    notifications::{NewNotification, notify},
};
use nexus_auth::Role;
use nexus_config::ConnectionUrl;
use reqwest::StatusCode;
use serde_json::{Value, json};
use tokio::io::{AsyncBufReadExt, BufReader};

use crate::{
    fixtures::{School, class_message},
    helpers::{TestApp, eventually, reset_token_in, spawn_app_with, test_settings},
};

/// aiosmtpd, started for one test; it stops when dropped (its stdin closes, and
/// `kill_on_drop`).
struct SmtpSink {
    port: u16,
    dir: PathBuf,
    _child: tokio::process::Child,
}

/// A port where nobody listens (connections are refused), kept ours until the sink takes
/// it: a port merely looked up and let go can be handed to the next socket bound — once,
/// the test's own API server, which the mailer then spoke SMTP to.
struct ReservedPort {
    port: u16,
    socket: tokio::net::TcpSocket,
}

fn reserve_port() -> ReservedPort {
    // Bound without SO_REUSEADDR and not listening: no other bind gets this port.
    let socket = tokio::net::TcpSocket::new_v4().expect("socket");
    socket
        .bind(std::net::SocketAddr::from(([127, 0, 0, 1], 0)))
        .expect("bind");
    let port = socket.local_addr().expect("addr").port();
    ReservedPort { port, socket }
}

impl ReservedPort {
    /// Lets the port go, for the sink to bind it now.
    fn release(self) -> u16 {
        drop(self.socket);
        self.port
    }
}

impl SmtpSink {
    async fn start(port: u16) -> SmtpSink {
        let python = std::env::var("SMTP_SINK_PYTHON").expect(
            "SMTP_SINK_PYTHON must name a python with aiosmtpd: run the tests through scripts/test.sh (ensure_smtp_sink)",
        );
        let script =
            PathBuf::from(env!("CARGO_MANIFEST_DIR")).join("../../scripts/smtp/smtp_sink.py");
        let dir =
            std::env::temp_dir().join(format!("nexus-smtp-{}", uuid::Uuid::new_v4().simple()));
        let mut child = tokio::process::Command::new(python)
            .arg(&script)
            .arg(&dir)
            .arg(port.to_string())
            .stdin(Stdio::piped())
            .stdout(Stdio::piped())
            .kill_on_drop(true)
            .spawn()
            .expect("start aiosmtpd");
        let stdout = child.stdout.take().expect("stdout");
        let mut line = String::new();
        tokio::time::timeout(
            Duration::from_secs(20),
            BufReader::new(stdout).read_line(&mut line),
        )
        .await
        .expect("aiosmtpd started in time")
        .expect("read port");
        let port: u16 = line
            .trim()
            .strip_prefix("PORT ")
            .and_then(|p| p.parse().ok())
            .unwrap_or_else(|| panic!("unexpected first line from the SMTP sink: {line:?}"));
        SmtpSink {
            port,
            dir,
            _child: child,
        }
    }

    /// The messages received so far (parsed by Python's email package).
    async fn received(&self) -> Vec<Value> {
        let Ok(mut dir) = tokio::fs::read_dir(&self.dir).await else {
            return Vec::new();
        };
        let mut mails = Vec::new();
        while let Some(entry) = dir.next_entry().await.expect("read dir") {
            if entry.path().extension().is_some_and(|e| e == "json") {
                let text = tokio::fs::read_to_string(entry.path()).await.expect("read");
                mails.push(serde_json::from_str(&text).expect("json"));
            }
        }
        mails
    }

    /// A round of the mail queue at `at` that must send exactly one mail; that mail, as
    /// this sink received it.
    async fn delivers_one(&self, app: &TestApp, mailer: &Mailer, at: DateTime<Utc>) -> Value {
        let round = deliver_due(&app.pool, mailer, at).await.expect("deliver");
        assert_eq!(round.sent, 1);
        eventually("the mail at the sink", || async {
            self.received().await.into_iter().next()
        })
        .await
    }
}

/// The attempts and last error of the one mail still in the queue.
async fn unsent_mail(app: &TestApp) -> (i32, Option<String>) {
    sqlx::query_as("select attempts, last_error from mail_queue where sent_at is null")
        .fetch_one(&app.pool)
        .await
        .expect("queued")
}

async fn app_sending_to(port: u16) -> TestApp {
    let mut settings = test_settings().await;
    settings.mail.smtp_url = Some(ConnectionUrl::new(format!("smtp://127.0.0.1:{port}")));
    settings.mail.web_url = "https://app.nexus.test".into();
    settings.mail.api_public_url = "https://api.nexus.test".into();
    // The test runs the jobs itself, at the times it chooses.
    settings.run_worker = false;
    spawn_app_with(settings).await
}

async fn notify_one(app: &TestApp, user: i64, kind: &str, title: &str, body: &str) -> i64 {
    let mut conn = app.pool.acquire().await.expect("conn");
    notify(
        &mut conn,
        &[user],
        &NewNotification {
            kind,
            title: title.into(),
            body: body.into(),
            data: json!({}),
        },
    )
    .await
    .expect("notify");
    sqlx::query_scalar("select max(id) from notifications where user_id = $1")
        .bind(user)
        .fetch_one(&app.pool)
        .await
        .expect("id")
}

/// A student on daily digests with one unread grade ("Note : TP tris : 16/20"); returns
/// a time their digest is due.
async fn a_daily_digest_due(app: &TestApp) -> DateTime<Utc> {
    let student = app.user(Role::Student).await;
    app.put("/api/me/notification-preferences", Some(&student.token), json!({"digestFrequency": "daily", "categories": {"grades": true, "assessments": true, "messages": true}}))
    .await;
    notify_one(app, student.id, "result_graded", "Note : TP tris", "16/20").await;
    Utc::now() + chrono::Duration::hours(25)
}

/// Queues the digests due at `now` and delivers the queue, as the worker does.
async fn run_jobs(app: &TestApp, now: DateTime<Utc>) -> (usize, usize) {
    let queued = send_due(&app.pool, &app.settings, now)
        .await
        .expect("digests");
    let mailer = Mailer::from_settings(&app.settings.mail).expect("mailer");
    let delivery = deliver_due(&app.pool, &mailer, now).await.expect("deliver");
    (queued, delivery.sent)
}

fn lines(text: &str) -> String {
    text.replace("\r\n", "\n")
}

#[tokio::test]
async fn the_daily_digest_arrives_over_smtp_with_whats_unread_and_unsubscribing_stops_it() {
    let sink = SmtpSink::start(0).await;
    let app = app_sending_to(sink.port).await;
    let school = School::new(&app).await;
    let student = &school.student;
    let answer = app
        .put("/api/me/notification-preferences", Some(&student.token), json!({"digestFrequency": "daily", "categories": {"grades": true, "assessments": true, "messages": true}}))
        .await;
    assert_eq!(answer.status, StatusCode::OK, "{}", answer.body);
    assert_eq!(answer.body["preferences"]["digestFrequency"], "daily");

    notify_one(
        &app,
        student.id,
        "result_graded",
        "Note : Quiz <piles>",
        "15/20",
    )
    .await;
    notify_one(
        &app,
        student.id,
        "assessment_published",
        "Nouvelle évaluation : Récursivité",
        "À rendre vendredi",
    )
    .await;
    let read = notify_one(&app, student.id, "result_graded", "Note déjà lue", "12/20").await;
    sqlx::query("update notifications set read_at = now() where id = $1")
        .bind(read)
        .execute(&app.pool)
        .await
        .expect("read");
    notify_one(
        &app,
        school.teacher.id,
        "submission_to_grade",
        "Copie d'un autre",
        "",
    )
    .await;
    class_message(&app, school.class_id, school.teacher.id, "Pensez au TP").await;
    class_message(&app, school.class_id, school.teacher.id, "Et au quiz").await;

    let start = Utc::now();
    // Not a day yet: nothing.
    assert_eq!(
        run_jobs(&app, start + chrono::Duration::hours(12)).await,
        (0, 0)
    );
    // A day later: the digest goes out through SMTP.
    let (queued, sent) = run_jobs(&app, start + chrono::Duration::hours(25)).await;
    assert_eq!(
        queued, 1,
        "one digest: the student's (the others have nothing in their period)"
    );
    assert_eq!(sent, 1);
    let mail = eventually("the digest at the SMTP server", || async {
        sink.received().await.into_iter().next()
    })
    .await;
    assert_eq!(mail["rcptTos"], json!([student.email]));
    assert_eq!(
        mail["subject"],
        "Votre récapitulatif du jour — Nexus Réussite"
    );
    let text = lines(mail["text"].as_str().expect("text part"));
    assert!(text.starts_with("Bonjour Camille,\n"), "{text}");
    assert!(
        text.contains("Nouvelles notes\n---------------\n- Note : Quiz <piles> : 15/20\n"),
        "{text}"
    );
    assert!(
        text.contains(
            "Évaluations\n-----------\n- Nouvelle évaluation : Récursivité : À rendre vendredi\n"
        ),
        "{text}"
    );
    assert!(
        text.contains("Messages non lus\n----------------\n- Terminale NSI : 2 messages non lus\n"),
        "{text}"
    );
    assert!(
        !text.contains("Note déjà lue"),
        "read notifications stay out"
    );
    assert!(
        !text.contains("Copie d'un autre"),
        "another user's notifications stay out"
    );
    let html = mail["html"].as_str().expect("html part");
    assert!(
        html.contains("<strong>Note : Quiz &lt;piles&gt;</strong> : 15/20"),
        "{html}"
    );
    assert!(html.contains("lang=\"fr\""));
    let token = text
        .split("https://app.nexus.test/desabonnement?token=")
        .nth(1)
        .and_then(|rest| rest.split_whitespace().next())
        .expect("unsubscribe link in the text")
        .to_owned();
    assert_eq!(
        mail["headers"]["List-Unsubscribe"],
        format!("<https://api.nexus.test/api/digest/unsubscribe?token={token}>")
    );
    assert_eq!(
        mail["headers"]["List-Unsubscribe-Post"],
        "List-Unsubscribe=One-Click"
    );

    // A forged token (another user's id with this signature) does nothing.
    let (_, tag) = token.split_once('.').expect("id.tag");
    let forged = app
        .post(
            &format!("/api/digest/unsubscribe?token={}.{tag}", school.teacher.id),
            None,
            json!({}),
        )
        .await;
    assert_eq!(forged.status, StatusCode::BAD_REQUEST);
    assert_eq!(forged.error_code(), "invalid_unsubscribe_token");
    // The link works without signing in (as a mail client's one-click POST would).
    let response = app
        .client
        .post(format!(
            "{}/api/digest/unsubscribe?token={token}",
            app.address
        ))
        .header("content-type", "application/x-www-form-urlencoded")
        .body("List-Unsubscribe=One-Click")
        .send()
        .await
        .expect("unsubscribe");
    assert_eq!(response.status(), StatusCode::OK);
    let prefs = app
        .get("/api/me/notification-preferences", Some(&student.token))
        .await;
    assert_eq!(prefs.body["preferences"]["digestFrequency"], "off");

    // Honoured: new unread things, days later, and no mail.
    notify_one(
        &app,
        student.id,
        "result_graded",
        "Note : Récursivité",
        "18/20",
    )
    .await;
    let (queued, sent) = run_jobs(&app, start + chrono::Duration::days(9)).await;
    assert_eq!((queued, sent), (0, 0));
    tokio::time::sleep(Duration::from_millis(300)).await;
    assert_eq!(sink.received().await.len(), 1, "no second digest");
}

#[tokio::test]
async fn categories_turned_off_stay_out_and_a_weekly_digest_waits_its_week() {
    let sink = SmtpSink::start(0).await;
    let app = app_sending_to(sink.port).await;
    let parent = app.user(Role::Parent).await;
    let answer = app
        .put("/api/me/notification-preferences", Some(&parent.token), json!({"digestFrequency": "weekly", "categories": {"grades": true, "assessments": false, "messages": true}}))
        .await;
    assert_eq!(answer.status, StatusCode::OK, "{}", answer.body);
    notify_one(
        &app,
        parent.id,
        "result_graded",
        "Note de votre enfant : Quiz piles",
        "14/20",
    )
    .await;
    notify_one(
        &app,
        parent.id,
        "assessment_due_soon",
        "Évaluation bientôt close",
        "",
    )
    .await;
    let start = Utc::now();
    assert_eq!(
        run_jobs(&app, start + chrono::Duration::days(3)).await,
        (0, 0)
    );
    assert_eq!(
        run_jobs(
            &app,
            start + chrono::Duration::days(7) + chrono::Duration::minutes(1)
        )
        .await,
        (1, 1)
    );
    let mail = eventually("the weekly digest", || async {
        sink.received().await.into_iter().next()
    })
    .await;
    assert_eq!(
        mail["subject"],
        "Votre récapitulatif de la semaine — Nexus Réussite"
    );
    let text = lines(mail["text"].as_str().expect("text"));
    assert!(
        text.contains("- Note de votre enfant : Quiz piles : 14/20"),
        "{text}"
    );
    assert!(
        !text.contains("Évaluation bientôt close"),
        "assessments are off: {text}"
    );
    assert!(!text.contains("Évaluations"), "{text}");
    // Nothing new the next week: no empty digest.
    assert_eq!(
        run_jobs(&app, start + chrono::Duration::days(15)).await,
        (0, 0)
    );
}

#[tokio::test]
async fn a_digest_waits_in_the_queue_while_the_smtp_server_is_away_and_is_retried() {
    let away = reserve_port();
    let app = app_sending_to(away.port).await;
    let start = a_daily_digest_due(&app).await;
    // Nobody listens on the port: queued, not sent, to be retried in a minute.
    assert_eq!(run_jobs(&app, start).await, (1, 0));
    let (attempts, error) = unsent_mail(&app).await;
    assert_eq!(attempts, 1);
    assert!(
        error.is_some_and(|e| !e.contains("TP tris")),
        "the error, never the content"
    );
    let sink = SmtpSink::start(away.release()).await;
    let mailer = Mailer::from_settings(&app.settings.mail).expect("mailer");
    let now = deliver_due(&app.pool, &mailer, start + chrono::Duration::seconds(30))
        .await
        .expect("deliver");
    assert_eq!(now.sent, 0, "not before its retry time");
    let mail = sink
        .delivers_one(&app, &mailer, start + chrono::Duration::minutes(2))
        .await;
    assert!(lines(mail["text"].as_str().expect("text")).contains("- Note : TP tris : 16/20"));
    // Sent once: the next round finds nothing.
    assert_eq!(
        deliver_due(&app.pool, &mailer, start + chrono::Duration::hours(1))
            .await
            .expect("deliver")
            .sent,
        0
    );
}

/// A server that accepts and then says nothing (a wrong port, a stuck relay): the mail
/// fails after the send timeout and waits for its retry, and the queue's row is not held.
#[tokio::test]
async fn a_mail_to_an_smtp_server_that_never_answers_fails_after_the_timeout() {
    let silent = tokio::net::TcpListener::bind("127.0.0.1:0")
        .await
        .expect("bind");
    let port = silent.local_addr().expect("addr").port();
    let _held = tokio::spawn(async move {
        let mut open = Vec::new();
        while let Ok((socket, _)) = silent.accept().await {
            open.push(socket);
        }
    });
    let app = app_sending_to(port).await;
    let start = a_daily_digest_due(&app).await;
    assert_eq!(
        send_due(&app.pool, &app.settings, start)
            .await
            .expect("digests"),
        1
    );
    let mailer = Mailer::from_settings(&app.settings.mail)
        .expect("mailer")
        .with_send_timeout(Duration::from_secs(2));
    let delivery = tokio::time::timeout(
        Duration::from_secs(20),
        deliver_due(&app.pool, &mailer, start),
    )
    .await
    .expect("the delivery gave up on the silent server")
    .expect("deliver");
    assert_eq!((delivery.sent, delivery.failed), (0, 1));
    let (attempts, error) = unsent_mail(&app).await;
    assert_eq!(attempts, 1);
    assert!(
        error
            .as_deref()
            .is_some_and(|e| e.contains("did not finish")),
        "{error:?}"
    );
}

/// Account mails go through the same queue as digests: a reset link asked while the
/// SMTP server is away is not lost, arrives once it is back, still works, and the queue
/// does not keep a usable copy of its token once sent.
#[tokio::test]
async fn a_reset_mail_waits_out_an_smtp_outage_and_the_queue_forgets_its_token() {
    let away = reserve_port();
    let app = app_sending_to(away.port).await;
    let student = app.user(Role::Student).await;
    let asked = app.request_reset(&student.email).await;
    assert_eq!(asked.status, StatusCode::ACCEPTED, "{}", asked.body);
    // Queued by the request (in the background: the answer must not tell whether the
    // account exists), in the transaction that issued the token.
    eventually("the queued reset mail", || async {
        sqlx::query_scalar::<_, i64>(
            "select id from mail_queue where kind = 'password_reset' and secret",
        )
        .fetch_optional(&app.pool)
        .await
        .expect("query")
    })
    .await;
    let mailer = Mailer::from_settings(&app.settings.mail).expect("mailer");
    let start = Utc::now();
    let outage = deliver_due(&app.pool, &mailer, start)
        .await
        .expect("deliver");
    assert_eq!((outage.sent, outage.failed), (0, 1), "nobody listens yet");

    let sink = SmtpSink::start(away.release()).await;
    let mail = sink
        .delivers_one(&app, &mailer, start + chrono::Duration::minutes(2))
        .await;
    let text = mail["text"].as_str().expect("text");
    let token = reset_token_in(text);
    let (body, html, sent): (String, Option<String>, bool) = sqlx::query_as(
        "select text_body, html_body, sent_at is not null from mail_queue where kind = 'password_reset'",
    )
    .fetch_one(&app.pool)
    .await
    .expect("row");
    assert!(sent);
    assert!(
        body.is_empty() && html.is_none() && !body.contains(&token),
        "the sent mail's body is blanked: {body:?}"
    );
    let confirm = app.confirm_reset(&token, "Girafe-Violette-43").await;
    assert_eq!(confirm.status, StatusCode::OK, "{}", confirm.body);
}

#[tokio::test]
async fn preferences_are_ones_own_and_checked() {
    let app = spawn_app_with(test_settings().await).await;
    let student = app.user(Role::Student).await;
    let anonymous = app.get("/api/me/notification-preferences", None).await;
    assert_eq!(anonymous.status, StatusCode::UNAUTHORIZED);
    let defaults = app
        .get("/api/me/notification-preferences", Some(&student.token))
        .await;
    assert_eq!(
        defaults.body["preferences"],
        json!({"digestFrequency": "weekly", "categories": {"grades": true, "assessments": true, "messages": true}})
    );
    let bad = app
        .put("/api/me/notification-preferences", Some(&student.token), json!({"digestFrequency": "hourly", "categories": {"grades": true, "assessments": true, "messages": true}}))
        .await;
    assert_eq!(bad.status, StatusCode::UNPROCESSABLE_ENTITY);
    assert_eq!(
        bad.body["details"]["digestFrequency"],
        "Fréquence attendue : off, daily ou weekly."
    );
    let garbage = app
        .post("/api/digest/unsubscribe?token=12.zz", None, json!({}))
        .await;
    assert_eq!(garbage.status, StatusCode::BAD_REQUEST);
    assert!(
        garbage.body["error"]
            .as_str()
            .is_some_and(|m| m.contains("désabonnement"))
    );
    // No session on that route: one address gets 30 tries a minute, then a clear 429.
    for _ in 1..30 {
        let tried = app
            .post("/api/digest/unsubscribe?token=12.zz", None, json!({}))
            .await;
        assert_eq!(tried.status, StatusCode::BAD_REQUEST);
    }
    let limited = app
        .post("/api/digest/unsubscribe?token=12.zz", None, json!({}))
        .await;
    assert_eq!(
        limited.status,
        StatusCode::TOO_MANY_REQUESTS,
        "{}",
        limited.body
    );
    assert!(
        limited.body["error"]
            .as_str()
            .is_some_and(|m| !m.is_empty())
    );
}
