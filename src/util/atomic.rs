//! Replacing a file atomically: write a uniquely named temporary sibling, sync it, rename it over
//! the target and sync the folder, so a crash or error never leaves a half-written model,
//! checkpoint or report behind.

use std::fs::File;
use std::io::{self, Write};
use std::path::{Path, PathBuf};
use std::sync::atomic::{AtomicUsize, Ordering};

/// Writes `bytes` to `path` atomically (see [`replace`]).
pub fn write(path: &Path, bytes: &[u8]) -> io::Result<()> {
    replace(path, |tmp| File::create(tmp)?.write_all(bytes))
}

/// Calls `write` with a temporary path next to `path`, syncs that file, renames it to `path` and
/// syncs the folder where the platform allows. On any error the temporary file is removed and
/// `path` is left untouched.
pub fn replace<F>(path: &Path, write: F) -> io::Result<()>
where
    F: FnOnce(&Path) -> io::Result<()>,
{
    let tmp = temp_sibling(path)?;
    let result = write(&tmp)
        .and_then(|()| File::options().write(true).open(&tmp)?.sync_all())
        .and_then(|()| std::fs::rename(&tmp, path));
    if result.is_err() {
        let _ = std::fs::remove_file(&tmp);
    }
    result?;
    sync_folder(path);
    Ok(())
}

/// Syncs the folder holding `path` so the rename itself survives a crash; best effort (not every
/// platform opens folders).
fn sync_folder(path: &Path) {
    let dir = match path.parent() {
        Some(d) if !d.as_os_str().is_empty() => d,
        _ => Path::new("."),
    };
    if let Ok(d) = File::open(dir) {
        let _ = d.sync_all();
    }
}

/// `dir/.name.PID-N.tmp` for `dir/name`, unique within this process.
fn temp_sibling(path: &Path) -> io::Result<PathBuf> {
    static COUNTER: AtomicUsize = AtomicUsize::new(0);
    let n = COUNTER.fetch_add(1, Ordering::Relaxed);
    let name = path
        .file_name()
        .ok_or_else(|| io::Error::new(io::ErrorKind::InvalidInput, "the path names no file"))?;
    let mut tmp_name = std::ffi::OsString::from(".");
    tmp_name.push(name);
    tmp_name.push(format!(".{}-{n}.tmp", std::process::id()));
    Ok(path.with_file_name(tmp_name))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn leaves_the_target_alone_on_error() {
        let dir = std::env::temp_dir().join(format!("endoscan-atomic-{}", std::process::id()));
        std::fs::create_dir_all(&dir).unwrap();
        let target = dir.join("model.bin");
        std::fs::write(&target, b"old").unwrap();
        let err = replace(&target, |tmp| {
            std::fs::write(tmp, b"partial")?;
            Err(io::Error::other("boom"))
        });
        assert!(err.is_err());
        assert_eq!(std::fs::read(&target).unwrap(), b"old");
        replace(&target, |tmp| std::fs::write(tmp, b"new")).unwrap();
        assert_eq!(std::fs::read(&target).unwrap(), b"new");
        write(&target, b"newer").unwrap();
        assert_eq!(std::fs::read(&target).unwrap(), b"newer");
        assert_eq!(std::fs::read_dir(&dir).unwrap().count(), 1);
        std::fs::remove_dir_all(&dir).unwrap();
    }
}
