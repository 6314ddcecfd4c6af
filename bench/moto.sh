# Sourced by the bench scripts: starts moto on a free 127.0.0.1 port (stopped on exit), waits
# until it answers, and exports the AWS environment that points the SDKs and CLIs at it.
#   . bench/moto.sh WORK_DIR
port=$(python3 -c 'import socket; s=socket.socket(); s.bind(("127.0.0.1", 0)); print(s.getsockname()[1])')
python3 -m moto.server -H 127.0.0.1 -p "$port" >"$1/moto.log" 2>&1 &
moto_pid=$!
trap 'kill $moto_pid 2>/dev/null || true' EXIT
export AWS_ENDPOINT_URL="http://127.0.0.1:$port" AWS_ACCESS_KEY_ID=bench AWS_SECRET_ACCESS_KEY=bench \
  AWS_DEFAULT_REGION=eu-central-1 AWS_REGION=eu-central-1
until python3 -c "import urllib.request; urllib.request.urlopen('$AWS_ENDPOINT_URL/moto-api/data.json', timeout=1)" 2>/dev/null; do
  kill -0 "$moto_pid" 2>/dev/null || { cat "$1/moto.log"; exit 1; }
  sleep 0.2
done
t() { /usr/bin/time -f "$1: %e s wall, %U s user + %S s sys, peak RSS %M KiB" "${@:2}"; }
