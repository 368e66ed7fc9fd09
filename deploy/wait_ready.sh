#!/usr/bin/env bash
# Wait until a glmtts server answers 200 on /ready (used by the systemd unit's ExecStartPost).
# Usage: deploy/wait_ready.sh [URL] [TIMEOUT_S]     defaults: http://127.0.0.1:7860/ready 900
set -uo pipefail
url="${1:-http://127.0.0.1:7860/ready}"
timeout_s="${2:-900}"
deadline=$(($(date +%s) + timeout_s))
while (($(date +%s) < deadline)); do
    if command -v curl >/dev/null 2>&1; then
        curl -fsS -o /dev/null --max-time 2 "$url" 2>/dev/null && exit 0
    else
        python3 -c "import sys, urllib.request; urllib.request.urlopen(sys.argv[1], timeout=2)" "$url" 2>/dev/null && exit 0
    fi
    sleep 1
done
echo "wait_ready: $url not ready after ${timeout_s}s" >&2
exit 1
