#!/usr/bin/env bash
# Runs every test on a fresh machine: installs the independent checkers the tests call
# (poppler-utils, qpdf, libnss3-tools, openssl, curl), moto, pyHanko, the OSCAL checkers
# (compliance-trestle, jsonschema, regex) and cfn-lint, starts moto on 127.0.0.1 for the
# S3/KMS/STS tests, runs clippy (warnings are errors) and `cargo test` over the workspace,
# and stops moto again. Last, a full run (no arguments) builds deploy/Dockerfile with buildah
# and checks the image (scripts/image-test.sh, ~13 min cold; DORA_SKIP_IMAGE_TEST=1 leaves it
# out of a quick local loop).
set -euo pipefail
cd "$(dirname "$0")/.."

missing=()
for pkg in poppler-utils qpdf libnss3-tools openssl curl buildah debootstrap; do
  dpkg -s "$pkg" >/dev/null 2>&1 || missing+=("$pkg")
done
if [ ${#missing[@]} -gt 0 ]; then
  echo "installing ${missing[*]}"
  apt-get update -qq
  DEBIAN_FRONTEND=noninteractive apt-get install -y -qq "${missing[@]}" >/dev/null
fi
# moto (S3/KMS/STS server); pyHanko validates PDF signatures independently (and brings
# asn1crypto and cryptography, which the timestamp tests use to take CMS apart and make
# short-lived certificates); compliance-trestle (OSCAL models), jsonschema and regex (for the
# \p{L} patterns of NIST's schemas) check the OSCAL files (scripts/oscal_check.py); cfn-lint
# validates the CloudFormation in deploy/ (scripts/deploy_check.py). Used by the tests only.
for want in moto==5.2.5 pyHanko==0.38.0 compliance-trestle==5.2.0 jsonschema==4.26.0 regex==2026.5.9 cfn-lint==1.51.0; do
  name=${want%%==*} version=${want##*==}
  if ! python3 -c "import importlib.metadata as m, sys; sys.exit(m.version('$name') != '$version')" 2>/dev/null; then
    echo "installing $want"
    extra=""; [ "$name" = moto ] && extra="[server]"
    python3 -m pip install -q "$name$extra==$version"
  fi
done

port=$(python3 -c 'import socket; s=socket.socket(); s.bind(("127.0.0.1", 0)); print(s.getsockname()[1])')
python3 -m moto.server -H 127.0.0.1 -p "$port" >"${TMPDIR:-/tmp}/dora-evidence-moto.log" 2>&1 &
moto_pid=$!
trap 'kill "$moto_pid" 2>/dev/null || true' EXIT
for _ in $(seq 1 100); do
  if python3 -c "import urllib.request; urllib.request.urlopen('http://127.0.0.1:$port/moto-api/data.json', timeout=1)" 2>/dev/null; then
    break
  fi
  kill -0 "$moto_pid" 2>/dev/null || { echo "moto did not start:"; cat "${TMPDIR:-/tmp}/dora-evidence-moto.log"; exit 1; }
  sleep 0.2
done
export DORA_TEST_MOTO_ENDPOINT="http://127.0.0.1:$port"
echo "moto on $DORA_TEST_MOTO_ENDPOINT"

# Lints first: a warning fails the run like a failing test.
cargo clippy --locked --workspace --all-targets -- -D warnings
# The benchmark-only `ablation` feature (bench/ablation.sh) is linted too, so it cannot rot.
cargo clippy --locked --workspace --all-targets --features dora-evidence/ablation -- -D warnings
cargo test --locked --workspace "$@"
if [ $# -eq 0 ] && [ "${DORA_SKIP_IMAGE_TEST:-}" != 1 ]; then
  scripts/image-test.sh
fi
