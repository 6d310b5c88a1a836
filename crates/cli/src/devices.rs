//! `callrec devices`: the input devices this machine offers.

use std::process::ExitCode;

/// List the input devices (microphones, call-audio monitors) with their default rate and
/// channels; the default device is marked with `*`.
#[derive(Debug, clap::Args)]
pub struct Args {
    /// Print JSON instead of a table.
    #[arg(long)]
    json: bool,
}

/// Runs the command.
pub fn run(args: &Args) -> ExitCode {
    let devices = match callrec_audio::list_input_devices() {
        Ok(d) => d,
        Err(e) => return crate::fail(&e.to_string(), 1),
    };
    if args.json {
        let list: Vec<serde_json::Value> = devices
            .iter()
            .map(|d| {
                serde_json::json!({"name": d.name, "default": d.is_default,
                    "rate": d.default_rate, "channels": d.default_channels,
                    "format": d.sample_format})
            })
            .collect();
        return crate::print(&serde_json::Value::Array(list).to_string());
    }
    if devices.is_empty() {
        return crate::print("no input devices");
    }
    let width = devices
        .iter()
        .map(|d| d.name.len())
        .max()
        .unwrap_or(4)
        .max(4);
    let mut text = format!(
        "  {:width$}  {:>6}  {:>8}  format",
        "name", "rate", "channels"
    );
    for d in &devices {
        text.push_str(&format!(
            "\n{} {:width$}  {:>6}  {:>8}  {}",
            if d.is_default { '*' } else { ' ' },
            d.name,
            d.default_rate,
            d.default_channels,
            d.sample_format
        ));
    }
    crate::print(&text)
}
