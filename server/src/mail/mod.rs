//! Outgoing mail: a `Mailer` that either speaks SMTP (lettre, rustls) or, when
//! no SMTP host is configured, writes each message as an `.eml` file into the
//! outbox folder and logs the file's path (never the message's link).
//!
//! Sending happens off the request path ([`Mailer::send_in_background`]): the
//! requester's answer never waits for, or depends on, the mail server. A failed
//! send is logged with its cause and retried with backoff.

mod messages;

use std::path::PathBuf;
use std::time::Duration;

use lettre::transport::smtp::authentication::Credentials;
use lettre::{AsyncSmtpTransport, AsyncTransport, Message, Tokio1Executor};

pub use messages::{password_changed, reset_link, second_factor_changed};

use crate::config::{Config, MailConfig, SmtpTls};
use crate::metrics::{self, MailOutcome};

/// How often a send is tried before it is given up (and logged as lost).
const SEND_ATTEMPTS: u32 = 4;
const FIRST_BACKOFF: Duration = Duration::from_millis(500);

#[derive(Clone)]
pub enum Mailer {
    Smtp(AsyncSmtpTransport<Tokio1Executor>),
    Outbox(PathBuf),
}

#[derive(Debug, thiserror::Error)]
pub enum MailError {
    #[error("SMTP: {0}")]
    Smtp(#[from] lettre::transport::smtp::Error),
    #[error("outbox: {0}")]
    Io(#[from] std::io::Error),
    #[error("building the message: {0}")]
    Build(#[from] lettre::error::Error),
    #[error("address: {0}")]
    Address(#[from] lettre::address::AddressError),
}

impl Mailer {
    pub fn new(config: &Config) -> Result<Mailer, MailError> {
        match &config.mail.transport {
            MailConfig::Outbox(dir) => Ok(Mailer::Outbox(dir.clone())),
            MailConfig::Smtp(smtp) => {
                let builder = match smtp.tls {
                    SmtpTls::None => {
                        AsyncSmtpTransport::<Tokio1Executor>::builder_dangerous(&smtp.host)
                    }
                    SmtpTls::StartTls => {
                        AsyncSmtpTransport::<Tokio1Executor>::starttls_relay(&smtp.host)?
                    }
                    SmtpTls::Tls => AsyncSmtpTransport::<Tokio1Executor>::relay(&smtp.host)?,
                };
                let mut builder = builder
                    .port(smtp.port)
                    .timeout(Some(Duration::from_secs(15)));
                if let (Some(user), Some(password)) = (&smtp.username, &smtp.password) {
                    let password = String::from_utf8_lossy(password.expose()).into_owned();
                    builder = builder.credentials(Credentials::new(user.clone(), password));
                }
                Ok(Mailer::Smtp(builder.build()))
            }
        }
    }

    /// Where mail goes, for the start-up log.
    pub fn describe(&self, config: &Config) -> String {
        match (&config.mail.transport, self) {
            (MailConfig::Smtp(smtp), _) => {
                format!("SMTP {}:{} ({:?})", smtp.host, smtp.port, smtp.tls)
            }
            (_, Mailer::Outbox(dir)) => format!(
                "no SMTP_HOST configured: mail is written to {} as .eml files",
                dir.display()
            ),
            _ => "mail".into(),
        }
    }

    /// Sends `message` now, once.
    pub async fn send(&self, message: &Message) -> Result<(), MailError> {
        match self {
            Mailer::Smtp(transport) => {
                transport.send(message.clone()).await?;
                Ok(())
            }
            Mailer::Outbox(dir) => {
                let path = write_to_outbox(dir, message).await?;
                log::info!(target: "gatepass::mail", "mail written to {}", path.display());
                Ok(())
            }
        }
    }

    /// Sends `message` from a background task, retrying with backoff; the
    /// caller's answer does not wait. `what` names the mail in the log.
    pub fn send_in_background(&self, what: &'static str, message: Message) {
        let mailer = self.clone();
        rocket::tokio::spawn(async move {
            let mut backoff = FIRST_BACKOFF;
            for attempt in 1..=SEND_ATTEMPTS {
                match mailer.send(&message).await {
                    Ok(()) => {
                        log::info!(target: "gatepass::mail", "{what} mail sent");
                        metrics::mail(what, MailOutcome::Sent);
                        return;
                    }
                    Err(e) if attempt < SEND_ATTEMPTS => {
                        metrics::mail(what, MailOutcome::Retried);
                        log::warn!(
                            target: "gatepass::mail",
                            "{what} mail: attempt {attempt} of {SEND_ATTEMPTS} failed: {e}; retrying in {backoff:?}"
                        );
                        rocket::tokio::time::sleep(backoff).await;
                        backoff *= 2;
                    }
                    Err(e) => {
                        metrics::mail(what, MailOutcome::Failed);
                        log::error!(target: "gatepass::mail", "{what} mail lost after {SEND_ATTEMPTS} attempts: {e}");
                    }
                }
            }
        });
    }
}

/// Writes the message to `<dir>/<time>-<uuid>.eml`, readable by the owner only
/// (it may hold a reset link).
async fn write_to_outbox(dir: &std::path::Path, message: &Message) -> std::io::Result<PathBuf> {
    let dir = dir.to_owned();
    let bytes = message.formatted();
    rocket::tokio::task::spawn_blocking(move || {
        use std::io::Write;
        std::fs::create_dir_all(&dir)?;
        let name = format!(
            "{}-{}.eml",
            crate::store::now_ms(),
            uuid::Uuid::new_v4().simple()
        );
        let path = dir.join(name);
        let mut options = std::fs::OpenOptions::new();
        options.write(true).create_new(true);
        #[cfg(unix)]
        std::os::unix::fs::OpenOptionsExt::mode(&mut options, 0o600);
        let mut file = options.open(&path)?;
        file.write_all(&bytes)?;
        file.sync_all()?;
        Ok(path)
    })
    .await
    .map_err(std::io::Error::other)?
}
