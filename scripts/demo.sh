#!/usr/bin/env bash
# The demo on the bundled sample, no AWS account needed: make a throw-away test identity
# (once); generate the 2026-Q2 sample (once, into demo-samples-2026-Q2: the Q3 estate 13 weeks
# earlier, without four of Q3's problems and with four that Q3 no longer has); build and sign
# the 2026-Q2 package from it; build and sign the 2026-Q3 package from samples/ compared with it
# (--previous: changes.json and "Changes since 2026-Q2" in the report); verify both against
# the test CA; print what changed (new, resolved and persisting exceptions). The 2026-Q3
# package gets RFC 3161 timestamps from a TEST time-stamping authority started here on
# 127.0.0.1 (scripts/test_tsa.py: `openssl ts -reply`, its own throw-away CA in demo-tsa/),
# and one archive-timestamp renewal (`dora-evidence timestamp`). Last, the 2026-Q3 package is
# re-performed from its own artifacts and compared byte for byte (`dora-evidence rebuild`).
set -euo pipefail
cd "$(dirname "$0")/.."
run() { cargo run --quiet --release -- "$@"; }
if [ ! -f demo-identity/signer.key ]; then
  run keygen --out demo-identity --name "dora-evidence demo signer"
fi
if [ ! -d demo-samples-2026-Q2 ]; then
  run samples --quarter 2026-Q2 --out demo-samples-2026-Q2
fi
sign=(--sign-key demo-identity/signer.key --sign-cert demo-identity/signer.pem)
# The TEST TSA: stops when this script ends (its standard input closes). Its folder is
# remade each run, but only if it is the demo's own (never a folder the demo did not make).
if [ -e demo-tsa ] && [ ! -f demo-tsa/tsa.cnf ]; then
  echo "demo-tsa exists and is not the demo's TSA folder (no tsa.cnf); move it away first" >&2
  exit 2
fi
rm -rf demo-tsa
coproc TSA { exec python3 scripts/test_tsa.py demo-tsa --exit-on-stdin-eof; }
read -r tsa <&"${TSA[0]}"
tsa_flags=(--tsa "$tsa" --tsa-ca demo-tsa/ca.pem)
run build --input demo-samples-2026-Q2/input --period 2026-Q2 --config samples/dora-evidence.toml "${sign[@]}" \
  --out demo-package-2026-Q2 --force
run build --input samples/input --period 2026-Q3 --config samples/dora-evidence.toml "${sign[@]}" \
  "${tsa_flags[@]}" --previous demo-package-2026-Q2 --out demo-package --force
run verify demo-package-2026-Q2 --ca demo-identity/ca.pem
run verify demo-package --ca demo-identity/ca.pem --tsa-ca demo-tsa/ca.pem
run diff demo-package-2026-Q2 demo-package --ca demo-identity/ca.pem
run timestamp demo-package "${tsa_flags[@]}" --ca demo-identity/ca.pem
run rebuild demo-package --ca demo-identity/ca.pem --tsa-ca demo-tsa/ca.pem --previous demo-package-2026-Q2
