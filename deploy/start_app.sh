#!/usr/bin/env bash
# Run `glmtts serve` under a small supervisor: optional venv activation, logs to a rotating file, a pid
# file, restart with exponential backoff when the server dies, clean stop on SIGTERM/SIGINT.
#
# Usage: deploy/start_app.sh [--daemon] [serve flags...]      e.g. deploy/start_app.sh --host 0.0.0.0
#
# Environment (all optional):
#   GLMTTS_VENV            virtualenv to activate (default: ./.venv if it exists)
#   GLMTTS_RUN_DIR         where logs and pid files go (default: ./run)
#   GLMTTS_LOG_FILE        log file (default: $GLMTTS_RUN_DIR/glmtts.log)
#   GLMTTS_LOG_MAX_BYTES   rotate when the log grows past this (default: 10485760)
#   GLMTTS_LOG_BACKUPS     rotated files kept: glmtts.log.1 ... (default: 5)
#   GLMTTS_PID_FILE        supervisor pid (default: $GLMTTS_RUN_DIR/glmtts.pid)
#   GLMTTS_SERVER_PID_FILE server pid (default: $GLMTTS_RUN_DIR/glmtts-server.pid)
#   GLMTTS_BACKOFF_MAX_S   longest wait between restarts (default: 60)
#   GLMTTS_STABLE_S        a server that ran this long resets the backoff (default: 120)
#   GLMTTS_SERVE_CMD       command to run instead of `glmtts serve` (e.g. "python -m glmtts serve")
# Every `glmtts serve` flag also works as an env variable GLMTTS_<NAME> (e.g. GLMTTS_PORT=8000).
# Exit code 2 from the server means bad configuration: the supervisor stops instead of retrying.
set -uo pipefail

RUN_DIR="${GLMTTS_RUN_DIR:-$PWD/run}"
LOG_FILE="${GLMTTS_LOG_FILE:-$RUN_DIR/glmtts.log}"
LOG_MAX_BYTES="${GLMTTS_LOG_MAX_BYTES:-10485760}"
LOG_BACKUPS="${GLMTTS_LOG_BACKUPS:-5}"
PID_FILE="${GLMTTS_PID_FILE:-$RUN_DIR/glmtts.pid}"
SERVER_PID_FILE="${GLMTTS_SERVER_PID_FILE:-$RUN_DIR/glmtts-server.pid}"
BACKOFF_MAX_S="${GLMTTS_BACKOFF_MAX_S:-60}"
STABLE_S="${GLMTTS_STABLE_S:-120}"

if [[ "${1:-}" == "--daemon" ]]; then
    shift
    mkdir -p "$RUN_DIR"
    setsid nohup "$0" "$@" >>"$LOG_FILE" 2>&1 </dev/null &
    echo "glmtts supervisor started (pid $!), log: $LOG_FILE"
    exit 0
fi

venv="${GLMTTS_VENV:-}"
if [[ -z "$venv" && -f "$PWD/.venv/bin/activate" ]]; then
    venv="$PWD/.venv"
fi
if [[ -n "$venv" ]]; then
    # shellcheck disable=SC1091
    source "$venv/bin/activate" || { echo "start_app: cannot activate $venv" >&2; exit 1; }
fi
read -r -a serve_cmd <<<"${GLMTTS_SERVE_CMD:-glmtts serve}"

mkdir -p "$RUN_DIR" "$(dirname "$LOG_FILE")"
if [[ -f "$PID_FILE" ]] && kill -0 "$(cat "$PID_FILE")" 2>/dev/null; then
    echo "start_app: already running (pid $(cat "$PID_FILE"))" >&2
    exit 1
fi
echo $$ >"$PID_FILE"

log() { printf '%s start_app: %s\n' "$(date -u +%Y-%m-%dT%H:%M:%SZ)" "$*" >>"$LOG_FILE"; }

rotate_log() {
    local size
    size=$(stat -c %s "$LOG_FILE" 2>/dev/null || echo 0)
    ((size < LOG_MAX_BYTES)) && return
    for ((i = LOG_BACKUPS - 1; i >= 1; i--)); do
        [[ -f "$LOG_FILE.$i" ]] && mv -f "$LOG_FILE.$i" "$LOG_FILE.$((i + 1))"
    done
    # copy + truncate: the server keeps its O_APPEND descriptor and continues at the start of the file
    cp -f "$LOG_FILE" "$LOG_FILE.1" && : >"$LOG_FILE"
}

server_pid=""
stopping=0
stop() {
    stopping=1
    if [[ -n "$server_pid" ]] && kill -0 "$server_pid" 2>/dev/null; then
        log "stopping server (pid $server_pid): draining"
        kill -TERM "$server_pid" 2>/dev/null
    fi
}
trap stop TERM INT

backoff_s=1
exit_code=0
while ((stopping == 0)); do
    rotate_log
    started=$(date +%s)
    log "starting: ${serve_cmd[*]} $*"
    "${serve_cmd[@]}" "$@" >>"$LOG_FILE" 2>&1 &
    server_pid=$!
    echo "$server_pid" >"$SERVER_PID_FILE"
    while kill -0 "$server_pid" 2>/dev/null; do
        sleep 1 &
        wait $! 2>/dev/null
        rotate_log
    done
    wait "$server_pid"
    exit_code=$?
    rm -f "$SERVER_PID_FILE"
    ((stopping == 1)) && break
    if ((exit_code == 2)); then
        log "server exited with 2 (bad configuration); not restarting"
        break
    fi
    if (($(date +%s) - started >= STABLE_S)); then
        backoff_s=1
    fi
    log "server exited with $exit_code; restarting in ${backoff_s}s"
    sleep "$backoff_s" &
    wait $! 2>/dev/null
    backoff_s=$((backoff_s * 2 > BACKOFF_MAX_S ? BACKOFF_MAX_S : backoff_s * 2))
done
log "supervisor exiting (server exit code $exit_code)"
rm -f "$PID_FILE"
((stopping == 1)) && exit 0
exit "$exit_code"
