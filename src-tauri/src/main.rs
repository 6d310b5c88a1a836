//! The `callrec-desktop` binary: the agent window.
#![cfg_attr(not(debug_assertions), windows_subsystem = "windows")]

fn main() {
    callrec_desktop::run();
}
