//! Outgoing mail: SMTP when `SMTP_URL` is set, otherwise the dev mailbox, a directory of
//! `.eml` files the operator reads (documented in the README).

use std::path::PathBuf;

use anyhow::Context;
use lettre::{
    AsyncSmtpTransport, AsyncTransport, Message, Tokio1Executor,
    message::{
        Body, Mailbox,
        header::{ContentTransferEncoding, ContentType},
    },
};

use crate::settings::MailSettings;

#[derive(Clone)]
pub struct Mailer {
    from: Mailbox,
    transport: Transport,
}

#[derive(Clone)]
enum Transport {
    Smtp(AsyncSmtpTransport<Tokio1Executor>),
    Mailbox(PathBuf),
}

pub struct Mail {
    pub to: String,
    pub subject: String,
    pub body: String,
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
                    .timeout(Some(std::time::Duration::from_secs(10)))
                    .build(),
            ),
            None => Transport::Mailbox(settings.mailbox_dir.clone()),
        };
        Ok(Self { from, transport })
    }

    pub async fn send(&self, mail: Mail) -> anyhow::Result<()> {
        let message = Message::builder()
            .from(self.from.clone())
            .to(mail.to.parse().context("recipient address")?)
            .subject(mail.subject)
            .header(ContentType::TEXT_PLAIN)
            // Quoted-printable: valid for any line length (links), still readable as text
            // in the dev mailbox; codes are put on lines of their own, short enough to stay
            // whole.
            .body(
                Body::new_with_encoding(mail.body, ContentTransferEncoding::QuotedPrintable)
                    .map_err(|_| anyhow::anyhow!("mail body cannot be encoded"))?,
            )
            .context("building the message")?;
        match &self.transport {
            Transport::Smtp(smtp) => {
                smtp.send(message).await.context("sending through SMTP")?;
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

    /// Sends in the background: the caller's answer must not depend on (or reveal,
    /// through its timing) whether a mail was sent. Failures are logged without content.
    pub fn send_later(&self, mail: Mail) {
        let mailer = self.clone();
        tokio::spawn(async move {
            if let Err(error) = mailer.send(mail).await {
                tracing::error!(error = %format!("{error:#}"), "mail could not be sent");
            }
        });
    }
}
