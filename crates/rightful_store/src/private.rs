//! Private files and directories: everything Rightful writes that may hold personal data (the
//! engine's SQLite database and its `-wal`/`-shm`, the work directories of requests, exported rows,
//! result ZIPs, the mail outbox, keys) is created readable by its owner only — files `0600`,
//! directories `0700` — and an existing one is tightened to those modes when it is opened again
//! (an installation made before this rule). On other platforms than Unix the modes are not set.

use std::fs::{File, OpenOptions};
use std::io;
use std::path::Path;

/// The mode of a private file.
pub const FILE_MODE: u32 = 0o600;
/// The mode of a private directory.
pub const DIR_MODE: u32 = 0o700;

#[cfg(unix)]
fn set_mode(path: &Path, mode: u32) -> io::Result<()> {
    use std::os::unix::fs::PermissionsExt;
    let current = std::fs::metadata(path)?.permissions().mode() & 0o777;
    if current == mode {
        return Ok(());
    }
    std::fs::set_permissions(path, std::fs::Permissions::from_mode(mode))
}

#[cfg(not(unix))]
fn set_mode(_path: &Path, _mode: u32) -> io::Result<()> {
    Ok(())
}

/// Creates directory `path` (and its missing parents) with mode `0700`; an existing `path` is
/// tightened to `0700`. Existing parents are left as they are.
pub fn dir(path: &Path) -> io::Result<()> {
    let mut b = std::fs::DirBuilder::new();
    b.recursive(true);
    #[cfg(unix)]
    std::os::unix::fs::DirBuilderExt::mode(&mut b, DIR_MODE);
    b.create(path)?;
    set_mode(path, DIR_MODE)
}

/// Creates (or truncates) file `path` for writing with mode `0600`; its directory must exist.
/// A file that existed with wider permissions is tightened before anything is written.
pub fn create(path: &Path) -> io::Result<File> {
    let mut o = OpenOptions::new();
    o.write(true).create(true).truncate(true);
    #[cfg(unix)]
    std::os::unix::fs::OpenOptionsExt::mode(&mut o, FILE_MODE);
    let f = o.open(path)?;
    set_mode(path, FILE_MODE)?;
    Ok(f)
}

/// Creates file `path` with mode `0600` only if it does not exist (`create_new`): for keys, where
/// a concurrent creator's file must win.
pub fn create_new(path: &Path) -> io::Result<File> {
    let mut o = OpenOptions::new();
    o.write(true).create_new(true);
    #[cfg(unix)]
    std::os::unix::fs::OpenOptionsExt::mode(&mut o, FILE_MODE);
    o.open(path)
}

/// Writes `bytes` to a new or truncated private file.
pub fn write(path: &Path, bytes: &[u8]) -> io::Result<()> {
    use std::io::Write;
    let mut f = create(path)?;
    f.write_all(bytes)?;
    f.flush()
}

/// Tightens an existing file to `0600`; a missing file is no error.
pub fn tighten(path: &Path) -> io::Result<()> {
    match set_mode(path, FILE_MODE) {
        Err(e) if e.kind() == io::ErrorKind::NotFound => Ok(()),
        other => other,
    }
}

/// Makes sure the SQLite database file `path` exists with mode `0600` before SQLite opens it
/// (SQLite then gives its `-wal` and `-shm` files the same mode), its directory `0700` when
/// it has to be created, and tightens the `-wal` and `-shm` files left by an earlier run.
/// `:memory:` and `file:` URIs are left alone.
pub fn sqlite_file(path: &str) -> io::Result<()> {
    if path.is_empty() || path == ":memory:" || path.starts_with("file:") {
        return Ok(());
    }
    let p = Path::new(path);
    if let Some(parent) = p.parent().filter(|d| !d.as_os_str().is_empty())
        && !parent.exists()
    {
        dir(parent)?;
    }
    if !p.exists() {
        // An empty file is a valid empty database for SQLite.
        drop(create_new(p).or_else(|e| {
            if e.kind() == io::ErrorKind::AlreadyExists {
                OpenOptions::new().read(true).open(p)
            } else {
                Err(e)
            }
        })?);
    }
    tighten(p)?;
    sqlite_companions(path)
}

/// Tightens the `-wal`, `-shm` and `-journal` files of SQLite database `path` to `0600`.
pub fn sqlite_companions(path: &str) -> io::Result<()> {
    if path.is_empty() || path == ":memory:" || path.starts_with("file:") {
        return Ok(());
    }
    for suffix in ["-wal", "-shm", "-journal"] {
        tighten(Path::new(&format!("{path}{suffix}")))?;
    }
    Ok(())
}

#[cfg(all(test, unix))]
mod tests {
    use super::*;
    use std::os::unix::fs::PermissionsExt;

    #[test]
    fn files_and_dirs_are_private_and_existing_ones_are_tightened() {
        let mode = |p: &Path| std::fs::metadata(p).unwrap().permissions().mode() & 0o777;
        let root = std::env::temp_dir().join(format!("rightful-private-{}", std::process::id()));
        let d = root.join("a/b");
        dir(&d).unwrap();
        assert_eq!((mode(&root.join("a")), mode(&d)), (0o700, 0o700));
        std::fs::set_permissions(&d, std::fs::Permissions::from_mode(0o755)).unwrap();
        dir(&d).unwrap();
        assert_eq!(mode(&d), 0o700);
        let f = d.join("f");
        std::fs::write(&f, b"x").unwrap();
        std::fs::set_permissions(&f, std::fs::Permissions::from_mode(0o644)).unwrap();
        write(&f, b"y").unwrap();
        assert_eq!(mode(&f), 0o600);
        let db = d.join("x.sqlite3");
        sqlite_file(db.to_str().unwrap()).unwrap();
        assert_eq!(mode(&db), 0o600);
        std::fs::remove_dir_all(&root).unwrap();
    }
}
