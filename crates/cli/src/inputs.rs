//! Reading the settings and events files that several commands take.

use std::path::Path;

use callrec_policy::{SettingsFile, TimedEvent, parse_events};

/// Reads and validates both files; settings errors come first (POLICY.md §10). The error is
/// one line naming the file, the line (for events), the field and the valid values.
pub fn settings_and_events(
    settings: &Path,
    events: &Path,
) -> Result<(SettingsFile, Vec<(usize, TimedEvent)>), String> {
    let settings_text = read(settings, "settings")?;
    let parsed = SettingsFile::from_json(&settings_text)
        .map_err(|e| format!("{}: {e}", settings.display()))?;
    let events_text = read(events, "events")?;
    let lines = parse_events(&events_text)
        .map_err(|e| format!("{}:{}: {}", events.display(), e.line, e.error))?;
    Ok((parsed, lines))
}

fn read(path: &Path, what: &str) -> Result<String, String> {
    std::fs::read_to_string(path)
        .map_err(|e| format!("{}: cannot read the {what} file: {e}", path.display()))
}
