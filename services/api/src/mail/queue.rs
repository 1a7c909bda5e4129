//! The mail queue, the one way mail leaves the API: each mail is written in the
//! transaction that decides it (a reset token, a new account, a digest), delivered by the
//! worker — at once when the request wakes it, else at its next minute — and retried with
//! a growing delay when the SMTP server refuses or is away. No request ever waits for
//! SMTP, and a mail decided is never lost to a crash or an SMTP outage.

use std::{sync::Arc, time::Duration};

use chrono::{DateTime, Utc};
use sqlx::{PgConnection, PgPool};
use tokio::sync::Notify;

use crate::mail::{Mail, Mailer, RichMail};

/// After this many failed attempts a mail stays in the queue, unsent, for an operator
/// (`select * from mail_queue where sent_at is null and attempts >= 10`).
pub const MAX_ATTEMPTS: i32 = 10;

pub struct QueuedMail<'a> {
    pub kind: &'a str,
    pub to: &'a str,
    pub subject: &'a str,
    pub text: &'a str,
    pub html: Option<&'a str>,
    pub unsubscribe_url: Option<&'a str>,
    /// Carries a single-use token: its bodies are blanked once sent.
    pub secret: bool,
}

pub async fn enqueue(conn: &mut PgConnection, mail: &QueuedMail<'_>) -> sqlx::Result<i64> {
    sqlx::query_scalar(
        "insert into mail_queue (kind, to_address, subject, text_body, html_body, unsubscribe_url, secret)
         values ($1, $2, $3, $4, $5, $6, $7) returning id",
    )
    .bind(mail.kind)
    .bind(mail.to)
    .bind(mail.subject)
    .bind(mail.text)
    .bind(mail.html)
    .bind(mail.unsubscribe_url)
    .bind(mail.secret)
    .fetch_one(conn)
    .await
}

/// Queues a plain-text mail (account mails: reset, verification, invitations).
pub async fn enqueue_text(
    conn: &mut PgConnection,
    kind: &str,
    mail: &Mail,
    secret: bool,
) -> sqlx::Result<i64> {
    enqueue(
        conn,
        &QueuedMail {
            kind,
            to: &mail.to,
            subject: &mail.subject,
            text: &mail.body,
            html: None,
            unsubscribe_url: None,
            secret,
        },
    )
    .await
}

/// Wakes the delivery loop of this process: call it after committing queued mail, so
/// that a reset link arrives in seconds rather than at the next minute.
#[derive(Clone, Default)]
pub struct Wake(Arc<Notify>);

impl Wake {
    pub fn now(&self) {
        self.0.notify_one();
    }
}

/// The delivery loop (the worker runs it): every minute, and whenever woken.
pub async fn run(pool: PgPool, mailer: Mailer, wake: Wake, stop: nexus_web::background::Stop) {
    let mut tick = tokio::time::interval(Duration::from_secs(60));
    loop {
        let woken = stop
            .during(async {
                tokio::select! {
                    _ = tick.tick() => {}
                    () = wake.0.notified() => {}
                }
            })
            .await;
        if woken.is_none() {
            return;
        }
        if let Err(error) = deliver_due(&pool, &mailer, Utc::now()).await {
            tracing::warn!(error = %format!("{error:#}"), "mail queue failed; retrying next minute");
        }
    }
}

/// Minutes to wait after the n-th failure: 1, 2, 4, … 256 at most.
pub fn backoff_minutes(attempts: i32) -> i64 {
    1_i64 << (attempts - 1).clamp(0, 8)
}

#[derive(Debug, Default, PartialEq, Eq)]
pub struct Delivery {
    pub sent: usize,
    pub failed: usize,
}

#[derive(sqlx::FromRow)]
struct Pending {
    id: i64,
    to_address: String,
    subject: String,
    text_body: String,
    html_body: Option<String>,
    unsubscribe_url: Option<String>,
    attempts: i32,
    secret: bool,
}

/// Delivers the mails due at `now`, one transaction per mail (its row locked, `skip
/// locked`, so replicas never send the same mail twice).
pub async fn deliver_due(
    pool: &PgPool,
    mailer: &Mailer,
    now: DateTime<Utc>,
) -> anyhow::Result<Delivery> {
    let mut delivery = Delivery::default();
    loop {
        let mut tx = pool.begin().await?;
        let pending: Option<Pending> = sqlx::query_as(
            "select id, to_address, subject, text_body, html_body, unsubscribe_url, attempts, secret
             from mail_queue
             where sent_at is null and next_attempt_at <= $1 and attempts < $2
             order by next_attempt_at, id limit 1 for update skip locked",
        )
        .bind(now)
        .bind(MAX_ATTEMPTS)
        .fetch_optional(&mut *tx)
        .await?;
        let Some(mail) = pending else {
            return Ok(delivery);
        };
        let id = mail.id;
        let attempts = mail.attempts + 1;
        let secret = mail.secret;
        let result = mailer
            .send_rich(RichMail {
                to: mail.to_address,
                subject: mail.subject,
                text: mail.text_body,
                html: mail.html_body,
                unsubscribe_url: mail.unsubscribe_url,
            })
            .await;
        match result {
            Ok(()) => {
                sqlx::query(
                    "update mail_queue set sent_at = now(), attempts = $2, last_error = null,
                            text_body = case when $3 then '' else text_body end,
                            html_body = case when $3 then null else html_body end
                     where id = $1",
                )
                .bind(id)
                .bind(attempts)
                .bind(secret)
                .execute(&mut *tx)
                .await?;
                delivery.sent += 1;
            }
            Err(error) => {
                let reason: String = format!("{error:#}").chars().take(300).collect();
                tracing::warn!(mail_id = id, attempts, error = %reason, "mail not delivered; will retry");
                sqlx::query(
                    "update mail_queue set attempts = $2, last_error = $3,
                            next_attempt_at = $4 + make_interval(mins => $5)
                     where id = $1",
                )
                .bind(id)
                .bind(attempts)
                .bind(reason)
                .bind(now)
                .bind(i32::try_from(backoff_minutes(attempts)).unwrap_or(256))
                .execute(&mut *tx)
                .await?;
                delivery.failed += 1;
            }
        }
        tx.commit().await?;
        // One failure is enough to know the server is away: the rest waits for the
        // next round instead of each waiting for its own timeout now.
        if delivery.failed > 0 {
            return Ok(delivery);
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn retries_wait_longer_each_time() {
        let waits: Vec<i64> = (1..=5).map(backoff_minutes).collect();
        assert_eq!(waits, vec![1, 2, 4, 8, 16]);
        assert_eq!(backoff_minutes(50), 256);
    }
}
