//! The mail queue: mails written in the transaction that decides them, delivered by the
//! worker, retried with a growing delay when the SMTP server refuses or is away. No
//! request ever waits for SMTP.

use chrono::{DateTime, Utc};
use sqlx::{PgConnection, PgPool};

use crate::mail::{Mailer, RichMail};

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
}

pub async fn enqueue(conn: &mut PgConnection, mail: &QueuedMail<'_>) -> sqlx::Result<i64> {
    sqlx::query_scalar(
        "insert into mail_queue (kind, to_address, subject, text_body, html_body, unsubscribe_url)
         values ($1, $2, $3, $4, $5, $6) returning id",
    )
    .bind(mail.kind)
    .bind(mail.to)
    .bind(mail.subject)
    .bind(mail.text)
    .bind(mail.html)
    .bind(mail.unsubscribe_url)
    .fetch_one(conn)
    .await
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
            "select id, to_address, subject, text_body, html_body, unsubscribe_url, attempts
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
        let result = mailer
            .send_rich(RichMail {
                to: mail.to_address,
                subject: mail.subject,
                text: mail.text_body.clone(),
                html: mail.html_body.unwrap_or_else(|| mail.text_body.clone()),
                unsubscribe_url: mail.unsubscribe_url,
            })
            .await;
        match result {
            Ok(()) => {
                sqlx::query(
                    "update mail_queue set sent_at = now(), attempts = $2, last_error = null where id = $1",
                )
                .bind(id)
                .bind(attempts)
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
