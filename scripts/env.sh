# Sourced by the scripts: one cargo target directory outside the clone, so warm runs are fast.
export CARGO_TARGET_DIR="${CARGO_TARGET_DIR:-$HOME/.cache/callrec-target}"
export CARGO_TERM_COLOR="${CARGO_TERM_COLOR:-never}"
