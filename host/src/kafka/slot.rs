//! The default `transactional.id`: `<group>-<hostname>-<n>`, `n` the lowest
//! slot that no other live eoshost of the same group on this host holds. The
//! slot is an advisory lock on a file, released by the kernel when the
//! process dies however it dies, so a restarted instance takes its
//! predecessor's id (fencing it and aborting its open transaction at once),
//! and two live instances never share an id.

use std::fs::{File, OpenOptions};
use std::os::fd::AsRawFd;

use anyhow::Context as _;

/// Slots tried before giving up: more instances of one group on one host
/// than this is a configuration mistake.
const MAX_SLOTS: u32 = 1024;

/// A held slot; the lock lasts as long as this value.
#[derive(Debug)]
pub struct Slot {
    pub transactional_id: String,
    _lock: File,
}

/// File names may not hold every character a group id may.
fn sanitize(name: &str) -> String {
    name.chars().map(|c| if c.is_ascii_alphanumeric() || "-_.".contains(c) { c } else { '_' }).collect()
}

/// Takes the lowest free slot for `group` on this host.
pub fn acquire(group: &str) -> anyhow::Result<Slot> {
    let host = hostname::get().map(|h| h.to_string_lossy().into_owned()).unwrap_or_else(|_| "localhost".into());
    let dir = crate::config::environment::slot_lock_dir();
    std::fs::create_dir_all(&dir).with_context(|| format!("creating the slot lock directory {}", dir.display()))?;
    for n in 0..MAX_SLOTS {
        let path = dir.join(format!("{}-{n}.lock", sanitize(group)));
        let file = OpenOptions::new()
            .create(true)
            .truncate(false)
            .write(true)
            .open(&path)
            .with_context(|| format!("opening slot lock {}", path.display()))?;
        // SAFETY: flock on a descriptor this function owns.
        let locked = unsafe { libc::flock(file.as_raw_fd(), libc::LOCK_EX | libc::LOCK_NB) } == 0;
        if locked {
            return Ok(Slot { transactional_id: format!("{group}-{host}-{n}"), _lock: file });
        }
    }
    anyhow::bail!("all {MAX_SLOTS} transactional-id slots of group {group} on this host are taken; pass --transactional-id")
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn live_instances_get_distinct_slots_and_a_released_slot_is_reused() {
        let group = format!("slot-test-{}", std::process::id());
        let first = acquire(&group).unwrap();
        let second = acquire(&group).unwrap();
        assert!(first.transactional_id.ends_with("-0"), "{}", first.transactional_id);
        assert!(second.transactional_id.ends_with("-1"), "{}", second.transactional_id);
        drop(first);
        let third = acquire(&group).unwrap();
        assert!(third.transactional_id.ends_with("-0"), "{}", third.transactional_id);
    }
}
