//! What librdkafka this binary links: its version, its `builtin.features`
//! (the codecs and security mechanisms the build has), and the upstream fixes
//! eoshost carries on top of the release (vendor/patches/, applied by
//! vendor/refresh-rdkafka-sys). Printed by `eoshost version` and logged at
//! debug level when a pipeline starts, so a bug report says which build it
//! came from.

use std::fmt;

use rdkafka::config::ClientConfig;

/// An upstream librdkafka fix applied to the bundled source before it is
/// built (one file in vendor/patches/).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct CarriedPatch {
    /// The patch file's name in vendor/patches/.
    pub file: &'static str,
    /// The upstream pull request the patch is taken from.
    pub pull_request: u32,
    /// The upstream issue it fixes.
    pub issue: u32,
    /// What goes wrong without it.
    pub fixes: &'static str,
}

/// The patches carried, in the order they are applied. Drop one when an
/// rdkafka-sys release bundles a librdkafka that contains it (README,
/// "Patched librdkafka").
pub const CARRIED_PATCHES: &[CarriedPatch] = &[
    CarriedPatch {
        file: "0001-librdkafka-pr5457-send-offsets-timeout.patch",
        pull_request: 5457,
        issue: 5456,
        fixes: "send_offsets_to_transaction ignores its timeout when the group coordinator is down",
    },
    CarriedPatch {
        file: "0002-librdkafka-pr5512-coordinator-rediscovery-after-decommission.patch",
        pull_request: 5512,
        issue: 5511,
        fixes: "send_offsets_to_transaction hangs when the group coordinator's broker leaves the metadata",
    },
];

/// The features eoshost's build of librdkafka must have (names as in
/// `builtin.features`): TLS, SASL SCRAM and OAUTHBEARER with OIDC (needs
/// libcurl, "http" and "oidc"), and every compression codec Kafka uses.
pub const REQUIRED_FEATURES: &[&str] =
    &["ssl", "sasl_plain", "sasl_scram", "sasl_oauthbearer", "http", "oidc", "gzip", "snappy", "lz4", "zstd"];

/// Where TLS finds the CA certificates when the user names none:
/// `("ssl.ca.location", "probe")` for the brokers and
/// `("https.ca.location", "probe")` for the OIDC token endpoint, each unless
/// `overrides` (the `-X` properties) set that side's CA already.
///
/// OpenSSL is compiled into this build (`ssl-vendored`), and its default CA
/// path is its own build-time directory (`/usr/local/ssl`), not the system's
/// (`/etc/ssl/certs`): without this a broker with a publicly signed
/// certificate fails verification. "probe" makes librdkafka look in the
/// well-known system locations, as it does by itself on macOS.
pub fn ca_location_defaults(overrides: &[(String, String)]) -> Vec<(&'static str, &'static str)> {
    let set = |keys: &[&str]| overrides.iter().any(|(key, _)| keys.contains(&key.as_str()));
    let mut defaults = Vec::new();
    if !set(&["ssl.ca.location", "ssl.ca.pem"]) {
        defaults.push(("ssl.ca.location", "probe"));
    }
    // librdkafka refuses https.ca.location together with https.ca.pem.
    if !set(&["https.ca.location", "https.ca.pem"]) {
        defaults.push(("https.ca.location", "probe"));
    }
    defaults
}

/// The linked librdkafka, as [`fmt::Display`] prints it for `eoshost version`.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct BuildInfo {
    /// librdkafka's version string, e.g. `2.12.1`.
    pub version: String,
    /// `builtin.features`, comma-separated as librdkafka reports it.
    pub features: String,
}

impl BuildInfo {
    /// Asks the linked librdkafka.
    pub fn current() -> Self {
        let (_, version) = rdkafka::util::get_rdkafka_version();
        // A default configuration holds the read-only `builtin.features`; it
        // cannot fail to create, but a binary that cannot say its features
        // should still start.
        let features = ClientConfig::new()
            .create_native_config()
            .and_then(|config| config.get("builtin.features"))
            .unwrap_or_else(|e| format!("(unknown: {e})"));
        BuildInfo { version, features }
    }

    /// The [`REQUIRED_FEATURES`] this build lacks.
    pub fn missing_features(&self) -> Vec<&'static str> {
        let have: Vec<&str> = self.features.split(',').map(str::trim).collect();
        REQUIRED_FEATURES.iter().copied().filter(|feature| !have.contains(feature)).collect()
    }

    /// The carried patches as one short list for a log line:
    /// `librdkafka#5457, librdkafka#5512`.
    pub fn patch_list() -> String {
        CARRIED_PATCHES.iter().map(|p| format!("librdkafka#{}", p.pull_request)).collect::<Vec<_>>().join(", ")
    }
}

impl fmt::Display for BuildInfo {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        writeln!(f, "librdkafka {}", self.version)?;
        writeln!(f, "builtin.features: {}", self.features)?;
        writeln!(f, "patches carried ({}):", CARRIED_PATCHES.len())?;
        for patch in CARRIED_PATCHES {
            writeln!(f, "  {} (upstream PR #{}, fixes #{}): {}", patch.file, patch.pull_request, patch.issue, patch.fixes)?;
        }
        Ok(())
    }
}

/// The text of `eoshost version`.
pub fn version_report() -> String {
    format!("eoshost {}\n{}", env!("CARGO_PKG_VERSION"), BuildInfo::current())
}

/// Logs the build at debug level (one line), when a pipeline starts.
pub fn log_build() {
    let build = BuildInfo::current();
    tracing::debug!(
        librdkafka = %build.version,
        builtin_features = %build.features,
        patches = %BuildInfo::patch_list(),
        "librdkafka build"
    );
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_build_has_every_required_feature() {
        let build = BuildInfo::current();
        assert_eq!(build.missing_features(), Vec::<&str>::new(), "builtin.features: {}", build.features);
    }

    #[test]
    fn the_build_is_librdkafka_2_12_1_the_release_the_patches_are_made_for() {
        // A new rdkafka-sys means refreshing vendor/ and re-checking each
        // patch (vendor/refresh-rdkafka-sys), then this test.
        assert_eq!(BuildInfo::current().version, "2.12.1");
    }

    #[test]
    fn the_patch_list_matches_the_patch_files_in_vendor() {
        let dir = std::path::Path::new(env!("CARGO_MANIFEST_DIR")).join("../vendor/patches");
        let mut files: Vec<String> = std::fs::read_dir(&dir)
            .unwrap_or_else(|e| panic!("read {}: {e}", dir.display()))
            .filter_map(|entry| entry.ok()?.file_name().into_string().ok())
            .filter(|name| name.ends_with(".patch"))
            .collect();
        files.sort();
        let listed: Vec<&str> = CARRIED_PATCHES.iter().map(|p| p.file).collect();
        assert_eq!(files, listed, "CARRIED_PATCHES must list vendor/patches/*.patch in order");
    }

    #[test]
    fn the_vendored_source_has_every_patch_applied() {
        // One line each patch adds, read from the vendored source the build
        // compiles: a refresh that skipped a patch fails here.
        let src = std::path::Path::new(env!("CARGO_MANIFEST_DIR")).join("../vendor/rdkafka-sys/librdkafka/src");
        let read = |file: &str| {
            std::fs::read_to_string(src.join(file)).unwrap_or_else(|e| panic!("read {}: {e}", src.join(file).display()))
        };
        assert!(read("rdkafka_coord.c").contains("creq_timeout_tmr"), "patch 0001 (PR #5457) is not applied");
        assert!(
            read("rdkafka_broker.c").contains("rd_kafka_coord_cache_evict(&rk->rk_coord_cache, rkb);"),
            "patch 0002 (PR #5512) is not applied"
        );
    }

    #[test]
    fn the_linked_librdkafka_has_every_feature_eoshost_needs() {
        // A build that lost a feature (libcurl not found by its configure,
        // say) still links: only this check notices.
        let build = BuildInfo::current();
        assert_eq!(build.missing_features(), Vec::<&str>::new(), "builtin.features: {}", build.features);
    }

    fn pairs(list: &[(&str, &str)]) -> Vec<(String, String)> {
        list.iter().map(|(k, v)| (k.to_string(), v.to_string())).collect()
    }

    #[test]
    fn ca_locations_are_probed_when_the_user_names_no_ca() {
        assert_eq!(
            ca_location_defaults(&pairs(&[("security.protocol", "sasl_ssl")])),
            vec![("ssl.ca.location", "probe"), ("https.ca.location", "probe")]
        );
    }

    #[test]
    fn a_ca_the_user_names_is_never_overridden_by_the_probe() {
        assert_eq!(
            ca_location_defaults(&pairs(&[("ssl.ca.pem", "-----BEGIN CERTIFICATE-----"), ("https.ca.pem", "x")])),
            Vec::<(&str, &str)>::new()
        );
        assert_eq!(
            ca_location_defaults(&pairs(&[("ssl.ca.location", "/etc/kafka/ca.pem")])),
            vec![("https.ca.location", "probe")]
        );
    }

    #[test]
    fn librdkafka_accepts_the_ca_location_defaults() {
        let mut config = ClientConfig::new();
        for (key, value) in ca_location_defaults(&[]) {
            config.set(key, value);
        }
        let native = config.create_native_config().expect("librdkafka accepts ssl.ca.location and https.ca.location");
        assert_eq!(native.get("ssl.ca.location").ok().as_deref(), Some("probe"));
    }

    #[test]
    fn missing_features_names_what_a_build_lacks() {
        let build = BuildInfo { version: "2.12.1".into(), features: "gzip,snappy,sasl,regex,lz4,sasl_plain,plugins".into() };
        assert_eq!(build.missing_features(), vec!["ssl", "sasl_scram", "sasl_oauthbearer", "http", "oidc", "zstd"]);
    }

    #[test]
    fn the_version_report_names_the_version_features_and_patches() {
        let report = version_report();
        assert!(report.starts_with(&format!("eoshost {}\nlibrdkafka ", env!("CARGO_PKG_VERSION"))), "{report}");
        assert!(report.contains("builtin.features: "), "{report}");
        for patch in CARRIED_PATCHES {
            assert!(report.contains(patch.file), "{report}");
        }
    }
}
