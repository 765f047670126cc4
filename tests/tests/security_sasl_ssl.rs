//! eoshost against a secured cluster (the tests' own broker of
//! `scripts/kafka start --security sasl_ssl`, see `eoshost_tests::secured`):
//! an exactly-once copy over SASL_SSL with SCRAM-SHA-512 and with
//! OAUTHBEARER tokens from a client-credentials endpoint whose signing key
//! the broker checks through its JWKS; secrets given as `@file` and as
//! `EOSHOST_LIBRDKAFKA_*` variables never appear in the logs; an untrusted
//! certificate or a wrong password ends eoshost with exit code 2 within 10 s,
//! naming the broker and the cause.

use std::collections::BTreeSet;
use std::time::{Duration, Instant};

use anyhow::Context as _;
use eoshost_tests::secured::{SecuredBroker, write_compressed};
use eoshost_tests::timeouts::{ALL_COMMITTED, EXIT_AFTER_SIGTERM, EXIT_AT_START};
use eoshost_tests::{EoshostSpec, Exit, Isolation, RecordPlan, Scenario, Tally};

const RECORDS: u64 = 400;
const PARTITIONS: i32 = 2;

/// Creates an input with `RECORDS` records and an empty output on the
/// secured broker; returns (input, output, the record numbers).
fn seeded_topics(scenario: &Scenario, secured: &SecuredBroker) -> anyhow::Result<(String, String, BTreeSet<u64>)> {
    let input = scenario.unique("in");
    let output = scenario.unique("out");
    secured.plain.create_topic(&input, PARTITIONS)?;
    secured.plain.create_topic(&output, PARTITIONS)?;
    let plan = RecordPlan::new(40, PARTITIONS);
    write_compressed(&secured.plain, &input, &plan, 0..RECORDS, "none")?;
    Ok((input, output, (0..RECORDS).collect()))
}

/// Runs `spec` until the group has committed the whole input, then checks
/// the output with a read_committed reader and stops eoshost cleanly.
fn copies_exactly_once(
    scenario: &Scenario,
    secured: &SecuredBroker,
    spec: &EoshostSpec,
    input: &str,
    output: &str,
    expected: &BTreeSet<u64>,
    secrets: &[String],
) -> anyhow::Result<()> {
    let mut run = scenario.spawn(spec, "copy")?;
    secured.plain.progress(spec.group(), input)?.wait_all_committed(&mut [&mut run], ALL_COMMITTED)?;
    let outputs = secured.plain.read_topic(output, Isolation::Committed, expected.len())?;
    let tally = Tally::count(expected, &outputs);
    scenario.report(&format!("{tally}"));
    let stopped = run.terminate(EXIT_AFTER_SIGTERM)?;
    assert!(
        matches!(stopped, Some((Exit::Code(0), _))),
        "clean stop expected, got {stopped:?}; stderr:\n{}",
        run.stderr_tail(20)
    );
    tally.assert_exactly_once("copy over SASL_SSL");
    let stderr = run.stderr();
    for secret in secrets {
        assert!(!stderr.contains(secret.as_str()), "a secret value appears in the log {}", run.stderr_path().display());
    }
    Ok(())
}

/// Runs `spec`, which must fail at start; returns its stderr and how long it ran.
fn refused_at_start(scenario: &Scenario, spec: &EoshostSpec, label: &str) -> anyhow::Result<(String, Duration)> {
    let started = Instant::now();
    let mut run = scenario.spawn(spec, label)?;
    let exit = run
        .wait_exit(EXIT_AT_START)
        .with_context(|| format!("{label}: still running after {EXIT_AT_START:?}; stderr tail:\n{}", run.stderr_tail(20)))?;
    let took = started.elapsed();
    let stderr = run.stderr();
    scenario.report(&format!("{label}: {exit} after {took:?}; last line: {}", stderr.lines().last().unwrap_or("")));
    assert_eq!(exit, Exit::Code(2), "{label}: stderr:\n{stderr}");
    Ok((stderr, took))
}

#[test]
fn exactly_once_copy_over_sasl_ssl_with_scram_sha_512() -> anyhow::Result<()> {
    let secured = SecuredBroker::get();
    let scenario = Scenario::new("sasl_ssl_scram");
    let (input, output, expected) = seeded_topics(&scenario, secured)?;
    let password = secured.secret("SCRAM_PASSWORD_FILE");
    // The password from a file, named through an environment variable: no
    // secret on the command line.
    let spec = EoshostSpec::new("identity", &input, &[&output], &scenario.unique("group"), secured.value("SASL_SSL_BOOTSTRAP"))
        .librdkafka("security.protocol=SASL_SSL")
        .librdkafka("sasl.mechanism=SCRAM-SHA-512")
        .librdkafka(&format!("sasl.username={}", secured.value("SCRAM_USER")))
        .librdkafka(&format!("ssl.ca.location={}", secured.value("CA_PEM")))
        .env("EOSHOST_LIBRDKAFKA_SASL_PASSWORD", &format!("@{}", secured.value("SCRAM_PASSWORD_FILE")))
        .env("EOSHOST_LOG", "debug");
    copies_exactly_once(&scenario, secured, &spec, &input, &output, &expected, &[password])
}

#[test]
fn exactly_once_copy_over_sasl_ssl_with_oauthbearer_oidc_tokens() -> anyhow::Result<()> {
    let secured = SecuredBroker::get();
    let scenario = Scenario::new("sasl_ssl_oauthbearer");
    let (input, output, expected) = seeded_topics(&scenario, secured)?;
    let client_secret = secured.secret("OAUTH_CLIENT_SECRET_FILE");
    let spec = EoshostSpec::new("identity", &input, &[&output], &scenario.unique("group"), secured.value("OAUTH_BOOTSTRAP"))
        .librdkafka("security.protocol=SASL_SSL")
        .librdkafka("sasl.mechanism=OAUTHBEARER")
        .librdkafka("sasl.oauthbearer.method=oidc")
        .librdkafka(&format!("sasl.oauthbearer.client.id={}", secured.value("OAUTH_CLIENT_ID")))
        .librdkafka(&format!("sasl.oauthbearer.client.secret=@{}", secured.value("OAUTH_CLIENT_SECRET_FILE")))
        .librdkafka(&format!("sasl.oauthbearer.token.endpoint.url={}", secured.value("TOKEN_ENDPOINT_URL")))
        .librdkafka(&format!("ssl.ca.location={}", secured.value("CA_PEM")))
        .env("EOSHOST_LOG", "debug");
    copies_exactly_once(&scenario, secured, &spec, &input, &output, &expected, &[client_secret])
}

#[test]
fn a_wrong_oauth_client_secret_exits_2_within_10_s() -> anyhow::Result<()> {
    let secured = SecuredBroker::get();
    let scenario = Scenario::new("oauthbearer_wrong_secret");
    let input = scenario.unique("in");
    let spec = EoshostSpec::new("identity", &input, &["out"], &scenario.unique("group"), secured.value("OAUTH_BOOTSTRAP"))
        .librdkafka("security.protocol=SASL_SSL")
        .librdkafka("sasl.mechanism=OAUTHBEARER")
        .librdkafka("sasl.oauthbearer.method=oidc")
        .librdkafka(&format!("sasl.oauthbearer.client.id={}", secured.value("OAUTH_CLIENT_ID")))
        .librdkafka("sasl.oauthbearer.client.secret=not-the-secret")
        .librdkafka(&format!("sasl.oauthbearer.token.endpoint.url={}", secured.value("TOKEN_ENDPOINT_URL")))
        .librdkafka(&format!("ssl.ca.location={}", secured.value("CA_PEM")));
    let (stderr, took) = refused_at_start(&scenario, &spec, "wrong-client-secret")?;
    assert!(took < Duration::from_secs(10), "exit only after {took:?}");
    assert!(stderr.contains("authentication failed"), "the cause is not named:\n{stderr}");
    assert!(!stderr.contains("not-the-secret"), "the client secret is echoed:\n{stderr}");
    Ok(())
}

#[test]
fn an_untrusted_broker_certificate_exits_2_within_10_s_naming_broker_and_cause() -> anyhow::Result<()> {
    let secured = SecuredBroker::get();
    let scenario = Scenario::new("tls_wrong_ca");
    let bootstrap = secured.value("SSL_BOOTSTRAP");
    let spec = EoshostSpec::new("identity", &scenario.unique("in"), &["out"], &scenario.unique("group"), bootstrap)
        .librdkafka("security.protocol=SSL")
        .librdkafka(&format!("ssl.ca.location={}", secured.value("WRONG_CA_PEM")));
    let (stderr, took) = refused_at_start(&scenario, &spec, "wrong-ca")?;
    assert!(took < Duration::from_secs(10), "exit only after {took:?}");
    let last = stderr.lines().last().unwrap_or("");
    assert!(last.contains(bootstrap), "the broker {bootstrap} is not named in the last line: {last}");
    assert!(last.contains("TLS handshake failed"), "the cause is not named: {last}");
    assert!(last.contains("certificate verify failed"), "librdkafka's reason is not passed on: {last}");
    assert!(last.contains("ssl.ca.location"), "the message does not say what to check: {last}");
    Ok(())
}

#[test]
fn a_wrong_scram_password_exits_2_within_10_s_without_echoing_it() -> anyhow::Result<()> {
    let secured = SecuredBroker::get();
    let scenario = Scenario::new("scram_wrong_password");
    let bootstrap = secured.value("SASL_SSL_BOOTSTRAP");
    let wrong = "wrong-password-4711";
    let spec = EoshostSpec::new("identity", &scenario.unique("in"), &["out"], &scenario.unique("group"), bootstrap)
        .librdkafka("security.protocol=SASL_SSL")
        .librdkafka("sasl.mechanism=SCRAM-SHA-512")
        .librdkafka(&format!("sasl.username={}", secured.value("SCRAM_USER")))
        .librdkafka(&format!("sasl.password={wrong}"))
        .librdkafka(&format!("ssl.ca.location={}", secured.value("CA_PEM")));
    let (stderr, took) = refused_at_start(&scenario, &spec, "wrong-password")?;
    assert!(took < Duration::from_secs(10), "exit only after {took:?}");
    let last = stderr.lines().last().unwrap_or("");
    assert!(last.contains(bootstrap) && last.contains("authentication failed"), "broker or cause not named: {last}");
    assert!(!stderr.contains(wrong), "the password is echoed:\n{stderr}");
    Ok(())
}
