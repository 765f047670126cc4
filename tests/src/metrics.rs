//! Reading an instance's Prometheus endpoint (`--metrics-addr`, DESIGN
//! §1.6) with a bare HTTP/1.0 GET: enough to tell that traps really
//! happened, without an HTTP client dependency.

use std::io::{Read, Write};
use std::net::{TcpListener, TcpStream};
use std::time::Duration;

/// A loopback address with a port free right now, for `--metrics-addr`.
pub fn free_local_addr() -> anyhow::Result<String> {
    let listener = TcpListener::bind("127.0.0.1:0")?;
    Ok(listener.local_addr()?.to_string())
}

/// The body of `GET /metrics` at `addr`, or `None` when nothing answers.
pub fn scrape(addr: &str) -> Option<String> {
    let mut stream = TcpStream::connect_timeout(&addr.parse().ok()?, Duration::from_secs(2)).ok()?;
    stream.set_read_timeout(Some(Duration::from_secs(5))).ok()?;
    stream.write_all(format!("GET /metrics HTTP/1.0\r\nHost: {addr}\r\n\r\n").as_bytes()).ok()?;
    let mut response = String::new();
    stream.read_to_string(&mut response).ok()?;
    let (head, body) = response.split_once("\r\n\r\n")?;
    head.starts_with("HTTP/1.").then(|| body.to_owned())
}

/// The sum of every sample of `name` (all label sets) in Prometheus text.
pub fn metric_sum(text: &str, name: &str) -> f64 {
    text.lines()
        .filter(|line| !line.starts_with('#'))
        .filter_map(|line| {
            let (series, value) = line.rsplit_once(' ')?;
            let metric = series.split('{').next()?;
            (metric == name).then(|| value.parse::<f64>().ok()).flatten()
        })
        .sum()
}

#[cfg(test)]
mod tests {
    use super::metric_sum;

    #[test]
    fn sums_every_label_set_of_one_metric() {
        let text = "# TYPE eoshost_plugin_traps_total counter\n\
                    eoshost_plugin_traps_total{kind=\"panic\"} 3\n\
                    eoshost_plugin_traps_total{kind=\"timeout\"} 1\n\
                    eoshost_plugin_traps_total_other 7\n";
        assert_eq!(metric_sum(text, "eoshost_plugin_traps_total"), 4.0);
    }
}
