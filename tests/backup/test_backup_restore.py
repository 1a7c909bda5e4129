"""Proof that a backup restores: back up a populated platform, destroy it,
restore it, and compare.

The scenario is sequential. Each step is a module-scoped fixture that depends
on the step before it (so running any test runs the steps it needs, in order)
and raises StepFailed when it cannot be carried out: every test that needs it
then errors with that reason instead of passing. The tests only check, in the
order of the scenario:

  1. populate: activity through the real API (a quiz attempt submitted and
     graded → notifications and outbox rows, course progress, a pairing code),
     rows written by SQL (a notification with unusual text, an ARIA session
     and messages, a pending outbox event) and files in the uploads folder
     (binary with an accented name, text, empty file, empty folder);
  2. record every table's row count (tables listed from the catalog, not by
     the scripts under test), fingerprints (see FINGERPRINTS) and the sha256
     of every uploaded file;
  3. scripts/backup.sh, with four fake old backups beside it (retention),
     then the backup itself: private, checksums, manifest;
  4. the same with Qdrant (ARIA_TEST_QDRANT_URL), skipped without one except
     under CI;
  5. scripts/restore.sh must refuse the populated database without --force
     and a damaged copy of the backup, leaving the database untouched;
  6. WIPE (drop the database, delete the uploads), restore into an empty
     database, compare everything; restore again with --force, compare again;
  7. the API on the restored database with migrations off: sign-in, reads,
     and an insert (identity sequences continue).
"""

import datetime
import json
import os
import shutil
import stat

import pytest

from backup_helpers import (
    EMPTY_FOLDER,
    STUDENT,
    UPLOADED_FILES,
    Api,
    StepFailed,
    create_database,
    drop_database,
    http,
    human_size,
    record_files,
    record_state,
    remove_tree,
    require,
    run_script,
    sql,
    verify_sha256sums,
)


def utc_now():
    return datetime.datetime.now(datetime.timezone.utc)


# ====================================================================== 1. populate
@pytest.fixture(scope="module")
def activity(settings):
    """Activity through the API and SQL, files in the uploads folder.
    Returns the quiz the student can take."""
    api = Api(settings, "api-before.log").start()
    try:
        r, token = api.login(STUDENT, settings.demo_password)
        require(token, f"login as {STUDENT} failed: {r.describe()}")
        quiz = sql(
            settings,
            f"""select a.id from assessments a
                  join assessment_classes ac on ac.assessment_id = a.id
                  join class_members cm on cm.class_id = ac.class_id
                  join users u on u.id = cm.student_id
                 where u.email = '{STUDENT}' and a.is_published order by a.id limit 1""",
        )
        require(quiz, f"the seed published no quiz to {STUDENT}")
        r = api.request("POST", f"/api/assessments/{quiz}/attempts", token)
        require(r.status in (200, 201), f"starting an attempt: {r.describe()}")
        attempt = r.json()["attempt"]["id"]
        r = api.request("POST", f"/api/attempts/{attempt}/submit", token, {"answers": {}})
        require(r.status == 200, f"submitting attempt {attempt}: {r.describe()}")
        course = sql(settings, "select id from courses where is_published order by id limit 1")
        require(course, "the seed published no course")
        r = api.request(
            "PUT", f"/api/courses/{course}/progress", token, {"progressPercentage": 40, "timeSpentSeconds": 600}
        )
        require(r.status == 200, f"recording progress on course {course}: {r.describe()}")
        r = api.request("POST", "/api/me/pairing-code", token)
        require(r.status in (200, 201), f"pairing code: {r.describe()}")
    finally:
        api.stop()

    sql(
        settings,
        rf"""insert into notifications (user_id, kind, title, body, data)
             select id, 'backup_test', 'Sauvegarde : « élève » ''quote'' 🎓', E'ligne 1\nligne 2\ttab \\ backslash',
                    '{{"nested": {{"é": [1, 2.5, null, true]}}}}'
               from users where email = '{STUDENT}';
             insert into aria_sessions (user_id, session_id, title, context)
             select id, 'sess-backup-test', 'Récursivité', '{{"currentCourse": 1}}' from users where email = '{STUDENT}';
             insert into aria_messages (session_id, message_type, content, metadata) values
               ('sess-backup-test', 'user', 'Qu''est-ce qu''une fonction récursive ?', '{{}}'),
               ('sess-backup-test', 'assistant', 'Une fonction qui s''appelle elle-même…', '{{"model": "extractive"}}');
             insert into outbox (event_id, topic, payload) values (gen_random_uuid(), 'notification', '{{"pending": true}}');""",
    )

    for rel, content in UPLOADED_FILES.values():
        path = settings.uploads / rel
        path.parent.mkdir(parents=True, exist_ok=True)
        path.write_bytes(content)
    (settings.uploads / EMPTY_FOLDER).mkdir(parents=True, exist_ok=True)
    return {"quiz": int(quiz)}


# ====================================================================== 2. record
@pytest.fixture(scope="module")
def before(settings, activity, summary):
    """The state before the backup, everything later is compared with."""
    state = record_state(settings)
    files = record_files(settings.uploads)
    require(
        int(state.fingerprints["search-recursivite"]) > 0,
        "the accent-insensitive search finds nothing before the backup (test data wrong?)",
    )
    student_notifications = int(
        sql(
            settings,
            f"select count(*) from notifications n join users u on u.id = n.user_id where u.email = '{STUDENT}'",
        )
    )
    max_result_id = int(sql(settings, "select max(id) from assessment_results"))
    summary.append(f"populated: {len(state.counts)} tables, {state.rows} rows, {len(files.sha256)} uploaded files")
    return {
        "state": state,
        "files": files,
        "student_notifications": student_notifications,
        "max_result_id": max_result_id,
    }


# ====================================================================== 3. backup
BACKUP_ENV = {"BACKUP_RETENTION_DAYS": "14", "BACKUP_KEEP_MIN": "3"}


def backup_env(settings):
    return {
        "DATABASE_URL": settings.db_url,
        "BACKUP_DIR": str(settings.backups),
        "UPLOADS_DIR": str(settings.uploads),
        **BACKUP_ENV,
    }


@pytest.fixture(scope="module")
def backup(settings, before, summary):
    """scripts/backup.sh, with four fake old backups (20 to 23 days old) beside
    it: with BACKUP_KEEP_MIN=3 and 14 days, the real one and the two newest
    fakes stay, the two oldest go."""
    settings.backups.mkdir(parents=True, exist_ok=True)
    now = utc_now()
    fakes = {}
    for days in (20, 21, 22, 23):
        name = "nexus-" + (now - datetime.timedelta(days=days)).strftime("%Y%m%dT%H%M%SZ")
        (settings.backups / name).mkdir()
        (settings.backups / name / "manifest.json").write_text('{"format": "fake"}\n')
        fakes[days] = name
    run = run_script(settings, "backup.sh", [], backup_env(settings), "backup.log", unset=("QDRANT_URL",))
    require(run.returncode == 0, f"backup.sh failed: {run.describe()}")
    remaining = sorted((p.name for p in settings.backups.glob("nexus-*")), reverse=True)
    real = remaining[0] if remaining else ""
    today = "nexus-" + utc_now().strftime("%Y%m%d")
    require(
        real.startswith(today) and (settings.backups / real / "database.dump").is_file(),
        f"backup.sh left no backup folder of today (found: {remaining})",
    )
    folder = settings.backups / real
    summary.append(f"backup:    {real} ({human_size(folder)})")
    return {
        "name": real,
        "folder": folder,
        "remaining": remaining,
        "fakes": fakes,
        "manifest": json.loads((folder / "manifest.json").read_text(encoding="utf-8")),
    }


def test_backup_retention_keeps_the_newest_three_and_prunes_older_than_14_days(backup):
    fakes = backup["fakes"]
    assert backup["remaining"] == [backup["name"], fakes[20], fakes[21]], (
        f"expected {backup['name']} and the two newest old backups ({fakes[20]}, {fakes[21]}); "
        f"left {backup['remaining']}"
    )


def test_backup_leaves_no_partial_folder(settings, backup):
    partial = sorted(p.name for p in settings.backups.glob(".nexus-*"))
    assert partial == [], f"partial folders left behind: {partial}"


def test_backup_folder_is_private(backup):
    mode = stat.S_IMODE(backup["folder"].stat().st_mode)
    assert mode == 0o700, f"the backup folder has mode {mode:o}, not 700"


def test_backup_checksums_verify(backup):
    ok, output = verify_sha256sums(backup["folder"])
    assert ok, f"sha256sum -c SHA256SUMS: {output}"


def test_manifest_lists_exactly_the_tables_of_the_database(before, backup):
    mine = set(before["state"].counts)
    theirs = set(backup["manifest"]["database"]["tables"])
    assert mine == theirs, f"only in the database: {sorted(mine - theirs)}; only in the manifest: {sorted(theirs - mine)}"


def test_manifest_row_count_equals_the_database(table, before, backup):
    recorded = before["state"].counts.get(table)
    assert recorded is not None, f"{table} did not exist when the state was recorded"
    listed = backup["manifest"]["database"]["tables"].get(table)
    assert listed == recorded, f"{table}: manifest says {listed} rows, the database had {recorded}"


def test_manifest_records_the_schema_version(backup):
    assert backup["manifest"]["database"]["schemaVersion"], backup["manifest"]["database"]


def test_manifest_records_qdrant_as_skipped_without_qdrant_url(backup):
    assert backup["manifest"]["qdrant"]["status"] == "skipped", backup["manifest"]["qdrant"]


def test_manifest_records_the_three_uploaded_files(backup):
    uploads = backup["manifest"]["uploads"]
    assert uploads["present"] and uploads["files"] == len(UPLOADED_FILES), uploads


def test_mailbox_is_not_backed_up(backup):
    paths = [f["path"] for f in backup["manifest"]["files"]]
    assert not any("mailbox" in p for p in paths), f"the mailbox must not be backed up: {paths}"


# ====================================================================== 4. Qdrant
# The backup above runs without Qdrant (a deployment on the embedded store).
# With one, every collection's snapshot is downloaded and checked: here against
# the real Qdrant the test command started, on a scratch collection, into a
# folder of its own.
@pytest.fixture(scope="module")
def qdrant_backup(settings, backup):
    url = os.environ.get("ARIA_TEST_QDRANT_URL", "").rstrip("/")
    if not url:
        if os.environ.get("CI"):
            pytest.fail("no Qdrant for the snapshot check (ARIA_TEST_QDRANT_URL is unset under CI)")
        pytest.skip("no Qdrant: ARIA_TEST_QDRANT_URL is unset")
    collection = "backup_test_" + os.urandom(3).hex()
    target = settings.run / "with-qdrant"
    try:
        r = http("PUT", f"{url}/collections/{collection}", body={"vectors": {"size": 4, "distance": "Cosine"}})
        require(r.status == 200, f"could not create the scratch collection on {url}: {r.describe()}")
        r = http(
            "PUT",
            f"{url}/collections/{collection}/points?wait=true",
            body={"points": [{"id": 1, "vector": [0.1, 0.2, 0.3, 0.4], "payload": {"course": "graphes"}}]},
        )
        require(r.status == 200, f"could not add a point to the scratch collection: {r.describe()}")
        env = dict(backup_env(settings), BACKUP_DIR=str(target), QDRANT_URL=url, QDRANT_COLLECTIONS=collection)
        run = run_script(settings, "backup.sh", [], env, "backup-qdrant.log")
        require(run.returncode == 0, f"backup.sh failed with QDRANT_URL set: {run.describe()}")
        folders = sorted(target.glob("nexus-*"))
        require(folders, f"backup.sh with QDRANT_URL left no backup folder in {target}")
        yield {"folder": folders[0], "collection": collection}
    finally:
        try:
            http("DELETE", f"{url}/collections/{collection}")
        except StepFailed:
            pass
        remove_tree(target)


def test_qdrant_backup_checksums_verify(qdrant_backup):
    ok, output = verify_sha256sums(qdrant_backup["folder"])
    assert ok, f"sha256sum -c SHA256SUMS: {output}"


def test_qdrant_manifest_lists_the_snapshot_of_the_collection(qdrant_backup):
    q = json.loads((qdrant_backup["folder"] / "manifest.json").read_text(encoding="utf-8"))["qdrant"]
    assert q["status"] == "ok", q
    assert [c["name"] for c in q["collections"]] == [qdrant_backup["collection"]], q
    snapshot = qdrant_backup["folder"] / q["collections"][0]["file"]
    assert snapshot.is_file() and snapshot.stat().st_size > 0, f"{snapshot} is missing or empty"


# ====================================================================== 5. refusals
def restore_env(settings):
    return {
        "DATABASE_URL": settings.db_url,
        "BACKUP_DIR": str(settings.backups),
        "UPLOADS_DIR": str(settings.uploads),
    }


@pytest.fixture(scope="module")
def refusal_populated(settings, backup):
    """restore.sh latest over the still-populated database, without --force."""
    return run_script(settings, "restore.sh", ["latest"], restore_env(settings), "refuse.log")


@pytest.fixture(scope="module")
def refusal_damaged(settings, backup):
    """restore.sh --force of a copy of the backup with one byte changed."""
    damaged = settings.run / "damaged"
    shutil.copytree(backup["folder"], damaged, symlinks=True)
    dump = damaged / "database.dump"
    with open(dump, "r+b") as f:
        f.seek(dump.stat().st_size // 2)
        b = f.read(1)
        f.seek(-1, 1)
        f.write(bytes([b[0] ^ 0x01]))
    try:
        return run_script(settings, "restore.sh", ["--force", str(damaged)], restore_env(settings), "damaged.log")
    finally:
        remove_tree(damaged)


@pytest.fixture(scope="module")
def after_refusals(settings, refusal_populated, refusal_damaged):
    return record_state(settings)


def test_restore_refuses_a_populated_database_without_force(refusal_populated):
    assert refusal_populated.returncode != 0, "restore.sh restored over a non-empty database without --force"
    assert "not empty" in refusal_populated.output, (
        f"restore.sh failed for another reason than a non-empty database: {refusal_populated.describe()}"
    )


def test_restore_refuses_a_damaged_backup_even_with_force(refusal_damaged):
    assert refusal_damaged.returncode != 0, "restore.sh accepted a backup with one byte changed"
    assert "MISMATCH" in refusal_damaged.output, (
        f"restore.sh failed on the damaged backup for another reason than a checksum: {refusal_damaged.describe()}"
    )


def test_refused_restores_left_the_database_untouched(before, after_refusals):
    diff = before["state"].differences(after_refusals)
    assert not diff, "the refused restores changed the database:\n" + "\n".join(diff)


# ====================================================================== 6. wipe + restore
@pytest.fixture(scope="module")
def restored(settings, backup, after_refusals):
    """WIPE: drop the database and delete the uploads folder; create an empty
    database; restore.sh latest. Returns what is there afterwards."""
    drop_database(settings)
    remove_tree(settings.uploads)
    require(not settings.uploads.exists(), f"could not delete {settings.uploads}")
    create_database(settings)
    require(
        sql(settings, "select count(*) from information_schema.tables where table_schema = 'public'") == "0",
        "the recreated database is not empty",
    )
    run = run_script(settings, "restore.sh", ["latest"], restore_env(settings), "restore.log")
    require(run.returncode == 0, f"restore.sh latest into the empty database failed: {run.describe()}")
    return {"state": record_state(settings), "files": record_files(settings.uploads)}


@pytest.fixture(scope="module")
def force_restored(settings, backup, restored):
    """restore.sh --force of the same backup over the restored data (the
    replace path). Returns what is there afterwards."""
    run = run_script(
        settings, "restore.sh", ["--force", str(backup["folder"])], restore_env(settings), "restore-force.log"
    )
    require(run.returncode == 0, f"restore.sh --force over the restored data failed: {run.describe()}")
    aside = sorted(settings.run.glob("uploads.before-restore-*"))
    for folder in aside:
        remove_tree(folder)
    return {
        "state": record_state(settings),
        "files": record_files(settings.uploads),
        "aside": [p.name for p in aside],
    }


def check_same_tables(before, after):
    lost = sorted(set(before["state"].counts) - set(after["state"].counts))
    extra = sorted(set(after["state"].counts) - set(before["state"].counts))
    assert not lost and not extra, f"tables lost: {lost}; tables that were not there: {extra}"


def check_row_count(table, before, after):
    want = before["state"].counts.get(table)
    assert want is not None, f"{table} did not exist when the state was recorded"
    got = after["state"].counts.get(table)
    assert got == want, f"{table}: {got} rows after, {want} before the backup"


def check_fingerprint(fingerprint, before, after):
    want = before["state"].fingerprints[fingerprint]
    got = after["state"].fingerprints[fingerprint]
    assert got == want, f"{fingerprint} differs:\n  before: {want}\n  after:  {got}"


def check_uploaded_file(uploaded, before, after):
    rel = UPLOADED_FILES[uploaded][0]
    want = before["files"].sha256.get(rel)
    assert want is not None, f"{rel} was not in the uploads folder before the backup"
    assert after["files"].present, "the uploads folder is absent"
    got = after["files"].sha256.get(rel)
    assert got == want, f"{rel}: sha256 {got}, {want} before the backup"


def check_upload_tree(before, after):
    b, a = before["files"], after["files"]
    assert a.present, "the uploads folder is absent"
    assert a.folders == b.folders, f"folders: {a.folders}, before the backup {b.folders}"
    assert sorted(a.sha256) == sorted(b.sha256), f"files: {sorted(a.sha256)}, before the backup {sorted(b.sha256)}"


def test_restore_brings_back_exactly_the_tables(before, restored):
    check_same_tables(before, restored)


def test_row_count_survives_restore(table, before, restored):
    check_row_count(table, before, restored)


def test_fingerprint_survives_restore(fingerprint, before, restored):
    check_fingerprint(fingerprint, before, restored)


def test_uploaded_file_survives_restore(uploaded, before, restored):
    check_uploaded_file(uploaded, before, restored)


def test_upload_folders_and_file_list_survive_restore(before, restored):
    check_upload_tree(before, restored)


def test_restore_force_moves_the_existing_uploads_aside(force_restored):
    assert force_restored["aside"], "--force did not keep the previous uploads folder aside (uploads.before-restore-*)"


def test_restore_force_brings_back_exactly_the_tables(before, force_restored):
    check_same_tables(before, force_restored)


def test_row_count_survives_restore_force(table, before, force_restored):
    check_row_count(table, before, force_restored)


def test_fingerprint_survives_restore_force(fingerprint, before, force_restored):
    check_fingerprint(fingerprint, before, force_restored)


def test_uploaded_file_survives_restore_force(uploaded, before, force_restored):
    check_uploaded_file(uploaded, before, force_restored)


def test_upload_folders_and_file_list_survive_restore_force(before, force_restored):
    check_upload_tree(before, force_restored)


# ====================================================================== 7. the API
@pytest.fixture(scope="module")
def api_after(settings, force_restored):
    """The API on the restored database, migrations off (MIGRATE_ON_START=false
    in its environment): the schema must come from the backup."""
    require(
        settings.api_env.get("MIGRATE_ON_START") == "false",
        "the API must start with MIGRATE_ON_START=false here",
    )
    api = Api(settings, "api-after.log").start()
    yield api
    api.stop()


@pytest.fixture(scope="module")
def login_after(settings, api_after):
    return api_after.login(STUDENT, settings.demo_password)


@pytest.fixture(scope="module")
def token_after(login_after):
    response, token = login_after
    require(token, f"no token: signing in after the restore failed ({response.describe()})")
    return token


def test_student_signs_in_after_restore(login_after):
    response, token = login_after
    assert response.status == 200 and token, f"POST /api/auth/login as {STUDENT}: {response.describe()}"


def test_auth_me_after_restore(api_after, token_after):
    r = api_after.request("GET", "/api/auth/me", token_after)
    assert r.status == 200, f"GET /api/auth/me: {r.describe()}"
    assert r.json()["user"]["email"] == STUDENT, f"GET /api/auth/me: {r.describe()}"


def test_notifications_after_restore_are_those_before_the_backup(api_after, token_after, before):
    r = api_after.request("GET", "/api/notifications?limit=1", token_after)
    assert r.status == 200, f"GET /api/notifications: {r.describe()}"
    total = r.json()["pagination"]["total"]
    assert total == before["student_notifications"], (
        f"GET /api/notifications: total {total}, {before['student_notifications']} before the backup"
    )


def test_sequences_continue_after_restore(api_after, token_after, before, activity):
    r = api_after.request("POST", f"/api/assessments/{activity['quiz']}/attempts", token_after)
    assert r.status in (200, 201), f"starting a new attempt after the restore: {r.describe()}"
    new_id = r.json()["attempt"]["id"]
    assert new_id > before["max_result_id"], (
        f"new attempt id {new_id} is not above the restored maximum {before['max_result_id']}"
    )
