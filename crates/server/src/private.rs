//! The store's data folder is its own user's alone: recordings, the database and its
//! sessions are not for other accounts on the machine.

use std::path::Path;

/// Creates `path` (and its parents) if missing and makes it readable, writable and
/// traversable by the owner only (0700), which also closes every file below it to others,
/// whatever their own modes (files made by older versions included).
pub fn dir(path: &Path) -> std::io::Result<()> {
    std::fs::create_dir_all(path)?;
    #[cfg(unix)]
    {
        use std::os::unix::fs::PermissionsExt;
        std::fs::set_permissions(path, std::fs::Permissions::from_mode(0o700))?;
    }
    Ok(())
}
