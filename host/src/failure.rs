//! How a run ends badly, and the exit code each way maps to (DESIGN §1.1):
//! `2` bad usage or configuration, `3` a record failed under
//! `--on-error fail`, `4` fenced by a newer instance with the same
//! `group.instance.id` (do not restart with the same id), `1` anything else.

/// A failure the caller must turn into an exit code.
#[derive(Debug, thiserror::Error)]
pub enum Failure {
    /// Bad usage or configuration: exit 2.
    #[error("{0:#}")]
    Usage(anyhow::Error),
    /// A record failed under `--on-error fail`: exit 3.
    #[error("{0:#}")]
    RecordFailed(anyhow::Error),
    /// Fenced by a newer instance with the same `group.instance.id`
    /// (FENCED_INSTANCE_ID, fatal to the consumer): exit 4. Distinct so that
    /// an orchestrator can tell it apart: restart with a back-off (a lone
    /// static member can be fenced by its own rejoin after a coordinator
    /// failover), and alert on a restart loop (two live instances share an
    /// id).
    #[error("{0:#}")]
    Fenced(anyhow::Error),
    /// Anything else: exit 1.
    #[error("{0:#}")]
    Fatal(anyhow::Error),
}

impl Failure {
    pub fn usage(message: impl std::fmt::Display) -> Self {
        Failure::Usage(anyhow::anyhow!("{message}"))
    }

    pub fn exit_code(&self) -> i32 {
        match self {
            Failure::Usage(_) => 2,
            Failure::RecordFailed(_) => 3,
            Failure::Fenced(_) => 4,
            Failure::Fatal(_) => 1,
        }
    }
}

impl From<anyhow::Error> for Failure {
    fn from(error: anyhow::Error) -> Self {
        Failure::Fatal(error)
    }
}
