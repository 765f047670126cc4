//! The Schema Registry client's settings against a registry that demands
//! them, as a managed one does: `tests/python/auth_proxy.py` puts the test
//! registry behind HTTPS (a certificate of a CA made here with openssl)
//! and answers 401 to any request without the right basic-auth user or
//! bearer token. eoshost must reach it with `ssl.ca.location` and
//! `basic.auth.user.info` (read from a file), keep the password out of
//! its logs, and stop at start, naming the refusal, with wrong
//! credentials.

use std::io::{BufRead, BufReader};
use std::path::{Path, PathBuf};
use std::process::{Child, Command, Stdio};
use std::time::Duration;

use eoshost_tests::schema_registry::{Expect, Format, Produce, SrClient, python, schema_file};
use eoshost_tests::timeouts::{ALL_COMMITTED, EXIT_AT_START};
use eoshost_tests::{Exit, Scenario};

const PASSWORD: &str = "s3cret-for-the-registry";
const TOKEN: &str = "bearer-token-for-the-registry";

/// The proxy, stopped when dropped; its base URL for eoshost.
struct AuthProxy {
    child: Child,
    url: String,
    ca: PathBuf,
}

impl Drop for AuthProxy {
    fn drop(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}

/// A CA and a certificate for 127.0.0.1 signed by it, in `dir`.
fn certificates(dir: &Path) -> anyhow::Result<(PathBuf, PathBuf, PathBuf)> {
    let run = |args: &[&str]| -> anyhow::Result<()> {
        let status = Command::new("openssl").args(args).current_dir(dir).stdout(Stdio::null()).stderr(Stdio::null()).status()?;
        anyhow::ensure!(status.success(), "openssl {} failed", args.join(" "));
        Ok(())
    };
    run(&[
        "req",
        "-x509",
        "-newkey",
        "rsa:2048",
        "-nodes",
        "-days",
        "2",
        "-subj",
        "/CN=eoshost test CA",
        "-keyout",
        "ca.key",
        "-out",
        "ca.pem",
    ])?;
    run(&["req", "-newkey", "rsa:2048", "-nodes", "-subj", "/CN=127.0.0.1", "-keyout", "server.key", "-out", "server.csr"])?;
    std::fs::write(dir.join("san.ext"), "subjectAltName=IP:127.0.0.1\n")?;
    run(&[
        "x509",
        "-req",
        "-in",
        "server.csr",
        "-CA",
        "ca.pem",
        "-CAkey",
        "ca.key",
        "-CAcreateserial",
        "-days",
        "2",
        "-extfile",
        "san.ext",
        "-out",
        "server.pem",
    ])?;
    Ok((dir.join("ca.pem"), dir.join("server.pem"), dir.join("server.key")))
}

fn start_proxy(scenario: &Scenario, registry: &str) -> anyhow::Result<AuthProxy> {
    let (ca, cert, key) = certificates(scenario.log_dir())?;
    // The registry's origin: the proxy forwards paths as they are.
    let (origin, base_path) = match registry.find("/apis/") {
        Some(at) => (&registry[..at], &registry[at..]),
        None => (registry, ""),
    };
    let mut child = Command::new(python())
        .arg(concat!(env!("CARGO_MANIFEST_DIR"), "/python/auth_proxy.py"))
        .args(["--upstream", origin, "--cert", cert.to_str().unwrap(), "--key", key.to_str().unwrap()])
        .args(["--basic", &format!("eoshost:{PASSWORD}"), "--bearer", TOKEN])
        .stdout(Stdio::piped())
        .stderr(std::fs::File::create(scenario.log_dir().join("auth-proxy.stderr"))?)
        .spawn()?;
    let mut line = String::new();
    BufReader::new(child.stdout.take().expect("piped")).read_line(&mut line)?;
    let port = line.trim().strip_prefix("listening ").ok_or_else(|| anyhow::anyhow!("the proxy said {line:?}"))?.to_owned();
    Ok(AuthProxy { child, url: format!("https://127.0.0.1:{port}{base_path}"), ca })
}

#[test]
fn a_registry_behind_tls_and_basic_auth_is_reached_and_the_password_never_logged() -> anyhow::Result<()> {
    let scenario = Scenario::new("typed_secured_registry");
    let client = SrClient::new(&scenario);
    let proxy = start_proxy(&scenario, client.registry_url())?;
    let input = scenario.topic("in", 1)?;
    let output = scenario.topic("out", 1)?;
    let count = 50;
    client.produce(&input, &Produce::new(Format::Avro, 0, count))?;

    let secret_file = scenario.log_dir().join("sr-user-info");
    std::fs::write(&secret_file, format!("eoshost:{PASSWORD}\n"))?;
    let spec = scenario.spec("identity", &input, &[&output], &scenario.unique("group")).args([
        "--value-format".to_owned(),
        "avro".to_owned(),
        "--schema-registry-url".to_owned(),
        proxy.url.clone(),
        "--schema-registry-config".to_owned(),
        format!("basic.auth.user.info=@{}", secret_file.display()),
        "--schema-registry-config".to_owned(),
        format!("ssl.ca.location={}", proxy.ca.display()),
    ]);
    let mut run = scenario.spawn(&spec, "identity")?;
    let summary = client.consume(&output, &Expect::new(Format::Avro, 0, count));
    let stderr = run.stderr();
    let _ = run.terminate(ALL_COMMITTED);
    summary?.assert_exact("orders through a registry behind TLS and basic auth");
    assert!(!stderr.contains(PASSWORD), "the password is in eoshost's log:\n{stderr}");
    assert!(stderr.contains("basic.auth.user.info=<redacted>"), "the setting is not shown redacted:\n{stderr}");
    let proxied = std::fs::read_to_string(scenario.log_dir().join("auth-proxy.stderr"))?;
    assert!(
        proxied.lines().any(|l| l.starts_with("GET /apis/") && l.ends_with("credentials=basic")),
        "eoshost's requests did not reach the registry with basic auth:\n{proxied}"
    );
    Ok(())
}

#[test]
fn wrong_credentials_stop_eoshost_at_start_and_a_bearer_token_passes() -> anyhow::Result<()> {
    let scenario = Scenario::new("typed_secured_registry_refused");
    let client = SrClient::new(&scenario);
    let proxy = start_proxy(&scenario, client.registry_url())?;
    let input = scenario.topic("in", 1)?;
    let output = scenario.topic("out", 1)?;
    let with = |credential: &str| {
        scenario.spec("identity", &input, &[&output], &scenario.unique("group")).args([
            "--value-format".to_owned(),
            "avro".to_owned(),
            "--output-value-schema".to_owned(),
            schema_file("order-v1.avsc").display().to_string(),
            "--schema-registry-url".to_owned(),
            proxy.url.clone(),
            "--schema-registry-config".to_owned(),
            format!("ssl.ca.location={}", proxy.ca.display()),
            "--schema-registry-config".to_owned(),
            credential.to_owned(),
        ])
    };
    // The output schema is registered at start: refused with a wrong password.
    let (exit, stderr, _) = scenario.run_to_exit(&with("basic.auth.user.info=eoshost:wrong"), "wrong", EXIT_AT_START)?;
    assert_eq!(exit, Exit::Code(2), "wrong credentials are a usage error at start; stderr:\n{stderr}");
    assert!(stderr.contains("401"), "the refusal (HTTP 401) is not named:\n{stderr}");

    // The right token registers it, and eoshost runs.
    let mut run = scenario.spawn(&with(&format!("bearer.auth.token={TOKEN}")), "bearer")?;
    let started = run.wait_for_line("eoshost started", Duration::from_secs(60));
    let stderr = run.stderr();
    let _ = run.terminate(ALL_COMMITTED);
    started.map_err(|e| anyhow::anyhow!("{e}; stderr:\n{stderr}"))?;
    assert!(!stderr.contains(TOKEN), "the token is in eoshost's log:\n{stderr}");
    Ok(())
}
