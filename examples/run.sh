#!/usr/bin/env bash
# Run one example end to end:
#   examples/run.sh openai_v2|openllmetry|openinference
#
# 1. creates examples/.venv-<name> from examples/requirements-<name>.txt plus this project
#    (pip install -e ..), once; again when the requirements file changes;
# 2. starts `otel-ai-detect serve` in the background on 127.0.0.1:14317 (gRPC) / 14318 (HTTP)
#    (EXAMPLE_GRPC_PORT / EXAMPLE_HTTP_PORT to change them) with examples/otel-ai-detect-example.yaml;
# 3. runs examples/<name>_app.py against it (the app starts the fake model server in a thread);
# 4. stops the processor (SIGTERM drains its queue) and prints the alerts its debug exporter printed.
#
# PYTHON picks the interpreter for the venv (default python3; 3.10+).
set -euo pipefail

usage() { echo "usage: $0 openai_v2|openllmetry|openinference" >&2; exit 2; }
[ $# -eq 1 ] || usage
name=$1
case "$name" in openai_v2|openllmetry|openinference) ;; *) usage ;; esac

here=$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)
root=$(dirname "$here")
venv="$here/.venv-$name"
requirements="$here/requirements-$name.txt"
stamp="$venv/.installed"
PYTHON=${PYTHON:-python3}

if [ ! -f "$stamp" ] || [ "$requirements" -nt "$stamp" ] || [ "$root/pyproject.toml" -nt "$stamp" ]; then
    echo "== installing $venv (requirements-$name.txt + otel-ai-detect)"
    "$PYTHON" -m venv "$venv"
    "$venv/bin/pip" install -q --disable-pip-version-check -r "$requirements" -e "$root"
    touch "$stamp"
fi

export EXAMPLE_GRPC_PORT=${EXAMPLE_GRPC_PORT:-14317}
export EXAMPLE_HTTP_PORT=${EXAMPLE_HTTP_PORT:-14318}
workdir=$(mktemp -d "${TMPDIR:-/tmp}/otel-ai-detect-example.XXXXXX")
export EXAMPLE_STATE_DIR=$workdir
log="$workdir/processor.log"
pid=""

cleanup() {
    if [ -n "$pid" ] && kill -0 "$pid" 2>/dev/null; then
        kill -TERM "$pid" 2>/dev/null || true
        wait "$pid" 2>/dev/null || true
    fi
    rm -rf "$workdir"
}
trap cleanup EXIT INT TERM

port_open() {
    "$venv/bin/python" - "$1" <<'PY'
import socket, sys
s = socket.socket()
s.settimeout(0.5)
sys.exit(0 if s.connect_ex(("127.0.0.1", int(sys.argv[1]))) == 0 else 1)
PY
}

if port_open "$EXAMPLE_GRPC_PORT" || port_open "$EXAMPLE_HTTP_PORT"; then
    echo "port $EXAMPLE_GRPC_PORT or $EXAMPLE_HTTP_PORT is in use: set EXAMPLE_GRPC_PORT / EXAMPLE_HTTP_PORT" >&2
    exit 1
fi

echo "== starting otel-ai-detect serve on 127.0.0.1:$EXAMPLE_GRPC_PORT (gRPC) / :$EXAMPLE_HTTP_PORT (HTTP)"
# The processor must not forward to the endpoint given to the app (that is itself).
env -u OTEL_EXPORTER_OTLP_ENDPOINT PYTHONUNBUFFERED=1 \
    "$venv/bin/otel-ai-detect" serve --config "$here/otel-ai-detect-example.yaml" >"$log" 2>&1 &
pid=$!

for _ in $(seq 1 300); do   # up to 60 s: loading Presidio/spaCy takes a few seconds
    port_open "$EXAMPLE_GRPC_PORT" && break
    if ! kill -0 "$pid" 2>/dev/null; then
        echo "otel-ai-detect exited early:" >&2; cat "$log" >&2; exit 1
    fi
    sleep 0.2
done
port_open "$EXAMPLE_GRPC_PORT" || { echo "otel-ai-detect did not listen in 60 s:" >&2; cat "$log" >&2; exit 1; }

echo "== running examples/${name}_app.py"
OTEL_EXPORTER_OTLP_ENDPOINT="http://127.0.0.1:$EXAMPLE_GRPC_PORT" "$venv/bin/python" "$here/${name}_app.py"

sleep 1   # let the last export reach the pipeline before draining
kill -TERM "$pid"
status=0
wait "$pid" || status=$?
pid=""

echo "== otel-ai-detect output (debug exporter: one line per alert)"
cat "$log"
[ "$status" -eq 0 ] || { echo "otel-ai-detect exited with status $status" >&2; exit "$status"; }
