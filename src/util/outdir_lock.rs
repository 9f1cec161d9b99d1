//! One writer per output folder: an advisory `flock` on `<out>/.endoscan.lock`.
//!
//! The operating system drops the lock when its holder exits, however it exits (a `kill -9`
//! included), so a crashed run never leaves a folder stuck; a finished run removes the lock
//! file, a killed one leaves it behind, harmless, for the next run to take over. The file records who holds it (pid, host, command, start time) so that a
//! refused second writer can say which process to wait for.

use std::fs::{File, OpenOptions, TryLockError};
use std::io::{Read, Seek, SeekFrom, Write};
use std::path::{Path, PathBuf};
use std::time::{SystemTime, UNIX_EPOCH};

/// Name of the lock file inside an output folder.
pub const LOCK_FILE: &str = ".endoscan.lock";

/// Why an output folder could not be locked.
#[derive(Debug, thiserror::Error)]
pub enum LockError {
    /// Another live process writes to the folder.
    #[error(
        "output folder {} is in use by another endoscan run ({holder}); \
         wait for it to finish or choose another --out",
        folder.display()
    )]
    InUse { folder: PathBuf, holder: String },
    /// The folder or its lock file could not be created, read or written.
    #[error("--out {}: cannot create or lock the output folder", folder.display())]
    Io {
        folder: PathBuf,
        #[source]
        source: std::io::Error,
    },
}

/// Held for as long as a run writes to its output folder; dropping it releases the folder.
#[derive(Debug)]
pub struct OutDirLock {
    _file: File,
    folder: PathBuf,
}

impl OutDirLock {
    /// Creates `folder` if needed and takes its lock, or fails naming the process that has it.
    pub fn acquire(folder: &Path) -> Result<Self, LockError> {
        let io = |source| LockError::Io {
            folder: folder.to_path_buf(),
            source,
        };
        std::fs::create_dir_all(folder).map_err(io)?;
        let path = folder.join(LOCK_FILE);
        let mut file = loop {
            let mut file = OpenOptions::new()
                .read(true)
                .write(true)
                .create(true)
                .truncate(false)
                .open(&path)
                .map_err(io)?;
            match file.try_lock() {
                // A holder that just finished removed the file we opened: lock the new one.
                Ok(()) if still_at(&file, &path) => break file,
                Ok(()) => continue,
                Err(TryLockError::WouldBlock) => {
                    return Err(LockError::InUse {
                        folder: folder.to_path_buf(),
                        holder: describe_holder(&mut file),
                    })
                }
                Err(TryLockError::Error(source)) => return Err(io(source)),
            }
        };
        file.set_len(0).map_err(io)?;
        file.seek(SeekFrom::Start(0)).map_err(io)?;
        file.write_all(holder_record().as_bytes()).map_err(io)?;
        file.flush().map_err(io)?;
        Ok(Self {
            _file: file,
            folder: folder.to_path_buf(),
        })
    }

    /// The folder this lock holds.
    pub fn folder(&self) -> &Path {
        &self.folder
    }
}

impl Drop for OutDirLock {
    /// Removes the lock file while still holding the lock, so a finished run leaves only its
    /// outputs; a killed one leaves a stale file that the next run takes over.
    fn drop(&mut self) {
        let _ = std::fs::remove_file(self.folder.join(LOCK_FILE));
    }
}

/// Whether `path` still names the open `file` (not removed or replaced since it was opened).
fn still_at(file: &File, path: &Path) -> bool {
    use std::os::unix::fs::MetadataExt;
    match (file.metadata(), std::fs::metadata(path)) {
        (Ok(open), Ok(named)) => (open.dev(), open.ino()) == (named.dev(), named.ino()),
        _ => false,
    }
}

/// What the holder wrote into the lock file, on one line.
fn describe_holder(file: &mut File) -> String {
    let mut text = String::new();
    let _ = file.read_to_string(&mut text);
    let text = text.trim();
    if text.is_empty() {
        "a process that has not yet said who it is".to_string()
    } else {
        let lines: Vec<String> = text.lines().map(with_age).collect();
        lines.join(", ")
    }
}

/// `since unix T` reads as `started N s ago`; other lines as they are.
fn with_age(line: &str) -> String {
    let started = line
        .strip_prefix("since unix ")
        .and_then(|t| t.parse::<u64>().ok());
    match (started, unix_now()) {
        (Some(t), Some(now)) => format!("started {} s ago", now.saturating_sub(t)),
        _ => line.to_string(),
    }
}

fn unix_now() -> Option<u64> {
    SystemTime::now()
        .duration_since(UNIX_EPOCH)
        .ok()
        .map(|d| d.as_secs())
}

/// `pid …`, `host …`, `command …`, `since …` lines for the lock file.
fn holder_record() -> String {
    let command: Vec<String> = std::env::args().collect();
    let host = super::host::hostname();
    let since = unix_now().unwrap_or(0);
    format!(
        "pid {}\nhost {host}\ncommand {}\nsince unix {since}\n",
        std::process::id(),
        command.join(" ")
    )
}

#[cfg(test)]
mod tests {
    use super::*;

    fn scratch(name: &str) -> PathBuf {
        let dir = std::env::temp_dir().join(format!("endoscan-lock-{name}-{}", std::process::id()));
        let _ = std::fs::remove_dir_all(&dir);
        dir
    }

    #[test]
    fn second_holder_is_refused_with_the_first_ones_pid() {
        let dir = scratch("second");
        let first = OutDirLock::acquire(&dir).unwrap();
        let err = OutDirLock::acquire(&dir).unwrap_err().to_string();
        assert!(err.contains(&dir.display().to_string()), "{err}");
        assert!(
            err.contains(&format!("pid {}", std::process::id())),
            "{err}"
        );
        drop(first);
        assert!(
            !dir.join(LOCK_FILE).exists(),
            "a released lock leaves no file"
        );
        OutDirLock::acquire(&dir).expect("released on drop");
    }

    #[test]
    fn a_stale_record_without_a_lock_does_not_block() {
        let dir = scratch("stale");
        std::fs::create_dir_all(&dir).unwrap();
        std::fs::write(dir.join(LOCK_FILE), "pid 999999\nhost gone\n").unwrap();
        let lock = OutDirLock::acquire(&dir).unwrap();
        let record = std::fs::read_to_string(dir.join(LOCK_FILE)).unwrap();
        assert!(
            record.starts_with(&format!("pid {}\n", std::process::id())),
            "{record}"
        );
        assert_eq!(lock.folder(), dir);
    }
}
