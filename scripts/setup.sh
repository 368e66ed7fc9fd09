#!/usr/bin/env bash
# Set up everything glmtts needs on a fresh Debian/Ubuntu machine: system packages (when root),
# a virtual environment in .venv with CPU PyTorch, and glmtts itself with every extra.
# Idempotent: a second run only checks. Ends with `glmtts doctor --prepare` (joins and verifies the
# bundled model, builds the caches), so the first `glmtts serve` starts as fast as any later one.
# Usage: bash scripts/setup.sh [--no-system] [--no-browser]
set -euo pipefail
cd "$(dirname "$0")/.."
want_system=1; want_browser=1
for arg in "$@"; do
  case "$arg" in
    --no-system) want_system=0 ;;
    --no-browser) want_browser=0 ;;
    *) echo "error: unknown option $arg" >&2; exit 2 ;;
  esac
done
log() { printf '[setup] %s\n' "$*" >&2; }

apt_packages=(ffmpeg espeak-ng sox nginx-light openssl curl)
[ "$want_browser" = 1 ] && apt_packages+=(chromium)
if [ "$want_system" = 1 ]; then
  missing=()
  for p in "${apt_packages[@]}"; do dpkg -s "$p" >/dev/null 2>&1 || missing+=("$p"); done
  if [ "${#missing[@]}" -gt 0 ]; then
    if [ "$(id -u)" = 0 ] && command -v apt-get >/dev/null; then
      log "installing Debian packages: ${missing[*]}"
      export DEBIAN_FRONTEND=noninteractive
      apt-get update -qq
      apt-get install -y -qq --no-install-recommends "${missing[@]}" >/dev/null
    else
      log "warning: missing system packages (${missing[*]}); install them with your package manager"
    fi
  fi
fi

py=${PYTHON:-python3}
if [ ! -x .venv/bin/python ]; then
  log "creating .venv with $($py --version)"
  "$py" -m venv .venv
fi
pip() { .venv/bin/python -m pip --disable-pip-version-check -q "$@"; }
if ! .venv/bin/python -c "import glmtts, torch, fastapi, ray.serve, ray.data" >/dev/null 2>&1; then
  log "installing Python packages (CPU PyTorch first so nothing pulls a CUDA build)"
  pip install -U "pip>=24" "setuptools<81" wheel
  .venv/bin/python -c "import torch" >/dev/null 2>&1 || pip install "torch==2.13.0"
  pip install -e ".[serve,glm,bench,dev,ray]"
  # resemblyzer declares webrtcvad (needs pkg_resources); webrtcvad-wheels provides the same module.
  pip uninstall -y webrtcvad >/dev/null 2>&1 || true
  pip install --force-reinstall --no-deps "webrtcvad-wheels>=2.0.14"
fi
log "preparing the bundled model and caches (a first start would do this otherwise)"
.venv/bin/glmtts doctor --prepare --no-synth >&2
log "ready: $(.venv/bin/glmtts --version)"
