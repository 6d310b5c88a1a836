//! The `callrec-desktop` binary: the agent window.
#![cfg_attr(not(debug_assertions), windows_subsystem = "windows")]

fn main() {
    callrec_agent::private_files();
    callrec_desktop::run();
}
