//! Outgoing mail: SMTP when `SMTP_URL` is set, otherwise the dev mailbox, a directory of
//! `.eml` files the operator reads (documented in the README).

use std::{path::PathBuf, time::Duration};

use anyhow::Context;
use lettre::{
    AsyncSmtpTransport, AsyncTransport, Message, Tokio1Executor,
    message::{
        Body, Mailbox, MultiPart,
        header::{ContentTransferEncoding, ContentType, HeaderName, HeaderValue},
    },
};

use crate::settings::MailSettings;

pub mod queue;

#[derive(Clone)]
pub struct Mailer {
    from: Mailbox,
    transport: Transport,
    send_timeout: Duration,
}

/// How long one mail may take through SMTP, from connecting to the server's last answer.
/// lettre's own timeout covers the connection only: a server that accepts and then says
/// nothing would otherwise hold the queue (and its row lock) forever.
pub const SMTP_SEND_TIMEOUT: Duration = Duration::from_secs(30);

#[derive(Clone)]
enum Transport {
    Smtp(AsyncSmtpTransport<Tokio1Executor>),
    Mailbox(PathBuf),
}

/// A plain-text mail, queued with [`queue::enqueue_text`].
pub struct Mail {
    pub to: String,
    pub subject: String,
    pub body: String,
}

/// A mail with an HTML part next to its text, and optionally the RFC 8058 one-click
/// unsubscribe headers (what mail clients show as "Se désabonner").
pub struct RichMail {
    pub to: String,
    pub subject: String,
    pub text: String,
    /// Without it, the mail is text alone.
    pub html: Option<String>,
    pub unsubscribe_url: Option<String>,
}

impl Mailer {
    pub fn from_settings(settings: &MailSettings) -> anyhow::Result<Self> {
        let from = settings
            .from
            .parse()
            .context("MAIL_FROM is not a valid address")?;
        let transport = match &settings.smtp_url {
            Some(url) => Transport::Smtp(
                AsyncSmtpTransport::<Tokio1Executor>::from_url(url.expose())
                    .context("SMTP_URL is invalid")?
                    .timeout(Some(Duration::from_secs(10)))
                    .build(),
            ),
            None => Transport::Mailbox(settings.mailbox_dir.clone()),
        };
        Ok(Self {
            from,
            transport,
            send_timeout: SMTP_SEND_TIMEOUT,
        })
    }

    /// The same mailer, giving up on a mail after `timeout` instead of
    /// [`SMTP_SEND_TIMEOUT`].
    pub fn with_send_timeout(self, timeout: Duration) -> Self {
        Self {
            send_timeout: timeout,
            ..self
        }
    }

    /// Sends a mail now (the mail queue calls it, and retries on failure).
    pub async fn send_rich(&self, mail: RichMail) -> anyhow::Result<()> {
        let mut builder = Message::builder()
            .from(self.from.clone())
            .to(mail.to.parse().context("recipient address")?)
            .subject(mail.subject);
        if let Some(url) = mail.unsubscribe_url {
            builder = builder
                .raw_header(HeaderValue::new(
                    HeaderName::new_from_ascii_str("List-Unsubscribe"),
                    format!("<{url}>"),
                ))
                .raw_header(HeaderValue::new(
                    HeaderName::new_from_ascii_str("List-Unsubscribe-Post"),
                    "List-Unsubscribe=One-Click".to_owned(),
                ));
        }
        let message = match mail.html {
            Some(html) => builder.multipart(MultiPart::alternative_plain_html(mail.text, html)),
            // Quoted-printable: valid for any line length (links), still readable as text
            // in the dev mailbox; codes are put on lines of their own, short enough to
            // stay whole.
            None => builder.header(ContentType::TEXT_PLAIN).body(
                Body::new_with_encoding(mail.text, ContentTransferEncoding::QuotedPrintable)
                    .map_err(|_| anyhow::anyhow!("mail body cannot be encoded"))?,
            ),
        }
        .context("building the message")?;
        self.deliver(message).await
    }

    async fn deliver(&self, message: Message) -> anyhow::Result<()> {
        match &self.transport {
            Transport::Smtp(smtp) => {
                tokio::time::timeout(self.send_timeout, smtp.send(message))
                    .await
                    .map_err(|_| {
                        anyhow::anyhow!(
                            "the SMTP server did not finish within {} s",
                            self.send_timeout.as_secs_f32()
                        )
                    })?
                    .context("sending through SMTP")?;
            }
            Transport::Mailbox(dir) => {
                tokio::fs::create_dir_all(dir)
                    .await
                    .context("creating the mailbox directory")?;
                let name = format!(
                    "{}-{}.eml",
                    chrono::Utc::now().format("%Y%m%dT%H%M%S%.3fZ"),
                    uuid::Uuid::new_v4()
                );
                tokio::fs::write(dir.join(&name), message.formatted())
                    .await
                    .context("writing to the dev mailbox")?;
                tracing::info!(file = %name, "mail written to the dev mailbox");
            }
        }
        Ok(())
    }
}
