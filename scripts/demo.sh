#!/usr/bin/env bash
# The demo on the bundled sample quarter, no AWS account needed: make a throw-away test
# identity (once), build and sign the evidence package, and verify it against the test CA.
set -euo pipefail
cd "$(dirname "$0")/.."
run() { cargo run --quiet --release -- "$@"; }
if [ ! -f demo-identity/signer.key ]; then
  run keygen --out demo-identity --name "dora-evidence demo signer"
fi
run build --input samples/input --period 2026-Q3 --config samples/dora-evidence.toml \
  --sign-key demo-identity/signer.key --sign-cert demo-identity/signer.pem \
  --out demo-package --force
run verify demo-package --ca demo-identity/ca.pem
