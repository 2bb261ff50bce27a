//! The SMTP path of the mailer against a minimal local SMTP server.
#![expect(clippy::unwrap_used, reason = "tests fail loudly")]

use rightful_engine::mail::Mailer;
use rightful_engine::settings::Settings;
use std::io::{BufRead, BufReader, Write};
use std::net::TcpListener;
use std::path::Path;
use std::sync::{Arc, Mutex};

/// Speaks just enough SMTP to accept one message; returns its DATA.
fn smtp_server() -> (u16, Arc<Mutex<String>>) {
    let listener = TcpListener::bind("127.0.0.1:0").unwrap();
    let port = listener.local_addr().unwrap().port();
    let data = Arc::new(Mutex::new(String::new()));
    let out = data.clone();
    std::thread::spawn(move || {
        let (mut stream, _) = listener.accept().unwrap();
        let mut reader = BufReader::new(stream.try_clone().unwrap());
        write!(stream, "220 localhost ESMTP test\r\n").unwrap();
        let mut in_data = false;
        let mut line = String::new();
        loop {
            line.clear();
            if reader.read_line(&mut line).unwrap() == 0 {
                break;
            }
            if in_data {
                if line == ".\r\n" {
                    in_data = false;
                    write!(stream, "250 queued\r\n").unwrap();
                } else {
                    out.lock().unwrap().push_str(&line);
                }
                continue;
            }
            let cmd = line.to_ascii_uppercase();
            if cmd.starts_with("EHLO") {
                write!(stream, "250-localhost\r\n250 8BITMIME\r\n").unwrap();
            } else if cmd.starts_with("DATA") {
                in_data = true;
                write!(stream, "354 go ahead\r\n").unwrap();
            } else if cmd.starts_with("QUIT") {
                write!(stream, "221 bye\r\n").unwrap();
                break;
            } else {
                write!(stream, "250 ok\r\n").unwrap();
            }
        }
    });
    (port, data)
}

#[test]
fn mail_goes_through_a_real_smtp_conversation() {
    let (port, data) = smtp_server();
    let mut settings = Settings::default();
    settings.mail.transport = "smtp".into();
    settings.mail.smtp_url = format!("smtp+plain://127.0.0.1:{port}");
    let policy = rightful_engine::policy::load_dir(
        &Path::new(env!("CARGO_MANIFEST_DIR")).join("../../config/policy"),
    )
    .unwrap()
    .policy;
    let mailer = Mailer::from_settings(&settings, &policy).unwrap();
    mailer
        .send(
            "ann@example.test",
            "Confirm your request",
            "Your code: 123456",
        )
        .unwrap();
    let got = data.lock().unwrap().clone();
    assert!(got.contains("To: ann@example.test"), "{got}");
    assert!(
        got.contains("From: Enlaps <info@enlaps.fr>"),
        "the sender defaults to the DPO's address: {got}"
    );
    assert!(got.contains("Your code: 123456"), "{got}");
}

#[test]
fn a_bad_mail_setting_is_a_clear_error() {
    let policy = rightful_engine::policy::load_dir(
        &Path::new(env!("CARGO_MANIFEST_DIR")).join("../../config/policy"),
    )
    .unwrap()
    .policy;
    let mut settings = Settings::default();
    settings.mail.transport = "pigeon".into();
    assert!(
        Mailer::from_settings(&settings, &policy)
            .unwrap_err()
            .to_string()
            .contains("use outbox or smtp")
    );
}
