//! What a `--table` costs in memory beside the bytes it holds: fills a
//! table with customers of ~200 B (keys `c0000001`…) the way a follower
//! does, and prints the heap the table took (glibc's `mallinfo2`, so the
//! allocator's own overhead counts) against its key and value bytes, and
//! the rate of applying rows in memory. Run with
//! `cargo bench -p eoshost --bench table_memory`; `ROWS=N` for another size.

use std::time::Instant;

use eoshost::tables::Table;

fn heap_in_use() -> usize {
    // SAFETY: mallinfo2 only reads the allocator's statistics.
    unsafe { libc::mallinfo2() }.uordblks
}

fn main() {
    let rows: usize = std::env::var("ROWS").ok().and_then(|v| v.parse().ok()).unwrap_or(1_000_000);
    let values: Vec<(String, String)> = (0..rows)
        .map(|i| {
            let key = format!("c{i:07}");
            let value = format!(
                r#"{{"customer_id":"{key}","name":"Customer {i}","tier":"{}","region":"EU","since":"2021-03-04","note":"{}"}}"#,
                ["gold", "silver", "bronze"][i % 3],
                "x".repeat(200 - 100)
            );
            (key, value)
        })
        .collect();
    let data: usize = values.iter().map(|(k, v)| k.len() + v.len()).sum();
    let table = Table::new("customers", usize::MAX);
    let before = heap_in_use();
    let started = Instant::now();
    for (key, value) in &values {
        table.apply(key.as_bytes(), Some(value.as_bytes())).expect("unbounded");
    }
    let elapsed = started.elapsed();
    let heap = heap_in_use() - before;
    println!(
        "table_memory rows={rows} value_bytes={} data_bytes={data} heap_bytes={heap} heap_per_data_byte={:.2} \
         apply_rows_per_s={:.0}",
        data / rows - 8,
        heap as f64 / data as f64,
        rows as f64 / elapsed.as_secs_f64()
    );
    assert_eq!(table.bytes(), data);
}
