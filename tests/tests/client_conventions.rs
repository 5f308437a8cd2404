//! The `gatepass` command's conventions, run as a user would: `status`'s
//! exit code, shell completions and the man page, the config file and its
//! folders, `--verbose`, and what an unreachable server leaves behind.

use std::path::{Path, PathBuf};
use std::time::Duration;

use gatepass_common::REFRESH_COOKIE;
use gatepass_tests::cli::{Home, Run};
use gatepass_tests::{unique_email, Server, SmtpSink, PASSWORD};

/// A URL where nothing listens: a port bound, then freed.
fn closed_server() -> String {
    let listener = std::net::TcpListener::bind("127.0.0.1:0").expect("bind");
    format!(
        "http://127.0.0.1:{}",
        listener.local_addr().expect("addr").port()
    )
}

/// Runs `gatepass ARGS` in `home` without `GATEPASS_SERVER`, so the config
/// file (or the default) chooses the server; `env` is set on top.
fn run_unset(home: &Home, args: &[&str], env: &[(&str, &Path)]) -> Run {
    let mut command = home.command(args);
    command.env_remove("GATEPASS_SERVER");
    for (name, value) in env {
        command.env(name, value);
    }
    let output = command.output().expect("run gatepass");
    Run {
        code: output.status.code(),
        stdout: String::from_utf8_lossy(&output.stdout).into_owned(),
        stderr: String::from_utf8_lossy(&output.stderr).into_owned(),
    }
}

/// `$XDG_CONFIG_HOME/gatepass/config.toml` of `home`, written.
fn write_config(home: &Home, text: &str) -> PathBuf {
    let dir = home.path().join("config").join("gatepass");
    std::fs::create_dir_all(&dir).expect("config folder");
    let path = dir.join("config.toml");
    std::fs::write(&path, text).expect("config file");
    path
}

/// Every file and folder under `dir`, for messages.
fn listing(dir: &Path) -> Vec<PathBuf> {
    let mut found = Vec::new();
    let mut todo = vec![dir.to_owned()];
    while let Some(next) = todo.pop() {
        for entry in std::fs::read_dir(&next).into_iter().flatten().flatten() {
            let path = entry.path();
            if path.is_dir() {
                todo.push(path.clone());
            }
            found.push(path);
        }
    }
    found
}

/// The refresh cookie's value in a jar file.
fn refresh_cookie_value(jar: &Path) -> String {
    let store = gatepass_client::store::jar::load(jar).expect("the jar loads");
    let value = store
        .iter_unexpired()
        .find(|cookie| cookie.name() == REFRESH_COOKIE)
        .map(|cookie| cookie.value().to_owned());
    value.expect("a refresh cookie in the jar")
}

#[tokio::test]
async fn status_exits_4_when_not_signed_in_and_0_when_signed_in() {
    let server = Server::start();
    let home = Home::new(&server.base_url);

    let status = home.run(&["--json", "status"]);
    status.assert_code(4);
    assert_eq!(status.json()["signedIn"], false);
    let human = home.run(&["status"]);
    human.assert_code(4);
    assert!(
        human.stdout.contains("signed in:      no"),
        "{}",
        human.stdout
    );

    home.signup(&unique_email("status"));
    let status = home.run(&["--json", "status"]);
    status.assert_code(0);
    assert_eq!(status.json()["signedIn"], true);
}

#[test]
fn completions_for_every_shell_and_the_man_page_come_from_the_commands() {
    let home = Home::new(&closed_server());
    let bash = home.run(&["completion", "bash"]);
    bash.assert_code(0);
    let script = home.path().join("gatepass.bash");
    std::fs::write(&script, &bash.stdout).expect("write the script");
    let check = std::process::Command::new("bash")
        .arg("-n")
        .arg(&script)
        .output()
        .expect("run bash -n");
    assert!(
        check.status.success(),
        "bash -n: {}",
        String::from_utf8_lossy(&check.stderr)
    );
    // Sourced in a real bash, it registers the completion function.
    let loaded = std::process::Command::new("bash")
        .arg("-c")
        .arg(format!(
            "source '{}' && complete -p gatepass",
            script.display()
        ))
        .output()
        .expect("run bash");
    assert!(
        String::from_utf8_lossy(&loaded.stdout).contains("gatepass"),
        "{}",
        String::from_utf8_lossy(&loaded.stderr)
    );

    for (shell, marker) in [
        ("zsh", "#compdef gatepass"),
        ("fish", "complete -c gatepass"),
        ("powershell", "Register-ArgumentCompleter"),
    ] {
        let run = home.run(&["completion", shell]);
        run.assert_code(0);
        assert!(run.stdout.contains(marker), "{shell}:\n{}", run.stdout);
        for word in ["login", "revoke", "server"] {
            assert!(run.stdout.contains(word), "{shell} lacks {word}");
        }
    }
    home.run(&["completion", "tcsh"]).assert_code(2);

    let man = home.run(&["man"]);
    man.assert_code(0);
    assert!(man.stdout.contains(".TH gatepass 1"), "{}", man.stdout);
    assert!(man.stdout.contains("GATEPASS_SERVER"), "{}", man.stdout);
    let pages = home.path().join("man1");
    home.run(&["man", "--dir", pages.to_str().expect("utf-8 path")])
        .assert_code(0);
    for page in [
        "gatepass.1",
        "gatepass-login.1",
        "gatepass-sessions-revoke.1",
    ] {
        let text = std::fs::read_to_string(pages.join(page)).expect(page);
        assert!(text.contains(".TH"), "{page}");
    }
    // The filled-in help shows in the pages.
    let login = std::fs::read_to_string(pages.join("gatepass-login.1")).expect("login page");
    assert!(login.contains("email address"), "{login}");
    // Nothing was stored: completions and pages need no data folder.
    assert!(!home.data_dir().exists());
}

#[tokio::test]
async fn the_config_file_names_the_server_and_the_flag_and_env_override_it() {
    let server = Server::start();
    let home = Home::new(&server.base_url);
    write_config(
        &home,
        &format!(
            "# the default server\nserver = \"{}\"\ntoken_store = \"file\"\n",
            server.base_url
        ),
    );
    // No GATEPASS_SERVER, no flag: the file's server is used.
    let mut command = home.command(&[
        "--json",
        "signup",
        "--first-name",
        "Ada",
        "--last-name",
        "Lovelace",
        "--email",
        &unique_email("config"),
        "--password-stdin",
    ]);
    command
        .env_remove("GATEPASS_SERVER")
        .env_remove("GATEPASS_TOKEN_STORE")
        .stdin(std::process::Stdio::piped());
    let mut child = command.spawn().expect("start gatepass");
    {
        use std::io::Write;
        let mut stdin = child.stdin.take().expect("stdin");
        writeln!(stdin, "{PASSWORD}").expect("write the password");
    }
    let output = child.wait_with_output().expect("gatepass finishes");
    assert_eq!(
        output.status.code(),
        Some(0),
        "{}",
        String::from_utf8_lossy(&output.stderr)
    );
    let status = run_unset(&home, &["--json", "status"], &[]);
    status.assert_code(0);
    assert_eq!(status.json()["server"], server.base_url.as_str());
    // The file's token_store = "file" was used (GATEPASS_TOKEN_STORE unset).
    assert_eq!(status.json()["tokenStore"], "file");
    run_unset(&home, &["me"], &[]).assert_code(0);
    // An empty GATEPASS_SERVER is unset: the file still decides.
    let mut command = home.command(&["--json", "status"]);
    command.env("GATEPASS_SERVER", "");
    let empty = command.output().expect("run gatepass");
    assert_eq!(empty.status.code(), Some(0));
    let json: serde_json::Value = serde_json::from_slice(&empty.stdout).expect("JSON");
    assert_eq!(json["server"], server.base_url.as_str());

    // The flag wins over the file; the environment variable too.
    let elsewhere = closed_server();
    let flagged = run_unset(&home, &["--json", "--server", &elsewhere, "status"], &[]);
    flagged.assert_code(4);
    assert_eq!(flagged.json()["server"], elsewhere.as_str());
    let mut command = home.command(&["--json", "status"]);
    command.env("GATEPASS_SERVER", &elsewhere);
    let from_env = command.output().expect("run gatepass");
    assert_eq!(from_env.status.code(), Some(4));
    let json: serde_json::Value = serde_json::from_slice(&from_env.stdout).expect("JSON");
    assert_eq!(json["server"], elsewhere.as_str());

    // GATEPASS_CONFIG_DIR replaces the folder; GATEPASS_DATA_DIR the data folder.
    let other_config = home.path().join("other-config");
    std::fs::create_dir_all(&other_config).expect("folder");
    std::fs::write(
        other_config.join("config.toml"),
        format!("server = \"{elsewhere}\"\n"),
    )
    .expect("config");
    let moved = run_unset(
        &home,
        &["--json", "status"],
        &[("GATEPASS_CONFIG_DIR", &other_config)],
    );
    moved.assert_code(4);
    assert_eq!(moved.json()["server"], elsewhere.as_str());

    let other_data = home.path().join("other-data");
    let email = unique_email("datadir");
    let mut command = home.command(&["login", "--email", &email, "--password-stdin"]);
    command.env("GATEPASS_DATA_DIR", &other_data);
    server.api().signup(&email).await;
    let login = {
        command.stdin(std::process::Stdio::piped());
        let mut child = command.spawn().expect("start gatepass");
        {
            use std::io::Write;
            let mut stdin = child.stdin.take().expect("stdin");
            writeln!(stdin, "{PASSWORD}").expect("write the password");
        }
        child.wait_with_output().expect("gatepass finishes")
    };
    assert_eq!(
        login.status.code(),
        Some(0),
        "{}",
        String::from_utf8_lossy(&login.stderr)
    );
    let servers: Vec<_> = std::fs::read_dir(other_data.join("servers"))
        .expect("the credentials are in GATEPASS_DATA_DIR")
        .flatten()
        .collect();
    assert_eq!(servers.len(), 1, "{:?}", listing(&other_data));
    assert!(servers[0].path().join("cookies.json").exists());
}

#[test]
fn a_bad_config_file_is_an_error_naming_the_file_and_the_line() {
    let home = Home::new(&closed_server());
    let path = write_config(&home, "server = \"http://127.0.0.1:1\"\nsever = \"typo\"\n");
    let run = run_unset(&home, &["me"], &[]);
    run.assert_code(2);
    let first = run.stderr.lines().next().unwrap_or("");
    assert!(
        first.contains(&path.display().to_string()),
        "{}",
        run.stderr
    );
    assert!(first.contains("line 2"), "{}", run.stderr);
    assert!(first.contains("sever"), "{}", run.stderr);

    let json = run_unset(&home, &["--json", "status"], &[]);
    json.assert_code(2);
    assert_eq!(json.error_json()["code"], "usage");

    // A server the client could never use is caught in the file too.
    write_config(&home, "\n\nserver = \"localhost:8000\"\n");
    let run = run_unset(&home, &["status"], &[]);
    run.assert_code(2);
    assert!(run.stderr.contains("line 3"), "{}", run.stderr);
    assert!(run.stderr.contains("invalid server URL"), "{}", run.stderr);
}

#[tokio::test]
async fn verbose_shows_each_request_and_response_and_no_secret() {
    let sink = SmtpSink::start();
    let reset_base = "http://localhost:3000/change-pass";
    let server = Server::builder()
        .smtp(&sink)
        .env("AUTH_RESET_URL", reset_base)
        .start();
    let home = Home::new(&server.base_url);
    let email = unique_email("verbose");
    let base = &server.base_url;

    let signup = home.run_with_stdin(
        &[
            "--verbose",
            "signup",
            "--first-name",
            "Ada",
            "--last-name",
            "Lovelace",
            "--email",
            &email,
            "--password-stdin",
        ],
        &format!("{PASSWORD}\n"),
    );
    signup.assert_code(0);
    assert!(
        signup
            .stderr
            .contains(&format!("> POST {base}/api/users/signup")),
        "{}",
        signup.stderr
    );
    assert!(signup.stderr.contains("< 201 Created"), "{}", signup.stderr);
    assert!(
        signup.stderr.contains("Set-Cookie: [redacted]"),
        "{}",
        signup.stderr
    );
    assert!(signup.stderr.contains(" ms"), "{}", signup.stderr);
    let token = std::fs::read_to_string(home.token_path()).expect("token file");
    let cookie = refresh_cookie_value(&home.jar_path());
    let mut secrets = vec![PASSWORD.to_owned(), token.trim().to_owned(), cookie];

    // GATEPASS_DEBUG=1 is --verbose; the bearer token shows as redacted.
    let me = {
        let mut command = home.command(&["me"]);
        command.env("GATEPASS_DEBUG", "1");
        let output = command.output().expect("run gatepass");
        Run {
            code: output.status.code(),
            stdout: String::from_utf8_lossy(&output.stdout).into_owned(),
            stderr: String::from_utf8_lossy(&output.stderr).into_owned(),
        }
    };
    me.assert_code(0);
    let request = me
        .stderr
        .lines()
        .find(|line| line.starts_with(&format!("> GET {base}/api/users/me")))
        .unwrap_or_else(|| panic!("no request line:\n{}", me.stderr));
    assert!(
        request.contains("Authorization: Bearer [redacted]"),
        "{request}"
    );
    assert!(me.stderr.contains("< 200 OK"), "{}", me.stderr);

    // A refresh sends the cookie and gets a new one and a new token.
    let refresh = home.run(&["-v", "refresh"]);
    refresh.assert_code(0);
    assert!(
        refresh.stderr.contains("Cookie: [redacted]"),
        "{}",
        refresh.stderr
    );
    secrets.push(
        std::fs::read_to_string(home.token_path())
            .expect("token file")
            .trim()
            .to_owned(),
    );
    secrets.push(refresh_cookie_value(&home.jar_path()));

    // The reset token in the URL is masked too.
    home.run(&["-v", "forgot", "--email", &email])
        .assert_code(0);
    let mails = sink.wait_for_mails_to(&email, 1, Duration::from_secs(20));
    let link = mails
        .last()
        .and_then(|mail| mail.link_starting_with(&format!("{reset_base}/")))
        .expect("a reset link in the mail");
    let reset_token = link.rsplit('/').next().expect("a token").to_owned();
    let new_password = "N3w-horse-battery-staple!";
    let reset = home.run_with_stdin(
        &["-v", "reset", "--token-stdin", "--password-stdin"],
        &format!("{link}\n{new_password}\n"),
    );
    reset.assert_code(0);
    assert!(
        reset
            .stderr
            .contains(&format!("> PATCH {base}/api/users/resetpass/[redacted]")),
        "{}",
        reset.stderr
    );
    secrets.extend([reset_token, new_password.to_owned()]);

    // A refusal shows its status and error code, not its body.
    let wrong = home.run_with_stdin(
        &["-v", "login", "--email", &email, "--password-stdin"],
        "not-the-password-at-all\n",
    );
    wrong.assert_code(1);
    assert!(wrong.stderr.contains("code="), "{}", wrong.stderr);
    secrets.push("not-the-password-at-all".to_owned());

    for run in [&signup, &me, &refresh, &reset, &wrong] {
        for secret in &secrets {
            assert!(!secret.is_empty());
            assert!(
                !run.stderr.contains(secret.as_str()),
                "a secret reached stderr:\n{}",
                run.stderr
            );
        }
        assert!(!run.stderr.contains("Bearer ey"), "{}", run.stderr);
    }
}

#[test]
fn an_unreachable_server_is_one_line_and_a_hint_and_leaves_nothing_behind() {
    let server = closed_server();
    let home = Home::new(&server);
    for args in [
        &["me"][..],
        &["token"],
        &["refresh"],
        &["sessions"],
        &["status"],
        &["logout"],
        &["logout", "--all"],
    ] {
        let run = home.run(args);
        assert!(
            matches!(run.code, Some(3) | Some(4) | Some(0)),
            "{args:?}: {run:?}"
        );
    }
    let me = home.run(&["me"]);
    me.assert_code(3);
    let lines: Vec<&str> = me.stderr.lines().collect();
    assert_eq!(lines.len(), 2, "{}", me.stderr);
    assert_eq!(
        lines[0],
        format!("gatepass: cannot reach the server at {server} (connection refused)")
    );
    assert!(lines[1].contains("Is the server running"), "{}", me.stderr);
    assert!(lines[1].contains("--server"), "{}", me.stderr);
    assert!(lines[1].contains("config.toml"), "{}", me.stderr);
    let json = home.run(&["--json", "me"]);
    json.assert_code(3);
    assert_eq!(
        json.error_json()["feedback"],
        format!("cannot reach the server at {server} (connection refused)")
    );

    // No server folder, no lock file: not even the data folder.
    assert!(
        !home.data_dir().exists(),
        "left behind: {:?}",
        listing(home.path())
    );
}
