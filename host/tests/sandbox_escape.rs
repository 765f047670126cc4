//! The `escape` fixture tries files, directories, environment, arguments,
//! sockets and name lookup: every attempt must be denied. Its write to a
//! topic outside `--output` is refused, and its stdout flood is bounded.

mod common;

use common::{limits, load, record};
use eoshost::plugin::{OutputTopics, PluginEngine, Sandbox};

#[test]
fn every_escape_attempt_is_denied() {
    // Set something the plugin must not see.
    // SAFETY: single-threaded at this point of the test.
    unsafe { std::env::set_var("EOSHOST_SECRET", "hunter2") };
    let engine = PluginEngine::new(limits(5000, 64)).unwrap();
    let mut sandbox = Sandbox::new(load(&engine, "escape", &[]));
    let outputs = sandbox.transform(&record("x")).unwrap();
    let report = String::from_utf8(outputs[0].value.clone().unwrap()).unwrap();
    let attempts = report.trim_matches(['{', '}']).split(',').collect::<Vec<_>>();
    assert_eq!(attempts.len(), 9, "{report}");
    for attempt in attempts {
        assert!(attempt.ends_with(":\"denied\""), "not denied: {attempt} (report {report})");
    }
}

#[test]
fn a_topic_outside_the_output_list_is_refused() {
    let engine = PluginEngine::new(limits(5000, 64)).unwrap();
    let mut sandbox = Sandbox::new(load(&engine, "escape", &[("forbidden_topic", "secrets")]));
    let outputs = sandbox.transform(&record("x")).unwrap();
    let topics = OutputTopics::new(vec!["enriched".into(), "audit".into()]);
    assert_eq!(topics.resolve(&outputs[0]).unwrap(), "enriched");
    let refused = topics.resolve(&outputs[1]).unwrap_err();
    assert_eq!(refused.topic, "secrets");
    assert!(refused.to_string().contains("not in --output (enriched,audit)"), "{refused}");
}
