//! Writing files so that a failure never leaves half a file behind.
//!
//! Every output textrnn writes (assignments, models, reports) goes through
//! [`AtomicFile`]: the bytes go to a temporary file in the destination's
//! directory, which is flushed, synced and renamed over the destination only
//! when the writer calls [`AtomicFile::commit`]. Dropping it uncommitted
//! removes the temporary file.

use std::fs::{self, File};
use std::io::{self, BufWriter, Write};
use std::path::{Path, PathBuf};

/// A buffered file that appears at its final path only on [`commit`](Self::commit).
pub struct AtomicFile {
    dest: PathBuf,
    tmp: PathBuf,
    out: Option<BufWriter<File>>,
}

impl AtomicFile {
    /// Create the temporary file next to `dest`.
    pub fn create(dest: impl AsRef<Path>) -> io::Result<Self> {
        let dest = dest.as_ref().to_path_buf();
        let dir = match dest.parent() {
            Some(p) if !p.as_os_str().is_empty() => p.to_path_buf(),
            _ => PathBuf::from("."),
        };
        let name = dest
            .file_name()
            .ok_or_else(|| {
                io::Error::new(io::ErrorKind::InvalidInput, "output path has no file name")
            })?
            .to_string_lossy()
            .into_owned();
        let tmp = dir.join(format!(".{name}.{}.tmp", std::process::id()));
        let file = File::create(&tmp)?;
        Ok(AtomicFile {
            dest,
            tmp,
            out: Some(BufWriter::new(file)),
        })
    }

    /// Flush, fsync and rename into place. On failure (a full disk shows up
    /// here, at the flush) the temporary file is removed.
    pub fn commit(mut self) -> io::Result<()> {
        let out = self.out.take().expect("AtomicFile committed twice");
        let result = out
            .into_inner()
            .map_err(|e| e.into_error())
            .and_then(|file| file.sync_all())
            .and_then(|_| fs::rename(&self.tmp, &self.dest));
        if result.is_err() {
            let _ = fs::remove_file(&self.tmp);
        }
        result
    }
}

impl Write for AtomicFile {
    fn write(&mut self, buf: &[u8]) -> io::Result<usize> {
        self.out.as_mut().expect("write after commit").write(buf)
    }
    fn flush(&mut self) -> io::Result<()> {
        self.out.as_mut().expect("flush after commit").flush()
    }
}

impl Drop for AtomicFile {
    fn drop(&mut self) {
        if self.out.take().is_some() {
            let _ = fs::remove_file(&self.tmp);
        }
    }
}

/// Write `bytes` to `dest` atomically.
pub fn write_atomic(dest: impl AsRef<Path>, bytes: &[u8]) -> io::Result<()> {
    let mut f = AtomicFile::create(dest)?;
    f.write_all(bytes)?;
    f.commit()
}

/// The temporary directory a directory `dir` is staged in before
/// [`replace_dir`] renames it into place (beside `dir`, so the rename stays
/// on one file system), and `dir`'s parent and name.
pub fn staging_dir(dir: &Path) -> (PathBuf, String, PathBuf) {
    let parent = dir
        .parent()
        .filter(|p| !p.as_os_str().is_empty())
        .unwrap_or(Path::new("."))
        .to_path_buf();
    let name = dir
        .file_name()
        .map(|n| n.to_string_lossy().into_owned())
        .unwrap_or_else(|| "model".into());
    let tmp = parent.join(format!(".{name}.{}.tmp", std::process::id()));
    (parent, name, tmp)
}

/// Write a whole directory atomically: `fill` writes its files into a fresh
/// staging directory, which then replaces `dir` (an existing `dir` is moved
/// aside first and removed after). On any error the staging directory is
/// removed and `dir` is left as it was. `io_err` turns an I/O error on a
/// path into the caller's error type.
pub fn replace_dir<E>(
    dir: &Path,
    fill: impl FnOnce(&Path) -> Result<(), E>,
    io_err: impl Fn(&Path, io::Error) -> E,
) -> Result<(), E> {
    let (parent, name, tmp) = staging_dir(dir);
    let _ = fs::remove_dir_all(&tmp);
    fs::create_dir_all(&tmp).map_err(|e| io_err(&tmp, e))?;
    let result = fill(&tmp).and_then(|_| {
        let old = parent.join(format!(".{name}.{}.old", std::process::id()));
        if dir.exists() {
            fs::rename(dir, &old).map_err(|e| io_err(dir, e))?;
        }
        fs::rename(&tmp, dir).map_err(|e| io_err(dir, e))?;
        let _ = fs::remove_dir_all(&old);
        Ok(())
    });
    if result.is_err() {
        let _ = fs::remove_dir_all(&tmp);
    }
    result
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn uncommitted_file_leaves_nothing_and_commit_replaces() {
        let dir = tempfile::tempdir().unwrap();
        let dest = dir.path().join("out.jsonl");
        {
            let mut f = AtomicFile::create(&dest).unwrap();
            f.write_all(b"half").unwrap();
        }
        assert!(!dest.exists());
        assert_eq!(fs::read_dir(dir.path()).unwrap().count(), 0);
        write_atomic(&dest, b"old").unwrap();
        write_atomic(&dest, b"new").unwrap();
        assert_eq!(fs::read(&dest).unwrap(), b"new");
        assert_eq!(fs::read_dir(dir.path()).unwrap().count(), 1);
    }
}
