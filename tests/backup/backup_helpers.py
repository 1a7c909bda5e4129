"""Helpers of the backup → wipe → restore proof (tests/backup).

The platform under test is set up by scripts/test-backup.sh: Postgres and
Redis are running, a database of its own exists and `nexus-api migrate` and
`nexus-api seed` have run on it. The script hands it over through these
environment variables (all required):

  NEXUS_ROOT               the repository
  BACKUP_TEST_RUN          scratch folder (logs, uploads, backups)
  BACKUP_TEST_SERVER_URL   the Postgres server (any database on it)
  BACKUP_TEST_DB_NAME      the database of this run
  BACKUP_TEST_DB_URL       the same, as a URL (what the API and scripts get)
  BACKUP_TEST_API_BIN      the nexus-api binary
  BACKUP_TEST_API_ENV      a file of KEY=VALUE lines: the API's environment
                           (without API_PORT, chosen here)
  BACKUP_TEST_API_PIDFILE  where the running API's pid is written (the
                           script's cleanup stops it, whatever happens)
  DEMO_PASSWORD            the demo accounts' password

Everything here raises StepFailed when a step of the scenario cannot be
carried out; a check that fails is an assertion in the test module.
"""

import hashlib
import json
import os
import re
import shutil
import socket
import subprocess
import time
import urllib.error
import urllib.request
from dataclasses import dataclass, field
from pathlib import Path

STUDENT = "student@nexus-reussite.fr"

REQUIRED_ENV = (
    "NEXUS_ROOT",
    "BACKUP_TEST_RUN",
    "BACKUP_TEST_SERVER_URL",
    "BACKUP_TEST_DB_NAME",
    "BACKUP_TEST_DB_URL",
    "BACKUP_TEST_API_BIN",
    "BACKUP_TEST_API_ENV",
    "BACKUP_TEST_API_PIDFILE",
    "DEMO_PASSWORD",
)

# Content fingerprints: md5 over the ordered rows of a table (every column
# that matters, generated ones included), every sequence's position, and an
# accent-insensitive French search. Recorded before the backup, compared
# after every restore.
FINGERPRINTS = {
    "users": "select md5(coalesce(string_agg(concat_ws('|', id, email, password_hash, first_name, last_name, role, phone, is_active, is_verified, last_login_at, created_at, updated_at), E'\\n' order by id), '')) from users",
    "courses": "select md5(coalesce(string_agg(concat_ws('|', id, title, description, level, category, content::text, prerequisites::text, objectives::text, is_published, published_at, created_by, search::text, search_head::text), E'\\n' order by id), '')) from courses",
    "assessment_results": "select md5(coalesce(string_agg(concat_ws('|', id, assessment_id, student_id, answers::text, score, max_score, status, breakdown::text, attempt_number, started_at, submitted_at, completed_at, is_late), E'\\n' order by id), '')) from assessment_results",
    "notifications": "select md5(coalesce(string_agg(concat_ws('|', id, event_id, user_id, kind, title, body, data::text, created_at, read_at), E'\\n' order by id), '')) from notifications",
    "outbox": "select md5(coalesce(string_agg(concat_ws('|', id, event_id, topic, payload::text, created_at, relayed_at), E'\\n' order by id), '')) from outbox",
    "aria_messages": "select md5(coalesce(string_agg(concat_ws('|', id, session_id, message_type, content, metadata::text, created_at), E'\\n' order by id), '')) from aria_messages",
    "auth_tokens": "select md5(coalesce(string_agg(concat_ws('|', id, user_id, token_hash, token_type, family_id, expires_at, used_at, revoked_at), E'\\n' order by id), '')) from auth_tokens",
    "migrations": "select md5(string_agg(concat_ws('|', version, description, success, encode(checksum, 'hex')), E'\\n' order by version)) from _sqlx_migrations",
    "sequences": "select string_agg(format('%s.%s=%s', schemaname, sequencename, coalesce(last_value::text, 'unset')), ',' order by schemaname, sequencename) from pg_sequences",
    "search-recursivite": "select count(*) from courses where search @@ websearch_to_tsquery('nexus_fr', 'recursivite')",
}

# Tables listed from the catalog here, independently of backup.sh's query.
TABLES_SQL = """select table_schema || '.' || table_name from information_schema.tables
 where table_type = 'BASE TABLE' and table_schema not in ('pg_catalog', 'information_schema')
 order by 1"""

# The files put in the uploads folder: id -> (relative path, content). A binary
# file with an accented name, a text file, an empty file; plus an empty folder.
UPLOADED_FILES = {
    "binary-accented-name": ("courses/12/schéma de l'arbre.png", os.urandom(300_000)),
    "text": ("avatars/42.txt", "Bonjour « NSI »\n".encode("utf-8")),
    "empty-file": ("avatars/empty.bin", b""),
}
EMPTY_FOLDER = "empty-folder"


class StepFailed(Exception):
    """A step of the scenario could not be carried out (not a check)."""


def require(condition, message):
    if not condition:
        raise StepFailed(message)


def tail(path, lines=20):
    try:
        text = Path(path).read_text(encoding="utf-8", errors="replace")
    except OSError:
        return f"({path} unreadable)"
    return "\n".join(text.splitlines()[-lines:])


def free_port():
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


@dataclass
class Settings:
    root: Path
    run: Path
    server_url: str
    db_name: str
    db_url: str
    api_bin: str
    api_env: dict = field(repr=False)  # holds the run's JWT secret
    api_pidfile: Path
    demo_password: str

    @property
    def uploads(self):
        return self.run / "uploads"

    @property
    def backups(self):
        return self.run / "backups"

    @classmethod
    def from_environment(cls):
        missing = [name for name in REQUIRED_ENV if not os.environ.get(name)]
        if missing:
            raise StepFailed(
                f"missing environment ({', '.join(missing)}): run this suite through scripts/test-backup.sh"
            )
        api_env = {}
        for line in Path(os.environ["BACKUP_TEST_API_ENV"]).read_text(encoding="utf-8").splitlines():
            if line:
                key, _, value = line.partition("=")
                api_env[key] = value
        return cls(
            root=Path(os.environ["NEXUS_ROOT"]),
            run=Path(os.environ["BACKUP_TEST_RUN"]),
            server_url=os.environ["BACKUP_TEST_SERVER_URL"],
            db_name=os.environ["BACKUP_TEST_DB_NAME"],
            db_url=os.environ["BACKUP_TEST_DB_URL"],
            api_bin=os.environ["BACKUP_TEST_API_BIN"],
            api_env=api_env,
            api_pidfile=Path(os.environ["BACKUP_TEST_API_PIDFILE"]),
            demo_password=os.environ["DEMO_PASSWORD"],
        )


# ------------------------------------------------------------------ SQL
def psql(url, query):
    """Run one statement with psql (unaligned, tuples only); return its output."""
    r = subprocess.run(
        ["psql", url, "-X", "-A", "-t", "-q", "-v", "ON_ERROR_STOP=1", "-c", query],
        capture_output=True,
        text=True,
        encoding="utf-8",
        # Timestamps print the same way in every session.
        env=dict(os.environ, PGTZ="UTC"),
    )
    if r.returncode != 0:
        raise StepFailed(f"psql failed (exit {r.returncode}) on: {query[:300]}\n{r.stderr.strip()}")
    return r.stdout.rstrip("\n")


def sql(settings, query):
    return psql(settings.db_url, query)


def list_tables(settings):
    return [t for t in sql(settings, TABLES_SQL).splitlines() if t]


def check_db_name(name):
    require(re.fullmatch(r"[a-z_][a-z0-9_]*", name), f"bad database name: {name}")


def drop_database(settings):
    check_db_name(settings.db_name)
    psql(settings.server_url, f"DROP DATABASE IF EXISTS {settings.db_name} WITH (FORCE)")


def create_database(settings):
    check_db_name(settings.db_name)
    psql(settings.server_url, f"CREATE DATABASE {settings.db_name}")


# ------------------------------------------------------------------ recording
@dataclass
class State:
    """What is compared before and after: row counts and fingerprints."""

    counts: dict  # "schema.table" -> row count
    fingerprints: dict  # FINGERPRINTS key -> value

    @property
    def rows(self):
        return sum(self.counts.values())

    def differences(self, other):
        out = []
        for t in sorted(set(self.counts) | set(other.counts)):
            if self.counts.get(t) != other.counts.get(t):
                out.append(f"count {t}: {self.counts.get(t)} -> {other.counts.get(t)}")
        for name in FINGERPRINTS:
            if self.fingerprints.get(name) != other.fingerprints.get(name):
                out.append(f"{name}: {self.fingerprints.get(name)} -> {other.fingerprints.get(name)}")
        return out


def record_state(settings):
    counts = {t: int(sql(settings, f"select count(*) from {t}")) for t in list_tables(settings)}
    fingerprints = {name: sql(settings, query) for name, query in FINGERPRINTS.items()}
    return State(counts, fingerprints)


@dataclass
class Files:
    """The uploads folder: its folders and the sha256 of every file."""

    present: bool
    folders: list = field(default_factory=list)
    sha256: dict = field(default_factory=dict)  # relative path -> hex digest


def record_files(folder):
    folder = Path(folder)
    if not folder.is_dir():
        return Files(present=False)
    folders, digests = [], {}
    for path in sorted(folder.rglob("*")):
        rel = path.relative_to(folder).as_posix()
        if path.is_symlink():
            continue
        if path.is_dir():
            folders.append(rel)
        elif path.is_file():
            digests[rel] = hashlib.sha256(path.read_bytes()).hexdigest()
    return Files(present=True, folders=folders, sha256=digests)


# ------------------------------------------------------------------ scripts under test
@dataclass
class Run:
    returncode: int
    log: Path

    @property
    def output(self):
        return self.log.read_text(encoding="utf-8", errors="replace")

    def describe(self):
        return f"exit {self.returncode} (log: {self.log}), ending with:\n{tail(self.log)}"


def run_script(settings, script, args, env, log_name, unset=()):
    """Run scripts/<script> with bash, with the current environment plus env
    (minus unset), its output in RUN/<log_name>."""
    full_env = {k: v for k, v in os.environ.items() if k not in unset}
    full_env.update(env)
    log = settings.run / log_name
    with open(log, "wb") as out:
        r = subprocess.run(
            ["bash", str(settings.root / "scripts" / script), *args],
            env=full_env,
            stdin=subprocess.DEVNULL,
            stdout=out,
            stderr=subprocess.STDOUT,
        )
    return Run(r.returncode, log)


def verify_sha256sums(folder):
    """`sha256sum --quiet -c SHA256SUMS` in folder; returns (ok, its output)."""
    r = subprocess.run(
        ["sha256sum", "--quiet", "-c", "SHA256SUMS"],
        cwd=folder,
        capture_output=True,
        text=True,
    )
    return r.returncode == 0, (r.stdout + r.stderr).strip()


# ------------------------------------------------------------------ HTTP
@dataclass
class Response:
    status: int
    text: str

    def json(self):
        return json.loads(self.text)

    def describe(self):
        return f"HTTP {self.status}: {self.text[:400]}"


def http(method, url, token=None, body=None, headers=None, timeout=30):
    data = None if body is None else json.dumps(body).encode("utf-8")
    req = urllib.request.Request(url, data=data, method=method)
    req.add_header("content-type", "application/json")
    req.add_header("accept", "application/json")
    for k, v in (headers or {}).items():
        req.add_header(k, v)
    if token:
        req.add_header("authorization", f"Bearer {token}")
    try:
        with urllib.request.urlopen(req, timeout=timeout) as r:
            return Response(r.status, r.read().decode("utf-8", errors="replace"))
    except urllib.error.HTTPError as e:
        return Response(e.code, e.read().decode("utf-8", errors="replace"))
    except (urllib.error.URLError, OSError) as e:
        raise StepFailed(f"{method} {url}: no answer ({e})") from e


def find_access_token(value):
    if isinstance(value, dict):
        if isinstance(value.get("accessToken"), str):
            return value["accessToken"]
        value = list(value.values())
    if isinstance(value, list):
        for v in value:
            token = find_access_token(v)
            if token:
                return token
    return None


class Api:
    """`nexus-api serve` on a free port, with the run's environment."""

    def __init__(self, settings, log_name):
        self.settings = settings
        self.log = settings.run / log_name
        self.port = free_port()
        self.base = f"http://127.0.0.1:{self.port}"
        self.process = None

    def start(self):
        env = dict(os.environ)
        env.update(self.settings.api_env)
        env["API_PORT"] = str(self.port)
        with open(self.log, "wb") as out:
            self.process = subprocess.Popen(
                [self.settings.api_bin, "serve"],
                env=env,
                stdin=subprocess.DEVNULL,
                stdout=out,
                stderr=subprocess.STDOUT,
            )
        self.settings.api_pidfile.write_text(f"{self.process.pid}\n")
        deadline = time.monotonic() + 60
        while True:
            if self.process.poll() is not None:
                raise StepFailed(f"nexus-api exited ({self.process.returncode}) at start:\n{tail(self.log, 40)}")
            try:
                with urllib.request.urlopen(f"{self.base}/ready", timeout=2) as r:
                    if r.status == 200:
                        return self
            except (urllib.error.URLError, OSError):
                pass
            if time.monotonic() > deadline:
                self.stop()
                raise StepFailed(f"nexus-api did not become ready within 60 s:\n{tail(self.log, 40)}")
            time.sleep(0.5)

    def stop(self):
        if self.process is not None and self.process.poll() is None:
            self.process.terminate()
            try:
                self.process.wait(timeout=10)
            except subprocess.TimeoutExpired:
                self.process.kill()
                self.process.wait()
        self.process = None
        self.settings.api_pidfile.unlink(missing_ok=True)

    def request(self, method, path, token=None, body=None):
        return http(method, self.base + path, token=token, body=body)

    def login(self, email, password):
        """POST /api/auth/login; returns (response, access token or None)."""
        r = self.request("POST", "/api/auth/login", body={"email": email, "password": password})
        token = None
        if r.status == 200:
            try:
                token = find_access_token(r.json())
            except ValueError:
                token = None
        return r, token


def human_size(path):
    r = subprocess.run(["du", "-sh", str(path)], capture_output=True, text=True)
    return r.stdout.split("\t")[0] if r.returncode == 0 else "?"


def remove_tree(path):
    shutil.rmtree(path, ignore_errors=True)
