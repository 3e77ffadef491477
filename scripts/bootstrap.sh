# Sourced by scripts/serve, scripts/test and .ci/run: makes a fresh machine ready.
# - finds a Python >= 3.12 by itself (PATH first, then pyenv's versions);
# - installs the system packages PDFs and translations need (CJK font, HarfBuzz subsetting, gettext);
# - creates .venv and installs the pinned dependencies (again only when pyproject.toml or constraints.txt change);
# - compiles the translations.
set -euo pipefail
ROOT="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)"
cd "$ROOT"

log() { printf '\033[1m[setup]\033[0m %s\n' "$*" >&2; }

python_ok() { "$1" -c 'import sys; sys.exit(0 if sys.version_info >= (3, 12) else 1)' >/dev/null 2>&1; }

find_python() {
  local candidate
  for candidate in "${PYTHON:-}" python3.13 python3.12 python3 python; do
    [ -n "$candidate" ] || continue
    command -v "$candidate" >/dev/null 2>&1 || continue
    if python_ok "$candidate"; then command -v "$candidate"; return 0; fi
  done
  # pyenv shims refuse versions that are not selected; look at the installs directly.
  for candidate in "${PYENV_ROOT:-$HOME/.pyenv}"/versions/3.1[3-9]*/bin/python3 \
                   "${PYENV_ROOT:-$HOME/.pyenv}"/versions/3.12*/bin/python3 \
                   /usr/local/bin/python3.1[2-9] /usr/bin/python3.1[2-9]; do
    [ -x "$candidate" ] && python_ok "$candidate" && { echo "$candidate"; return 0; }
  done
  return 1
}

SYSTEM_PACKAGES=(fonts-wqy-microhei libharfbuzz-subset0 gettext libpango-1.0-0 libpangoft2-1.0-0 poppler-utils chromium)
ensure_system_packages() {
  local missing=()
  for pkg in "${SYSTEM_PACKAGES[@]}"; do
    dpkg-query -W -f='${Status}' "$pkg" 2>/dev/null | grep -q "install ok installed" || missing+=("$pkg")
  done
  [ ${#missing[@]} -eq 0 ] && return 0
  if [ "$(id -u)" -eq 0 ] && command -v apt-get >/dev/null; then
    log "installing system packages: ${missing[*]}"
    apt-get update -qq
    DEBIAN_FRONTEND=noninteractive apt-get install -y -qq "${missing[@]}" >/dev/null
  else
    log "missing system packages (install them as root): ${missing[*]}"
    return 1
  fi
}

ensure_venv() {
  local python stamp wanted
  if [ ! -x .venv/bin/python ] || ! python_ok .venv/bin/python; then
    python="$(find_python)" || { log "no Python >= 3.12 found; install one (e.g. pyenv install 3.12)"; return 1; }
    log "creating .venv with $python ($("$python" --version))"
    rm -rf .venv
    "$python" -m venv .venv
  fi
  stamp=.venv/.installed
  wanted="$(cat pyproject.toml constraints.txt | sha256sum | cut -d' ' -f1)"
  if [ ! -f "$stamp" ] || [ "$(cat "$stamp")" != "$wanted" ]; then
    log "installing pinned dependencies"
    .venv/bin/python -m pip install -q --disable-pip-version-check --upgrade pip
    .venv/bin/python -m pip install -q --disable-pip-version-check -c constraints.txt -e ".[dev]"
    echo "$wanted" >"$stamp"
  fi
}

ensure_system_packages
ensure_venv
# Translations are compiled here rather than committed: the .po files are the source.
DEBUG=1 .venv/bin/python manage.py compilemessages --ignore .venv -v 0
