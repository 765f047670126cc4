//! `eoshost_consumer_lag{topic,partition}` from librdkafka's statistics, the
//! same in every mode that consumes: for each assigned partition, its last
//! stable offset minus where this instance stands there — the offset it
//! last committed (which librdkafka does not see: transactional and
//! database commits bypass it), else its position, else the group's
//! committed offset fetched at assignment, else the partition's first
//! offset (where a group with no offset starts). So an idle or stuck
//! partition has a lag from its assignment on, not from the first commit.

use rdkafka::statistics::Statistics;

use super::TopicPartition;

/// The lag of every assigned partition whose last stable offset is known.
/// `committed` gives the next offset this instance committed there, if it
/// did since the assignment.
pub fn partition_lags(statistics: &Statistics, committed: impl Fn(&str, i32) -> Option<i64>) -> Vec<(TopicPartition, i64)> {
    let mut lags = Vec::new();
    for (topic, stats) in &statistics.topics {
        for p in stats.partitions.values() {
            if p.partition < 0 || !p.desired || p.ls_offset < 0 {
                continue;
            }
            let known = |offset: i64| (offset >= 0).then_some(offset);
            let from = committed(topic, p.partition)
                .or_else(|| known(p.app_offset))
                .or_else(|| known(p.committed_offset))
                .or_else(|| known(p.lo_offset));
            if let Some(from) = from {
                lags.push((TopicPartition::new(topic.clone(), p.partition), (p.ls_offset - from).max(0)));
            }
        }
    }
    lags
}

#[cfg(test)]
mod tests {
    use super::*;

    /// A JSON object of these fields, each an integer, plus `extra`.
    fn object(integers: &[&str], value: i64, extra: serde_json::Value) -> serde_json::Value {
        let mut object: serde_json::Map<String, serde_json::Value> =
            integers.iter().map(|name| (name.to_string(), serde_json::Value::from(value))).collect();
        if let serde_json::Value::Object(extra) = extra {
            object.extend(extra);
        }
        serde_json::Value::Object(object)
    }

    /// librdkafka's statistics for topic `orders`, with the partitions given
    /// as (partition, desired, app_offset, committed_offset, lo, ls).
    fn statistics(partitions: &[(i32, bool, i64, i64, i64, i64)]) -> Statistics {
        const PARTITION_COUNTERS: [&str; 22] = [
            "broker",
            "leader",
            "msgq_cnt",
            "msgq_bytes",
            "xmit_msgq_cnt",
            "xmit_msgq_bytes",
            "fetchq_cnt",
            "fetchq_size",
            "query_offset",
            "next_offset",
            "stored_offset",
            "eof_offset",
            "consumer_lag",
            "consumer_lag_stored",
            "txmsgs",
            "txbytes",
            "rxmsgs",
            "rxbytes",
            "msgs",
            "rx_ver_drops",
            "msgs_inflight",
            "next_ack_seq",
        ];
        let partitions: serde_json::Map<String, serde_json::Value> = partitions
            .iter()
            .map(|&(partition, desired, app, committed, lo, ls)| {
                let fields = serde_json::json!({
                    "partition": partition, "desired": desired, "unknown": false, "fetch_state": "active",
                    "app_offset": app, "committed_offset": committed, "lo_offset": lo, "hi_offset": ls,
                    "ls_offset": ls, "next_err_seq": 0, "acked_msgid": 0
                });
                (partition.to_string(), object(&PARTITION_COUNTERS, 0, fields))
            })
            .collect();
        let window = object(
            &["min", "max", "avg", "sum", "cnt", "stddev", "hdrsize", "p50", "p75", "p90", "p95", "p99", "p99_99", "outofrange"],
            0,
            serde_json::Value::Null,
        );
        let topic = serde_json::json!({
            "topic": "orders", "age": 0, "metadata_age": 0, "batchsize": window.clone(), "batchcnt": window,
            "partitions": partitions
        });
        let top = serde_json::json!({
            "name": "c", "client_id": "c", "type": "consumer", "brokers": {}, "topics": { "orders": topic }
        });
        let json = object(
            &[
                "ts",
                "time",
                "age",
                "replyq",
                "msg_cnt",
                "msg_size",
                "msg_max",
                "msg_size_max",
                "tx",
                "tx_bytes",
                "rx",
                "rx_bytes",
                "txmsgs",
                "txmsg_bytes",
                "rxmsgs",
                "rxmsg_bytes",
                "simple_cnt",
                "metadata_cache_cnt",
            ],
            0,
            top,
        );
        serde_json::from_value(json).expect("librdkafka's statistics shape")
    }

    #[test]
    fn an_idle_assigned_partition_has_a_lag_before_any_commit() {
        // Partition 0: nothing read, nothing committed, empty: lag 0.
        // Partition 1: nothing read, the group committed 40 of 100: lag 60.
        // Partition 2: nothing read, no committed offset, 30 records from 10: lag 30.
        // Partition 3: not assigned to this instance: no lag.
        let stats = statistics(&[
            (0, true, -1, -1, 0, 0),
            (1, true, -1, 40, 0, 100),
            (2, true, -1, -1, 10, 40),
            (3, false, -1, -1, 0, 100),
        ]);
        let mut lags = partition_lags(&stats, |_, _| None);
        lags.sort();
        let orders = |partition| TopicPartition::new("orders", partition);
        assert_eq!(lags, [(orders(0), 0), (orders(1), 60), (orders(2), 30)]);
    }

    #[test]
    fn what_this_instance_committed_comes_first_then_its_position() {
        let stats = statistics(&[(0, true, 70, 40, 0, 100), (1, true, 70, 40, 0, 100)]);
        let mut lags = partition_lags(&stats, |_, partition| (partition == 0).then_some(90));
        lags.sort();
        assert_eq!(lags, [(TopicPartition::new("orders", 0), 10), (TopicPartition::new("orders", 1), 30)]);
    }
}
