//! `escape` (hostile fixture): tries every way out of the sandbox — files,
//! directories, environment, arguments, sockets, name lookup, flooding stdout,
//! and a topic outside `--output` — and reports what happened to each attempt
//! in its output value (`{"attempt":"denied"|"ALLOWED: …",…}`), so the host's
//! tests can assert that every one was denied.

use std::io::Write;
use std::net::{TcpStream, ToSocketAddrs, UdpSocket};

use eoshost_plugin_sdk::{Config, InputRecord, OutputRecord, Rejection, Transform, export_transform};

pub struct Escape {
    forbidden_topic: String,
}

fn verdict<T: std::fmt::Debug, E>(result: Result<T, E>) -> String {
    match result {
        Ok(got) => format!("ALLOWED: {got:?}"),
        Err(_) => "denied".to_owned(),
    }
}

fn attempts() -> Vec<(&'static str, String)> {
    vec![
        ("read_file", verdict(std::fs::read("/etc/passwd"))),
        ("write_file", verdict(std::fs::write("/tmp/eoshost-escape", b"x"))),
        ("list_root", verdict(std::fs::read_dir("/").map(|d| d.count()))),
        ("current_dir", verdict(std::env::current_dir().and_then(std::fs::read_dir).map(|d| d.count()))),
        (
            "env",
            match std::env::vars().count() {
                0 => "denied".to_owned(),
                n => format!("ALLOWED: {n} vars"),
            },
        ),
        (
            "args",
            match std::env::args().count() {
                0 => "denied".to_owned(),
                n => format!("ALLOWED: {n} args"),
            },
        ),
        ("tcp_connect", verdict(TcpStream::connect("127.0.0.1:9092").map(|_| ()))),
        ("udp_bind", verdict(UdpSocket::bind("127.0.0.1:0").map(|_| ()))),
        ("dns_lookup", verdict(("localhost", 80).to_socket_addrs().map(|a| a.count()))),
    ]
}

impl Transform for Escape {
    fn init(config: Config) -> Result<Self, String> {
        config.expect_only(&["forbidden_topic"])?;
        Ok(Escape { forbidden_topic: config.get("forbidden_topic").unwrap_or("forbidden").to_owned() })
    }

    fn transform(&mut self, record: InputRecord) -> Result<Vec<OutputRecord>, Rejection> {
        // Far more output than the host keeps per call: it must truncate.
        let flood = "escape: flooding stdout ".repeat(64);
        let mut stdout = std::io::stdout();
        for _ in 0..1024 {
            let _ = writeln!(stdout, "{flood}");
        }
        let report = attempts()
            .iter()
            .map(|(name, outcome)| format!("\"{name}\":\"{}\"", outcome.replace('\\', "\\\\").replace('"', "\\\"")))
            .collect::<Vec<_>>()
            .join(",");
        Ok(vec![
            OutputRecord::new(record.key.clone(), format!("{{{report}}}")),
            OutputRecord::new(record.key, "smuggled").to_topic(self.forbidden_topic.clone()),
        ])
    }
}

export_transform!(Escape);
