//! The verdict on a `window-count` run: tumbling windows per input
//! partition and key, emitted once the partition's stream time (its largest
//! record timestamp) reaches a window's end plus the grace period.
//!
//! From what was fed (timestamps from the [`RecordPlan`], partitions from
//! the delivery reports) follow every window and its count, and each input
//! partition's final stream time. Every window whose end plus grace that
//! time reached must appear exactly once on the output, as
//! `{"key":K,"start":S,"end":E,"count":N}` with record timestamp `E − 1`,
//! `N` the key's records stamped in `[S, E)` — late records (stamped behind
//! their partition's stream time) are not counted: they go to the
//! dead-letter topic. A window the partition's stream time never closed
//! must not appear at all: that would be an early emission.

use std::collections::{BTreeMap, HashMap};
use std::fmt;

use crate::records::{RecordPlan, Seeded};
use crate::verify::OutputRecord;

/// The plugin's configuration: `size` and `grace`, in milliseconds.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct WindowSpec {
    pub size_ms: i64,
    pub grace_ms: i64,
}

impl WindowSpec {
    /// The start of the window holding `timestamp`.
    pub fn start_of(&self, timestamp: i64) -> i64 {
        timestamp - timestamp.rem_euclid(self.size_ms)
    }

    /// Whether the window starting at `start` has closed once stream time
    /// is `stream_time`.
    pub fn is_closed(&self, start: i64, stream_time: i64) -> bool {
        stream_time >= start + self.size_ms + self.grace_ms
    }
}

/// One window the inputs make: where its key lives and how many of the
/// key's records fall in it.
#[derive(Debug, Clone, Copy)]
struct Expected {
    partition: i32,
    count: u64,
}

/// Counts over the emitted windows against the inputs.
#[derive(Debug, Default, Clone)]
pub struct WindowTally {
    /// Input records, late ones included.
    pub records: usize,
    /// Input records stamped late (rejected, never counted).
    pub late: usize,
    /// Windows that closed: each must be emitted once.
    pub windows: usize,
    /// Windows still open when the input ended: none may be emitted.
    pub open: usize,
    /// Window records read (markers aside).
    pub outputs: usize,
    /// Emissions of a window beyond its first.
    pub duplicates: usize,
    /// Closed windows never emitted.
    pub missing: usize,
    /// Emissions whose count is not the number of the key's records in it.
    pub wrong_counts: usize,
    /// Emissions of a window its partition's stream time never closed.
    pub early: usize,
    /// Emissions whose record timestamp is not the window's end − 1.
    pub wrong_timestamps: usize,
    /// Values that are not the compact `{"key","start","end","count"}`
    /// object, or whose key, start or end do not fit the record or the size.
    pub malformed: usize,
    /// Emissions of a window no counted input fell in.
    pub unexpected: usize,
    samples: Vec<String>,
}

impl WindowTally {
    /// Counts `outputs` (in the order read) against `seeded`, fed with
    /// `plan`'s timestamps, for windows of `spec`.
    pub fn count(seeded: &Seeded, plan: &RecordPlan, spec: WindowSpec, outputs: &[OutputRecord]) -> WindowTally {
        let mut tally = WindowTally { records: seeded.len(), ..WindowTally::default() };
        let mut stream_time: HashMap<i32, i64> = HashMap::new();
        let mut expected: BTreeMap<(String, i64), Expected> = BTreeMap::new();
        for record in &seeded.records {
            let Some(timestamp) = record.timestamp else { continue };
            let time = stream_time.entry(record.partition).or_insert(timestamp);
            *time = (*time).max(timestamp);
            if plan.is_late(record.n) {
                tally.late += 1;
                continue;
            }
            let window = expected
                .entry((record.key.clone(), spec.start_of(timestamp)))
                .or_insert(Expected { partition: record.partition, count: 0 });
            window.count += 1;
        }
        let closed = |window: &(String, i64), expected: &Expected| {
            stream_time.get(&expected.partition).is_some_and(|&time| spec.is_closed(window.1, time))
        };
        tally.windows = expected.iter().filter(|(window, e)| closed(window, e)).count();
        tally.open = expected.len() - tally.windows;

        let mut seen: HashMap<(String, i64), usize> = HashMap::new();
        for output in outputs.iter().filter(|o| !o.is_marker()) {
            tally.outputs += 1;
            let at = format!("{}/{}@{}", output.topic, output.partition, output.offset);
            let Some(emitted) = Emitted::parse(output) else {
                tally.malformed += 1;
                tally.sample(format!("{at}: not a window: key {:?}, value {:?}", output.key_text(), output.value_text()));
                continue;
            };
            if output.key_text().as_deref() != Some(emitted.key.as_str())
                || emitted.end != emitted.start + spec.size_ms
                || emitted.start != spec.start_of(emitted.start)
            {
                tally.malformed += 1;
                tally.sample(format!(
                    "{at}: key {:?} with window {:?}, not a {} ms window of that key",
                    output.key_text(),
                    output.value_text(),
                    spec.size_ms
                ));
                continue;
            }
            if !emitted.compact {
                // Counted, and judged on its content all the same.
                tally.malformed += 1;
                tally.sample(format!("{at}: {:?} is not in the compact form {}", output.value_text(), emitted.canonical()));
            }
            let window = (emitted.key.clone(), emitted.start);
            let times = seen.entry(window.clone()).or_default();
            *times += 1;
            if *times > 1 {
                tally.duplicates += 1;
                tally.sample(format!("{at}: window {} emitted {} times so far", emitted.canonical(), times));
                continue;
            }
            let Some(want) = expected.get(&window) else {
                tally.unexpected += 1;
                tally.sample(format!("{at}: window {} holds no counted input", emitted.canonical()));
                continue;
            };
            if !closed(&window, want) {
                tally.early += 1;
                tally.sample(format!(
                    "{at}: window {} emitted early: end + grace {} > final stream time {:?} of input partition {}",
                    emitted.canonical(),
                    emitted.end + spec.grace_ms,
                    stream_time.get(&want.partition),
                    want.partition
                ));
            }
            if emitted.count != want.count {
                tally.wrong_counts += 1;
                tally.sample(format!("{at}: window {} should count {}", emitted.canonical(), want.count));
            }
            if output.timestamp != Some(emitted.end - 1) {
                tally.wrong_timestamps += 1;
                tally.sample(format!(
                    "{at}: window {} has timestamp {:?}, not end − 1 = {}",
                    emitted.canonical(),
                    output.timestamp,
                    emitted.end - 1
                ));
            }
        }
        for (window, want) in &expected {
            if closed(window, want) && !seen.contains_key(window) {
                tally.missing += 1;
                tally.sample(format!(
                    "window of key {} from {} (partition {}, count {}) closed but never emitted",
                    window.0, window.1, want.partition, want.count
                ));
            }
        }
        tally
    }

    fn sample(&mut self, text: String) {
        if self.samples.len() < 20 {
            self.samples.push(text);
        }
    }

    /// Every closed window once, right, on time, and nothing else.
    pub fn is_right(&self) -> bool {
        self.duplicates == 0
            && self.missing == 0
            && self.wrong_counts == 0
            && self.early == 0
            && self.wrong_timestamps == 0
            && self.malformed == 0
            && self.unexpected == 0
    }

    /// Up to 20 examples of what went wrong, one a line.
    pub fn samples(&self) -> String {
        self.samples.iter().map(|s| format!("  {s}")).collect::<Vec<_>>().join("\n")
    }
}

impl fmt::Display for WindowTally {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(
            f,
            "records={} late={} windows={} open={} outputs={} duplicates={} missing={} wrong_counts={} early={} \
             wrong_timestamps={} malformed={} unexpected={}",
            self.records,
            self.late,
            self.windows,
            self.open,
            self.outputs,
            self.duplicates,
            self.missing,
            self.wrong_counts,
            self.early,
            self.wrong_timestamps,
            self.malformed,
            self.unexpected
        )
    }
}

/// One emitted window, from its JSON value.
struct Emitted {
    key: String,
    start: i64,
    end: i64,
    count: u64,
    /// Whether the value is byte for byte the compact form.
    compact: bool,
}

impl Emitted {
    fn parse(output: &OutputRecord) -> Option<Emitted> {
        let value = output.value.as_deref()?;
        let json: serde_json::Value = serde_json::from_slice(value).ok()?;
        let mut emitted = Emitted {
            key: json.get("key")?.as_str()?.to_owned(),
            start: json.get("start")?.as_i64()?,
            end: json.get("end")?.as_i64()?,
            count: json.get("count")?.as_u64()?,
            compact: false,
        };
        emitted.compact = value == emitted.canonical().as_bytes();
        Some(emitted)
    }

    /// `{"key":"K","start":S,"end":E,"count":N}`, the form the plugin writes.
    fn canonical(&self) -> String {
        format!(
            r#"{{"key":{},"start":{},"end":{},"count":{}}}"#,
            serde_json::Value::String(self.key.clone()),
            self.start,
            self.end,
            self.count
        )
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::records::{InputRecord, Timestamps};

    const SPEC: WindowSpec = WindowSpec { size_ms: 1_000, grace_ms: 500 };

    /// Two keys on two partitions; record 6 is late.
    fn fed() -> (Seeded, RecordPlan) {
        let plan =
            RecordPlan::new(2, 2).with_timestamps(Timestamps { base_ms: 10_000, step_ms: 300, late_every: 6, late_ms: 1_000 });
        let records = (0..12)
            .map(|n| InputRecord {
                n,
                key: plan.key(n),
                value: plan.value(n),
                partition: plan.partition(n),
                offset: (n / 2) as i64,
                poison: false,
                timestamp: plan.timestamp(n),
            })
            .collect();
        (Seeded { topic: "in".into(), records }, plan)
    }

    fn window(offset: i64, key: &str, start: i64, count: u64, timestamp: i64) -> OutputRecord {
        OutputRecord {
            topic: "out".into(),
            partition: 0,
            offset,
            key: Some(key.as_bytes().to_vec()),
            value: Some(format!(r#"{{"key":"{key}","start":{start},"end":{},"count":{count}}}"#, start + 1_000).into_bytes()),
            headers: Vec::new(),
            timestamp: Some(timestamp),
        }
    }

    #[test]
    fn closed_windows_count_once_and_open_ones_must_wait() {
        // k0 (partition 0): records 0,2,4,8,10 at 10000,10600,11200,12400,13000
        // (6, at 1000, is late); stream time 13000. k1 (partition 1): 1,3,5,7,9,11
        // at 10300,10900,11500,12100,12700,13300; stream time 13300.
        let (seeded, plan) = fed();
        let right = [
            window(0, "k0", 10_000, 2, 10_999),
            window(1, "k1", 10_000, 2, 10_999),
            window(2, "k0", 11_000, 1, 11_999),
            window(3, "k1", 11_000, 1, 11_999),
        ];
        let tally = WindowTally::count(&seeded, &plan, SPEC, &right);
        assert_eq!((tally.windows, tally.open, tally.late), (4, 4, 1), "{tally}");
        assert!(tally.is_right(), "{tally}\n{}", tally.samples());

        let wrong = [
            window(0, "k0", 10_000, 2, 10_999),
            window(1, "k0", 10_000, 2, 10_999),
            window(2, "k1", 10_000, 3, 10_999),
            window(3, "k0", 11_000, 1, 11_000),
            window(4, "k0", 12_000, 1, 12_999),
            window(5, "k0", 0, 1, 999),
        ];
        let tally = WindowTally::count(&seeded, &plan, SPEC, &wrong);
        assert_eq!(
            (tally.duplicates, tally.wrong_counts, tally.wrong_timestamps, tally.early, tally.unexpected, tally.missing),
            (1, 1, 1, 1, 1, 1),
            "{tally}\n{}",
            tally.samples()
        );
    }

    #[test]
    fn a_window_in_another_form_is_malformed() {
        let (seeded, plan) = fed();
        let mut reordered = window(0, "k0", 10_000, 2, 10_999);
        reordered.value = Some(br#"{"count":2,"key":"k0","start":10000,"end":11000}"#.to_vec());
        let mut wrong_key = window(1, "k1", 10_000, 2, 10_999);
        wrong_key.key = Some(b"k0".to_vec());
        let tally = WindowTally::count(&seeded, &plan, SPEC, &[reordered, wrong_key]);
        assert_eq!(tally.malformed, 2, "{tally}\n{}", tally.samples());
        // The reordered one still counts as k0's first window.
        assert_eq!(tally.missing, 3, "{tally}\n{}", tally.samples());
    }
}
