# Shared by scripts/run and scripts/test: apt installs and the virtual environment.
set -euo pipefail
ROOT="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)"
cd "$ROOT"
VENV="${FRONTDESK_VENV:-$ROOT/.venv}"
PYTHON="${PYTHON:-python3}"

apt_install() {
    # apt_install PACKAGE... : install Debian packages that are missing (root or sudo).
    local sudo=""
    if [ "$(id -u)" -ne 0 ]; then sudo="sudo"; fi
    echo "installing with apt: $*" >&2
    $sudo apt-get update -qq >&2 || true
    DEBIAN_FRONTEND=noninteractive $sudo apt-get install -y -qq "$@" >&2
}

ensure_venv() {
    # ensure_venv [EXTRAS] : create the venv if needed and install Frontdesk into it. The install
    # is skipped when pyproject.toml is unchanged since the last one (a stamp with its hash in
    # the venv), so starting needs no package index once installed.
    local extras="${1:-}"
    if [ ! -x "$VENV/bin/python" ]; then
        if ! "$PYTHON" -m venv "$VENV" 2>/dev/null; then
            rm -rf "$VENV"
            apt_install python3-venv
            "$PYTHON" -m venv "$VENV"
        fi
    fi
    local stamp="$VENV/.frontdesk-install" hash
    hash="$("$VENV/bin/python" -c 'import hashlib, sys
print(hashlib.sha256(open(sys.argv[1], "rb").read()).hexdigest())' "$ROOT/pyproject.toml")"
    if [ -f "$stamp" ] && [ -x "$VENV/bin/frontdesk" ]; then
        local had_hash had_extras
        read -r had_hash had_extras < "$stamp" || true
        if [ "$had_hash" = "$hash" ] && { [ -z "$extras" ] || [ "${had_extras:-}" = "$extras" ]; }; then
            return 0
        fi
    fi
    if ! { "$VENV/bin/python" -m pip install -q --disable-pip-version-check --upgrade pip >&2 &&
           "$VENV/bin/python" -m pip install -q --disable-pip-version-check -e "$ROOT$extras" >&2; }; then
        if [ -x "$VENV/bin/frontdesk" ]; then
            echo "could not update the installation (no package index?); using the installed one" >&2
            return 0
        fi
        echo "could not install Frontdesk into $VENV (see the pip messages above)" >&2
        return 1
    fi
    echo "$hash $extras" > "$stamp"
}
