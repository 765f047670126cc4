//! The verdict on a `counter` run: for every key, the values a
//! `read_committed` reader sees on the output, in offset order, must be
//! exactly `1, 2, …, n`, `n` the number of inputs with that key — no gap,
//! no repeat, nothing out of order, nothing for a key that was never input.

use std::collections::{BTreeMap, HashMap};

use crate::verify::OutputRecord;

/// Counts over every key's sequence of output values.
#[derive(Debug, Default, Clone, PartialEq, Eq)]
pub struct CountTally {
    pub keys: usize,
    pub inputs: usize,
    pub outputs: usize,
    /// Values seen more than once for their key.
    pub duplicates: usize,
    /// Values of `1..=n` never seen for their key.
    pub gaps: usize,
    /// Successive values of a key that do not go up by one.
    pub order_violations: usize,
    /// Outputs that are not a count of an input key, or count past `n`.
    pub unexpected: usize,
    samples: Vec<String>,
}

impl CountTally {
    /// `inputs`: how many records each key had; `outputs`: what the reader
    /// saw (markers of the no-hanging-transaction check are ignored).
    pub fn count(inputs: &HashMap<String, usize>, outputs: &[OutputRecord]) -> CountTally {
        let mut tally = CountTally { keys: inputs.len(), inputs: inputs.values().sum(), ..CountTally::default() };
        let mut sequences: BTreeMap<String, Vec<u64>> = BTreeMap::new();
        let mut sorted: Vec<&OutputRecord> = outputs.iter().filter(|r| !r.is_marker()).collect();
        sorted.sort_by_key(|r| (r.partition, r.offset));
        for record in sorted {
            tally.outputs += 1;
            let key = record.key_text().unwrap_or_default();
            match record.value_text().and_then(|v| v.parse::<u64>().ok()) {
                Some(value) if inputs.contains_key(&key) => sequences.entry(key).or_default().push(value),
                _ => {
                    tally.unexpected += 1;
                    tally.sample(format!(
                        "unexpected {}/{}@{}: {key:?}={:?}",
                        record.topic,
                        record.partition,
                        record.offset,
                        record.value_text()
                    ));
                }
            }
        }
        for (key, &n) in inputs {
            let seen = sequences.remove(key).unwrap_or_default();
            let mut times = vec![0usize; n + 1];
            for &value in &seen {
                match usize::try_from(value).ok().filter(|&v| (1..=n).contains(&v)) {
                    Some(v) => times[v] += 1,
                    None => {
                        tally.unexpected += 1;
                        tally.sample(format!("key {key}: count {value} outside 1..={n}"));
                    }
                }
            }
            for (value, &count) in times.iter().enumerate().skip(1) {
                if count == 0 {
                    tally.gaps += 1;
                    tally.sample(format!("key {key}: count {value} of {n} missing"));
                } else if count > 1 {
                    tally.duplicates += count - 1;
                    tally.sample(format!("key {key}: count {value} seen {count} times"));
                }
            }
            for pair in seen.windows(2) {
                if pair[1] != pair[0] + 1 {
                    tally.order_violations += 1;
                    tally.sample(format!("key {key}: {} followed by {}", pair[0], pair[1]));
                }
            }
        }
        tally
    }

    fn sample(&mut self, text: String) {
        if self.samples.len() < 20 {
            self.samples.push(text);
        }
    }

    pub fn is_exactly_once(&self) -> bool {
        self.duplicates == 0 && self.gaps == 0 && self.order_violations == 0 && self.unexpected == 0
    }

    /// Up to 20 examples of what went wrong, one a line.
    pub fn samples(&self) -> String {
        self.samples.iter().map(|s| format!("  {s}")).collect::<Vec<_>>().join("\n")
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn out(partition: i32, offset: i64, key: &str, value: &str) -> OutputRecord {
        OutputRecord {
            topic: "out".into(),
            partition,
            offset,
            key: Some(key.as_bytes().to_vec()),
            value: Some(value.as_bytes().to_vec()),
            headers: Vec::new(),
            timestamp: None,
        }
    }

    #[test]
    fn every_key_must_count_one_to_n_in_order() {
        let inputs: HashMap<String, usize> = [("a".to_owned(), 3), ("b".to_owned(), 2)].into();
        let good = [out(0, 0, "a", "1"), out(1, 0, "b", "1"), out(0, 1, "a", "2"), out(1, 1, "b", "2"), out(0, 2, "a", "3")];
        assert!(CountTally::count(&inputs, &good).is_exactly_once());

        let repeat = [
            out(0, 0, "a", "1"),
            out(0, 1, "a", "2"),
            out(0, 2, "a", "2"),
            out(0, 3, "a", "3"),
            out(1, 0, "b", "1"),
            out(1, 1, "b", "2"),
        ];
        let tally = CountTally::count(&inputs, &repeat);
        assert_eq!((tally.duplicates, tally.gaps, tally.order_violations), (1, 0, 1));

        let gap = [out(0, 0, "a", "1"), out(0, 1, "a", "3"), out(1, 0, "b", "1"), out(1, 1, "b", "2")];
        let tally = CountTally::count(&inputs, &gap);
        assert_eq!((tally.duplicates, tally.gaps, tally.order_violations), (0, 1, 1));

        let stranger = [out(0, 0, "z", "1")];
        assert_eq!(CountTally::count(&inputs, &stranger).unexpected, 1);
    }
}
