# Sourced by the scripts: one cargo target directory outside the clone, so warm runs are fast.
export CARGO_TARGET_DIR="${CARGO_TARGET_DIR:-$HOME/.cache/callrec-target}"
export CARGO_TERM_COLOR="${CARGO_TERM_COLOR:-never}"
# Python packages the tests need (pjsua2), installed by scripts/setup outside the clone.
export CALLREC_PYTHON_DEPS="${CALLREC_PYTHON_DEPS:-$HOME/.cache/callrec-python}"
