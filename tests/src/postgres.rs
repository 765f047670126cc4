//! The PostgreSQL server as the sink and relay tests see it: found through
//! `EOSHOST_TEST_POSTGRES_URL` or `scripts/postgres url` (started with
//! `scripts/postgres start` when none runs), restarted for the
//! database-outage tests (always the project's own server, never one the
//! variable names), and read back as [`OutputRecord`]s so the same
//! [`crate::Tally`] counts rows as counts Kafka records.

use std::collections::BTreeMap;
use std::process::{Command, Stdio};
use std::time::{Duration, Instant};

use anyhow::{Context as _, bail};
use postgres::{Client, NoTls};

use crate::process::{Eoshost, workspace_root};
use crate::verify::OutputRecord;

/// The test server.
pub struct Postgres {
    url: String,
    /// The project's own server (`scripts/postgres`), which a test may stop
    /// and start; not one that `EOSHOST_TEST_POSTGRES_URL` names.
    own: bool,
}

fn script(args: &[&str]) -> anyhow::Result<String> {
    let output = Command::new(workspace_root().join("scripts/postgres"))
        .args(args)
        .stderr(Stdio::inherit())
        .output()
        .with_context(|| format!("running scripts/postgres {}", args.join(" ")))?;
    if !output.status.success() {
        bail!("scripts/postgres {} failed ({})", args.join(" "), output.status);
    }
    let stdout = String::from_utf8_lossy(&output.stdout);
    Ok(stdout.lines().last().unwrap_or_default().trim().to_owned())
}

impl Postgres {
    /// The server of `EOSHOST_TEST_POSTGRES_URL`, else the project's own
    /// (`scripts/postgres`), started when it is not running.
    pub fn get() -> anyhow::Result<Postgres> {
        if let Ok(url) = std::env::var("EOSHOST_TEST_POSTGRES_URL") {
            return Ok(Postgres { url, own: false });
        }
        Postgres::project_server()
    }

    /// The project's own server (`scripts/postgres`), started when it is not
    /// running, whatever `EOSHOST_TEST_POSTGRES_URL` says: the one a test may
    /// stop and start under a running sink.
    pub fn project_server() -> anyhow::Result<Postgres> {
        let url = match script(&["url"]) {
            Ok(url) => url,
            Err(_) => script(&["start"])?,
        };
        Ok(Postgres { url, own: true })
    }

    pub fn url(&self) -> &str {
        &self.url
    }

    pub fn client(&self) -> anyhow::Result<Client> {
        Client::connect(&self.url, NoTls).with_context(|| format!("connecting to {} (scripts/postgres start)", self.url))
    }

    /// Stops the project's server (fast shutdown: open transactions roll
    /// back); refused for a server this harness does not own.
    pub fn stop(&self) -> anyhow::Result<()> {
        self.ensure_own("stop")?;
        script(&["stop"]).map(|_| ())
    }

    /// Starts it again on the same data.
    pub fn start(&self) -> anyhow::Result<()> {
        self.ensure_own("start")?;
        script(&["start"]).map(|_| ())
    }

    fn ensure_own(&self, what: &str) -> anyhow::Result<()> {
        anyhow::ensure!(
            self.own,
            "not going to {what} {}: it is EOSHOST_TEST_POSTGRES_URL's server, not scripts/postgres's (use \
             Postgres::project_server)",
            self.url
        );
        Ok(())
    }

    /// Rows of a sink table as output records (topic: the table, partition
    /// and offset: the source's), in source order.
    pub fn sink_rows(&self, table: &str) -> anyhow::Result<Vec<OutputRecord>> {
        let mut client = self.client()?;
        let rows = client
            .query(
                &format!(
                    "SELECT source_partition, source_offset, key, value FROM \"{table}\" \
                     ORDER BY source_partition, source_offset, output_index"
                ),
                &[],
            )
            .with_context(|| format!("reading table {table}"))?;
        Ok(rows
            .iter()
            .map(|row| OutputRecord {
                topic: table.to_owned(),
                partition: row.get(0),
                offset: row.get(1),
                key: row.get(2),
                value: row.get(3),
                headers: Vec::new(),
                timestamp: None,
            })
            .collect())
    }

    /// Sum of the group's next offsets in `eoshost_offsets` (0 when none).
    pub fn committed_total(&self, group: &str) -> anyhow::Result<i64> {
        let mut client = self.client()?;
        let row = client
            .query_one("SELECT coalesce(sum(next_offset), 0)::bigint FROM eoshost_offsets WHERE group_id = $1", &[&group])
            .context("reading eoshost_offsets")?;
        Ok(row.get(0))
    }

    /// Waits until the group's offsets in `eoshost_offsets` sum past
    /// `beyond`, and returns the sum; fails if `run` ends on its own or
    /// nothing moves within `timeout`.
    pub fn wait_progress(&self, group: &str, beyond: i64, run: &mut Eoshost, timeout: Duration) -> anyhow::Result<i64> {
        let deadline = Instant::now() + timeout;
        loop {
            let total = self.committed_total(group).unwrap_or(0);
            if total > beyond {
                return Ok(total);
            }
            if let Some(exit) = run.try_exit() {
                bail!("{} ended on its own ({exit}):\n{}", run.label(), run.stderr_tail(40));
            }
            anyhow::ensure!(Instant::now() < deadline, "no progress in eoshost_offsets past {beyond} within {timeout:?}");
            std::thread::sleep(Duration::from_millis(100));
        }
    }

    /// The group's next offset per source partition of `topic` in
    /// `eoshost_offsets` (partitions without a row are absent).
    pub fn committed_offsets(&self, group: &str, topic: &str) -> anyhow::Result<BTreeMap<i32, i64>> {
        let mut client = self.client()?;
        let rows = client
            .query("SELECT partition, next_offset FROM eoshost_offsets WHERE group_id = $1 AND topic = $2", &[&group, &topic])
            .context("reading eoshost_offsets")?;
        Ok(rows.iter().map(|row| (row.get(0), row.get(1))).collect())
    }

    /// Waits until the outbox `table` is empty (the relay `run` published
    /// and deleted every row); fails if the relay ends first or `timeout`
    /// passes. Returns how long it took.
    pub fn wait_outbox_drained(
        &self,
        table: &str,
        run: &mut crate::process::Eoshost,
        timeout: std::time::Duration,
    ) -> anyhow::Result<std::time::Duration> {
        let started = std::time::Instant::now();
        loop {
            let left = self.count(table)?;
            if left == 0 {
                return Ok(started.elapsed());
            }
            if let Some(exit) = run.try_exit() {
                anyhow::bail!("{} ended on its own ({exit}):\n{}", run.label(), run.stderr_tail(40));
            }
            anyhow::ensure!(started.elapsed() < timeout, "{left} rows still in the outbox after {timeout:?}");
            std::thread::sleep(std::time::Duration::from_millis(100));
        }
    }

    /// Rows left in a table.
    pub fn count(&self, table: &str) -> anyhow::Result<i64> {
        let mut client = self.client()?;
        let row =
            client.query_one(&format!("SELECT count(*) FROM \"{table}\""), &[]).with_context(|| format!("counting {table}"))?;
        Ok(row.get(0))
    }

    /// Drops tables made by a test (clean-up only: failures are ignored).
    pub fn drop_tables(&self, tables: &[&str]) {
        if let Ok(mut client) = self.client() {
            for table in tables {
                let _ = client.batch_execute(&format!("DROP TABLE IF EXISTS \"{table}\""));
            }
        }
    }
}
