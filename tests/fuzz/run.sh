#!/usr/bin/env bash
# Fuzzes gatepass-server against its own OpenAPI description with schemathesis:
# no 5xx, and no status, content type, body or header the description does not
# allow. Bounded: a fixed number of examples per operation and a time limit.
# First, the description the server serves must be a valid OpenAPI document
# (openapi-spec-validator): a fuzzer reads an invalid one its own way.
#
#   tests/fuzz/run.sh            # from anywhere; exits non-zero on any finding
#   tests/fuzz/run.sh validate   # only the validation
#
# Settings (environment): FUZZ_MAX_EXAMPLES (30), FUZZ_TIME_LIMIT seconds (900),
# FUZZ_SEED (fixed, for reproducible CI runs), FUZZ_CHECKS (schemathesis
# check names, comma-separated), GATEPASS_SERVER_BIN (else the
# debug build, built here if needed), PYTHON (python3.11, else python3).
set -euo pipefail

ROOT=$(cd "$(dirname "${BASH_SOURCE[0]}")/../.." && pwd)
SCHEMATHESIS_VERSION=4.32.5
VALIDATOR_VERSION=0.9.0
MAX_EXAMPLES=${FUZZ_MAX_EXAMPLES:-30}
TIME_LIMIT=${FUZZ_TIME_LIMIT:-900}
SEED=${FUZZ_SEED:-20260101}
CHECKS=${FUZZ_CHECKS:-not_a_server_error,status_code_conformance,content_type_conformance,response_schema_conformance,response_headers_conformance}
VENV=$ROOT/target/fuzz-venv
REPORT_DIR=$ROOT/target/fuzz-report

case ${1:-} in
    "") VALIDATE_ONLY= ;;
    validate) VALIDATE_ONLY=1 ;;
    *) echo "usage: $0 [validate]" >&2; exit 2 ;;
esac

PYTHON=${PYTHON:-$(command -v python3.11 || command -v python3)}
if ! "$VENV/bin/schemathesis" --version 2>/dev/null | grep -qF "$SCHEMATHESIS_VERSION" ||
    ! "$VENV/bin/openapi-spec-validator" --version 2>/dev/null | grep -qF "$VALIDATOR_VERSION"; then
    echo "fuzz: installing schemathesis $SCHEMATHESIS_VERSION and openapi-spec-validator $VALIDATOR_VERSION into $VENV"
    "$PYTHON" -m venv "$VENV"
    "$VENV/bin/pip" install --quiet --disable-pip-version-check -r "$ROOT/tests/fuzz/requirements.txt"
fi

SERVER=${GATEPASS_SERVER_BIN:-}
if [ -z "$SERVER" ]; then
    (cd "$ROOT" && cargo build --quiet -p gatepass-server --bin gatepass-server)
    SERVER=$ROOT/target/debug/gatepass-server
fi

DATA=$(mktemp -d)
SERVER_PID=
cleanup() {
    if [ -n "$SERVER_PID" ]; then
        kill "$SERVER_PID" 2>/dev/null || true
        wait "$SERVER_PID" 2>/dev/null || true
    fi
    rm -rf "$DATA"
}
trap cleanup EXIT

# A clean environment, a free loopback port (the server picks it and logs it),
# mail to the outbox folder, and abuse limits high enough that 429s (which the
# description documents) do not crowd out everything else.
(
    cd "$DATA"
    exec env -i PATH="$PATH" \
        GATEPASS_DATA_DIR="$DATA" \
        GATEPASS_LOG=info \
        ROCKET_ADDRESS=127.0.0.1 \
        ROCKET_PORT=0 \
        ROCKET_WORKERS=4 \
        AUTH_BCRYPT_COST=10 \
        AUTH_ACCESS_TOKEN_EXPIRY=1h \
        AUTH_CORS_ORIGINS=http://localhost:3000 \
        AUTH_SIGNUP_ADDRESS_LIMIT=100000/1h \
        AUTH_LOGIN_ADDRESS_LIMIT=100000/1h \
        AUTH_LOGIN_ACCOUNT_LIMIT=100000/1h \
        AUTH_FORGOT_ADDRESS_LIMIT=100000/1h \
        AUTH_REAUTH_ADDRESS_LIMIT=100000/1h \
        "$SERVER"
) 2>"$DATA/server.log" >/dev/null &
SERVER_PID=$!

URL=
for _ in $(seq 1 600); do
    URL=$(sed -n 's/.*gatepass listening on \(http:[^ ]*\).*/\1/p' "$DATA/server.log" | head -n 1)
    [ -n "$URL" ] && break
    if ! kill -0 "$SERVER_PID" 2>/dev/null; then
        echo "fuzz: gatepass-server exited; its log:" >&2
        cat "$DATA/server.log" >&2
        exit 1
    fi
    sleep 0.1
done
if [ -z "$URL" ]; then
    echo "fuzz: gatepass-server did not start in 60 s; its log:" >&2
    cat "$DATA/server.log" >&2
    exit 1
fi
mkdir -p "$REPORT_DIR"
"$VENV/bin/python" -c 'import sys, urllib.request; open(sys.argv[2], "wb").write(urllib.request.urlopen(sys.argv[1]).read())' \
    "$URL/api/openapi.json" "$REPORT_DIR/openapi.json"
if ! "$VENV/bin/openapi-spec-validator" "$REPORT_DIR/openapi.json"; then
    echo "fuzz: $URL/api/openapi.json is not a valid OpenAPI description (openapi-spec-validator $VALIDATOR_VERSION)" >&2
    exit 1
fi
[ -z "$VALIDATE_ONLY" ] || exit 0

echo "fuzz: gatepass-server at $URL, schemathesis $SCHEMATHESIS_VERSION, $MAX_EXAMPLES examples per operation, seed $SEED"

# Hypothesis keeps its example database in the working directory: under target/.
cd "$REPORT_DIR"
status=0
GATEPASS_FUZZ_URL=$URL \
    PYTHONPATH="$ROOT/tests/fuzz" \
    SCHEMATHESIS_HOOKS=hooks \
    timeout --kill-after=30 "$TIME_LIMIT" \
    "$VENV/bin/schemathesis" run "$URL/api/openapi.json" \
    --checks "$CHECKS" \
    --phases examples,coverage,fuzzing \
    --max-examples "$MAX_EXAMPLES" \
    --seed "$SEED" \
    --workers 2 \
    --request-timeout 30 \
    --no-color \
    --report junit \
    --report-dir "$REPORT_DIR" || status=$?

if grep -qE 'panicked| ERROR +gatepass::error' "$DATA/server.log"; then
    echo "fuzz: the server log has a panic or an internal error:" >&2
    grep -E 'panicked| ERROR +gatepass::error' "$DATA/server.log" >&2
    status=1
fi
case $status in
    0) echo "fuzz: no findings" ;;
    124 | 137) echo "fuzz: schemathesis did not finish within $TIME_LIMIT s" >&2 ;;
    *) echo "fuzz: findings (exit $status); JUnit report in $REPORT_DIR" >&2 ;;
esac
exit "$status"
