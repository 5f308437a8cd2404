//! The runner: owns the terminal, turns terminal events and ticks into
//! messages, runs commands as tokio tasks that answer over the same channel,
//! and draws after every message. The terminal is restored on every way
//! out: quit, Ctrl-C (a key in raw mode), an error, a panic (hook), and
//! SIGTERM or SIGHUP (`kill`, a closed terminal window).

use std::io::{stdout, Stdout, Write};
use std::sync::Once;
use std::time::Duration;

use crossterm::event::{self, DisableBracketedPaste, EnableBracketedPaste, Event};
use crossterm::terminal::{
    disable_raw_mode, enable_raw_mode, BeginSynchronizedUpdate, EndSynchronizedUpdate,
    EnterAlternateScreen, LeaveAlternateScreen,
};
use crossterm::{cursor, execute, queue};
use gatepass_common::SignupRequest;
use ratatui::backend::CrosstermBackend;
use ratatui::Terminal;
use time::OffsetDateTime;
use tokio::sync::mpsc::{self, UnboundedSender};
use tokio::task::JoinSet;

use super::app::{update, AccountData, App, Command, Message, Secret};
use super::status::StatusInfo;
use super::theme;
use super::tokens::ShownToken;
use super::two_factor::{Answer, Enrolment, Request};
use super::view::view;
use crate::api::{ApiClient, Login, ACCESS_TOKEN_ENV, API_TOKEN_ENV};
use crate::error::{ClientError, Result};

/// Spinner frames and the token countdown move at this pace.
const TICK: Duration = Duration::from_millis(100);
/// How often the input thread checks whether the app has ended.
const INPUT_POLL: Duration = Duration::from_millis(100);

/// The terminal in raw mode on the alternate screen; restored when dropped.
struct Tui {
    terminal: Terminal<CrosstermBackend<FrameWriter<Stdout>>>,
}

/// Holds a frame until it is flushed, then writes it to standard output in
/// one piece: the standard output's own line buffer would send a
/// full-screen QR code in pieces of 1 KiB, and a terminal could show the
/// half-drawn frame in between. What is not flushed is dropped, so a panic
/// in the middle of a frame leaves no half frame on the restored screen.
struct FrameWriter<W: Write> {
    frame: Vec<u8>,
    out: W,
}

impl<W: Write> FrameWriter<W> {
    fn new(out: W) -> FrameWriter<W> {
        FrameWriter {
            frame: Vec::new(),
            out,
        }
    }
}

impl<W: Write> Write for FrameWriter<W> {
    fn write(&mut self, bytes: &[u8]) -> std::io::Result<usize> {
        self.frame.extend_from_slice(bytes);
        Ok(bytes.len())
    }

    fn flush(&mut self) -> std::io::Result<()> {
        self.out.write_all(&self.frame)?;
        self.frame.clear();
        self.out.flush()
    }
}

impl Tui {
    fn enter() -> Result<Tui> {
        install_panic_hook();
        let fail = |e| ClientError::io("cannot set up the terminal", e);
        enable_raw_mode().map_err(fail)?;
        // From here on, Drop restores whatever was set up.
        let terminal =
            Terminal::new(CrosstermBackend::new(FrameWriter::new(stdout()))).map_err(fail)?;
        let tui = Tui { terminal };
        execute!(stdout(), EnterAlternateScreen, EnableBracketedPaste).map_err(fail)?;
        Ok(tui)
    }

    /// Draws one frame as one synchronized update: terminals that know the
    /// mode show it whole, others simply get it in one write.
    fn draw(&mut self, app: &App) -> Result<()> {
        let fail = |e| ClientError::io("cannot draw on the terminal", e);
        queue!(self.terminal.backend_mut(), BeginSynchronizedUpdate).map_err(fail)?;
        // `draw` flushes the frame; the end of the update follows it.
        self.terminal.draw(|frame| view(app, frame)).map_err(fail)?;
        let out = self.terminal.backend_mut();
        queue!(out, EndSynchronizedUpdate).map_err(fail)?;
        out.flush().map_err(fail)
    }
}

impl Drop for Tui {
    fn drop(&mut self) {
        restore();
    }
}

/// Puts the terminal back as the shell expects it. Safe to call twice.
fn restore() {
    let _ = disable_raw_mode();
    let _ = execute!(
        stdout(),
        DisableBracketedPaste,
        LeaveAlternateScreen,
        cursor::Show
    );
}

/// A panic prints its message on a usable terminal, not into raw mode on
/// the alternate screen where nobody would see it.
fn install_panic_hook() {
    static ONCE: Once = Once::new();
    ONCE.call_once(|| {
        let previous = std::panic::take_hook();
        std::panic::set_hook(Box::new(move |info| {
            restore();
            previous(info);
        }));
    });
}

/// Reads terminal events on a thread of its own (crossterm's reading
/// blocks) until the app is gone.
fn spawn_input(tx: UnboundedSender<Message>) {
    std::thread::spawn(move || loop {
        if tx.is_closed() {
            return;
        }
        let message = match event::poll(INPUT_POLL) {
            Ok(false) => continue,
            Ok(true) => match event::read() {
                Ok(Event::Key(key)) => Message::Key(key),
                Ok(Event::Paste(text)) => Message::Paste(text),
                Ok(Event::Resize(_, _)) => Message::Resize,
                Ok(_) => continue,
                Err(_) => Message::InputClosed,
            },
            Err(_) => Message::InputClosed,
        };
        let closed = matches!(message, Message::InputClosed);
        if tx.send(message).is_err() || closed {
            return;
        }
    });
}

/// Runs the app until the user quits.
pub async fn run(client: ApiClient) -> Result<()> {
    let mut tui = Tui::enter()?;
    let (tx, mut rx) = mpsc::unbounded_channel();
    spawn_input(tx.clone());
    let mut ticks = tokio::time::interval(TICK);
    ticks.set_missed_tick_behavior(tokio::time::MissedTickBehavior::Skip);
    let mut tasks = JoinSet::new();

    let mut stop = Stop::listen()?;

    let (mut app, mut commands) = App::new(client.server(), OffsetDateTime::now_utc());
    app.colors = theme::colors_wanted(std::env::var_os("NO_COLOR").as_deref());
    app.env_credential = env_credential(&client);
    loop {
        for command in commands.drain(..) {
            if command == Command::Quit {
                // Dropping `tasks` aborts what is still in flight.
                return Ok(());
            }
            tasks.spawn(execute(client.clone(), command, tx.clone()));
        }
        tui.draw(&app)?;
        let message = tokio::select! {
            Some(message) = rx.recv() => message,
            _ = ticks.tick() => Message::Tick(OffsetDateTime::now_utc()),
            // Returning drops `tui`, which restores the terminal.
            stopped = stop.next() => return Err(stopped),
            Some(joined) = tasks.join_next() => {
                match joined {
                    Err(e) if e.is_panic() => {
                        return Err(ClientError::io(
                            "the terminal app stopped",
                            std::io::Error::other("a network task panicked"),
                        ));
                    }
                    _ => continue,
                }
            }
        };
        commands = update(&mut app, message);
    }
}

/// The variable whose credential is in charge, if one from the environment is.
fn env_credential(client: &ApiClient) -> Option<&'static str> {
    if client.uses_personal_token() {
        Some(API_TOKEN_ENV)
    } else if client.uses_env_token() {
        Some(ACCESS_TOKEN_ENV)
    } else {
        None
    }
}

/// SIGTERM and SIGHUP: without a handler they would kill the app with the
/// terminal still raw and on the alternate screen.
struct Stop {
    #[cfg(unix)]
    signals: [(tokio::signal::unix::Signal, &'static str, i32); 2],
}

impl Stop {
    fn listen() -> Result<Stop> {
        #[cfg(unix)]
        {
            use tokio::signal::unix::{signal, SignalKind};
            let listen = |kind: SignalKind| {
                signal(kind).map_err(|e| ClientError::io("cannot listen for signals", e))
            };
            Ok(Stop {
                signals: [
                    (listen(SignalKind::terminate())?, "SIGTERM", 15),
                    (listen(SignalKind::hangup())?, "SIGHUP", 1),
                ],
            })
        }
        #[cfg(not(unix))]
        Ok(Stop {})
    }

    /// The first of the signals to arrive.
    async fn next(&mut self) -> ClientError {
        #[cfg(unix)]
        {
            let [(term, term_name, term_no), (hup, hup_name, hup_no)] = &mut self.signals;
            let (name, signal) = tokio::select! {
                _ = term.recv() => (*term_name, *term_no),
                _ = hup.recv() => (*hup_name, *hup_no),
            };
            ClientError::Terminated { name, signal }
        }
        #[cfg(not(unix))]
        std::future::pending().await
    }
}

/// Carries out one command and sends its answer. The status goes first, so
/// the answer's handler already sees the new token's expiry.
async fn execute(client: ApiClient, command: Command, tx: UnboundedSender<Message>) {
    let message = match command {
        Command::Quit => return,
        Command::Start => Message::Started(start(&client).await),
        Command::SignIn { email, password } => {
            match client.login(&email, password.expose()).await {
                Ok(Login::SignedIn(user)) => Message::SignedIn(Ok(user)),
                Ok(Login::MfaRequired { mfa_token }) => Message::CodeRequired {
                    mfa_token: Secret::new(&mfa_token),
                },
                Err(e) => Message::SignedIn(Err(e)),
            }
        }
        Command::SignInSecondFactor { mfa_token, factor } => Message::SecondFactorChecked(
            client
                .login_second_factor(mfa_token.expose(), &factor)
                .await,
        ),
        Command::SignUp {
            first_name,
            last_name,
            email,
            password,
            confirm,
        } => {
            let request = SignupRequest {
                first_name,
                last_name,
                email,
                password: password.expose().to_owned(),
                password_confirm: Some(confirm.expose().to_owned()),
            };
            Message::SignedUp(client.signup(&request).await)
        }
        Command::Forgot { email } => Message::ForgotSent(client.forgot_password(&email).await),
        Command::Reset {
            token_or_link,
            password,
        } => Message::ResetDone(
            client
                .reset_password(token_or_link.expose(), password.expose())
                .await,
        ),
        Command::LoadAccount => Message::AccountLoaded(load_account(&client).await),
        Command::LookUp { id } => Message::LookedUp(client.user(&id).await),
        Command::Revoke { id } => Message::Revoked(client.revoke_session(&id).await),
        Command::Refresh => Message::Refreshed(client.refresh().await.map(|_token| ())),
        Command::SignOut { all } => Message::SignedOut {
            all,
            result: client.logout(all).await,
        },
        // Personal access tokens (tokens.rs).
        Command::LoadTokens => Message::TokensLoaded(client.personal_tokens().await),
        Command::CreateToken {
            name,
            expires_in,
            code,
        } => Message::TokenCreated(
            client
                .create_personal_token(
                    &name,
                    expires_in.as_deref(),
                    code.as_ref().map(Secret::expose),
                )
                .await
                .map(ShownToken::from),
        ),
        Command::RevokeToken { id } => {
            Message::TokenRevoked(client.revoke_personal_token(&id).await)
        }
        Command::TwoFactor(request) => Message::TwoFactor(two_factor(&client, request).await),
    };
    let status = client.status().await.ok().map(StatusInfo::from);
    let _ = tx.send(Message::Status {
        status,
        notices: client.take_notices(),
    });
    let _ = tx.send(message);
}

/// Where to start: the account when a stored session still holds.
async fn start(client: &ApiClient) -> Result<Option<AccountData>> {
    if !client.status().await?.signed_in {
        return Ok(None);
    }
    load_account(client).await.map(Some)
}

/// The Two-factor panel's calls.
async fn two_factor(client: &ApiClient, request: Request) -> Answer {
    match request {
        Request::Status => Answer::Status(client.second_factor_status().await),
        Request::Setup { password } => Answer::SetUp(
            client
                .totp_setup(password.expose())
                .await
                .map(|setup| Enrolment {
                    secret: Secret::new(&setup.secret),
                    uri: Secret::new(&setup.otpauth_uri),
                }),
        ),
        Request::Confirm { code } => Answer::Confirmed(client.totp_confirm(code.expose()).await),
        Request::RecoveryCodes { code } => {
            Answer::RecoveryCodes(client.regenerate_recovery_codes(code.expose()).await)
        }
        Request::Disable { password, code } => {
            Answer::Disabled(client.totp_disable(password.expose(), code.expose()).await)
        }
    }
}

async fn load_account(client: &ApiClient) -> Result<AccountData> {
    let user = client.me().await?;
    let sessions = client.sessions().await?;
    Ok(AccountData { user, sessions })
}

#[cfg(test)]
mod tests {
    use std::cell::RefCell;
    use std::rc::Rc;

    use ratatui::widgets::Paragraph;

    use super::*;

    /// Records each write it is given, as the terminal would receive them.
    #[derive(Clone, Default)]
    struct Writes(Rc<RefCell<Vec<Vec<u8>>>>);

    impl Write for Writes {
        fn write(&mut self, bytes: &[u8]) -> std::io::Result<usize> {
            self.0.borrow_mut().push(bytes.to_vec());
            Ok(bytes.len())
        }

        fn flush(&mut self) -> std::io::Result<()> {
            Ok(())
        }
    }

    #[test]
    fn a_frame_reaches_the_terminal_in_one_write() {
        let writes = Writes::default();
        let backend = CrosstermBackend::new(FrameWriter::new(writes.clone()));
        let area = ratatui::layout::Rect::new(0, 0, 80, 24);
        let viewport = ratatui::Viewport::Fixed(area);
        let mut terminal =
            Terminal::with_options(backend, ratatui::TerminalOptions { viewport }).unwrap();
        // A full screen of distinct rows: about 2 KiB of cells, twice what
        // the standard output's line buffer passed on at once.
        let rows: Vec<String> = (0..24)
            .map(|row| format!("{row:02}{}", "█".repeat(78)))
            .collect();
        terminal
            .draw(|frame| frame.render_widget(Paragraph::new(rows.join("\n")), frame.area()))
            .unwrap();
        let writes = writes.0.borrow();
        let with_cells: Vec<String> = writes
            .iter()
            .map(|write| String::from_utf8_lossy(write).into_owned())
            .filter(|write| write.contains('█'))
            .collect();
        assert_eq!(with_cells.len(), 1, "{} writes", writes.len());
        for row in &rows {
            assert!(
                with_cells[0].contains(row.as_str()),
                "{row} not in the frame's write"
            );
        }
    }

    #[test]
    fn what_is_not_flushed_is_never_written() {
        let writes = Writes::default();
        let mut half = FrameWriter::new(writes.clone());
        half.write_all(b"half a frame").unwrap();
        drop(half);
        assert!(writes.0.borrow().is_empty());
    }
}
