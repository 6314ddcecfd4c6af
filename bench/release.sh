# Sourced by the bench scripts run from the repository root: builds the release binary, sets
# `bin` to it and makes WORK_DIR afresh (bench/workdir.sh).
#   . bench/release.sh WORK_DIR
cargo build --release --locked -q
bin=$(realpath "${CARGO_TARGET_DIR:-target}/release/dora-evidence")
. bench/workdir.sh
fresh_workdir "$1"
