//! How a run ends badly, and the exit code each way maps to (DESIGN §1.1):
//! `2` bad usage or configuration, `3` a record failed under
//! `--on-error fail`, `1` anything else.

/// A failure the caller must turn into an exit code.
#[derive(Debug, thiserror::Error)]
pub enum Failure {
    /// Bad usage or configuration: exit 2.
    #[error("{0:#}")]
    Usage(anyhow::Error),
    /// A record failed under `--on-error fail`: exit 3.
    #[error("{0:#}")]
    RecordFailed(anyhow::Error),
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
            Failure::Fatal(_) => 1,
        }
    }
}

impl From<anyhow::Error> for Failure {
    fn from(error: anyhow::Error) -> Self {
        Failure::Fatal(error)
    }
}
