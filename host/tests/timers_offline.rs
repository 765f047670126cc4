//! Timers through `eoshost test`: the window-count conformance suite
//! (tests/conformance/window-count) for the Rust and Python plugins, byte
//! for byte; wall-clock timers on the test's own clock; a timer whose
//! handler rejects it (an error line, the others still fire) or traps (the
//! test ends, naming the timer); and `eoshost inspect` naming the timers.

mod common;

use common::{assert_prints, eoshost, plugin_path, scratch, stderr, stdout, workspace_root};

fn assert_window_conformance(plugin: &str) {
    let suite = workspace_root().join("tests/conformance/window-count");
    let expected = std::fs::read_to_string(suite.join("expected.jsonl")).unwrap();
    let output = eoshost(&[
        "test",
        "--plugin",
        plugin_path(plugin).to_str().unwrap(),
        "--plugin-config",
        "size=10s",
        "--plugin-config",
        "grace=2s",
        "--input",
        suite.join("input.jsonl").to_str().unwrap(),
    ]);
    assert_prints(plugin, &output, &expected);
}

#[test]
fn window_count_matches_the_conformance_suite_byte_for_byte() {
    assert_window_conformance("window-count");
}

#[test]
fn window_count_in_python_matches_the_conformance_suite_byte_for_byte() {
    assert_window_conformance("window-count-py");
}

fn run_reminder(name: &str, lines: &[&str], config: &[&str]) -> std::process::Output {
    let path = scratch(name).join("input.jsonl");
    std::fs::write(&path, lines.join("\n") + "\n").unwrap();
    let plugin = plugin_path("reminder");
    let mut args = vec!["test", "--plugin", plugin.to_str().unwrap(), "--input", path.to_str().unwrap()];
    for pair in config {
        args.extend(["--plugin-config", pair]);
    }
    eoshost(&args)
}

#[test]
fn wall_clock_timers_fire_when_the_test_clock_reaches_them_and_only_once() {
    let output = run_reminder(
        "reminder_clock",
        &[
            r#"{"wall_clock_ms":1000000}"#,
            r#"{"key":"a","value":"x"}"#,
            r#"{"advance_wall_clock_ms":500}"#,
            r#"{"key":"b","value":"x"}"#,
            // a's next record moves its reminder to 1002600.
            r#"{"advance_wall_clock_ms":100}"#,
            r#"{"key":"a","value":"x"}"#,
            r#"{"advance_wall_clock_ms":1899}"#,
            r#"{"advance_wall_clock_ms":1}"#,
            r#"{"advance_wall_clock_ms":600}"#,
            r#"{"advance_wall_clock_ms":100000}"#,
        ],
        &["delay_ms=2000"],
    );
    assert_prints(
        "reminder",
        &output,
        concat!(
            r#"{"topic":null,"key":"b","value":"reminder","headers":{},"timestamp":1002500}"#,
            "\n",
            r#"{"topic":null,"key":"a","value":"reminder","headers":{},"timestamp":1002600}"#,
            "\n",
        ),
    );
}

#[test]
fn a_timer_its_handler_rejects_is_an_error_line_and_the_others_still_fire() {
    let output = run_reminder(
        "reminder_reject",
        &[
            r#"{"wall_clock_ms":0}"#,
            r#"{"key":"bad","value":"x"}"#,
            r#"{"key":"good","value":"x"}"#,
            r#"{"advance_wall_clock_ms":2000}"#,
        ],
        &["reject_timer_of=bad"],
    );
    assert_prints(
        "reminder",
        &output,
        concat!(
            r#"{"timer":{"clock":"wall-clock","key":"bad","time":2000},"error":"reject_timer_of: the reminder of this key is rejected"}"#,
            "\n",
            r#"{"topic":null,"key":"good","value":"reminder","headers":{},"timestamp":2000}"#,
            "\n",
        ),
    );
}

#[test]
fn a_timer_whose_handler_traps_ends_the_test_naming_the_timer() {
    let output = run_reminder(
        "reminder_trap",
        &[r#"{"wall_clock_ms":0}"#, r#"{"key":"bad","value":"x"}"#, r#"{"advance_wall_clock_ms":2000}"#],
        &["trap_timer_of=bad"],
    );
    assert_eq!(output.status.code(), Some(1), "{}", stderr(&output));
    let error = stderr(&output);
    assert!(error.contains("trapped on the wall-clock timer at 2000 for key bad"), "{error}");
    assert_eq!(stdout(&output), "");
}

#[test]
fn clock_lines_that_would_move_the_clock_back_or_say_two_things_are_refused() {
    for (name, line, says) in [
        ("clock_back", r#"{"advance_wall_clock_ms":-1}"#, "must not be negative"),
        ("clock_both", r#"{"advance_wall_clock_ms":1,"wall_clock_ms":5}"#, "not both"),
    ] {
        let output = run_reminder(name, &[line], &[]);
        assert_eq!(output.status.code(), Some(2), "{}", stderr(&output));
        assert!(stderr(&output).contains(says), "{}", stderr(&output));
    }
}

#[test]
fn inspect_says_a_plugin_with_timers_needs_a_changelog() {
    let output = eoshost(&["inspect", "--plugin", plugin_path("window-count").to_str().unwrap()]);
    assert_eq!(output.status.code(), Some(0), "{}", stderr(&output));
    let report = stdout(&output);
    assert!(report.contains("timers: exports eoshost:transform/timer-handler@0.1.0"), "{report}");
    let plain = stdout(&eoshost(&["inspect", "--plugin", plugin_path("counter").to_str().unwrap()]));
    assert!(!plain.contains("timers"), "a plugin without timers neither imports nor exports them: {plain}");
}
