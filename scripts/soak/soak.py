#!/usr/bin/env python3
"""Soak driver for nexus-api (issue 20), Python 3.11 standard library only.

Run by scripts/soak.sh, which provides a fresh seeded database and a running API:

    SOAK_API=http://127.0.0.1:PORT SOAK_DB_URL=postgres://… SOAK_SECONDS=180 python3 soak.py

Creates its own actors through the API (teachers made by the seeded admin, students
who register and join a class), lets them work at once for SOAK_SECONDS, then reads
the data back (API and Postgres) and checks it. Progress goes to stderr, the report
to stdout. Exit status 1 if a check failed.

Every actor keeps under the API's per-user limit (100 calls a minute) with a token
bucket, so a 429 is a driver bug, counted and reported like any other status.
"""

from __future__ import annotations

import json
import math
import os
import random
import re
import subprocess
import sys
import threading
import time
import urllib.error
import urllib.request
import uuid
from collections import Counter, defaultdict

API = os.environ["SOAK_API"].rstrip("/")
DB_URL = os.environ["SOAK_DB_URL"]
SECONDS = int(os.environ.get("SOAK_SECONDS", "180"))
N_STUDENTS = int(os.environ.get("SOAK_STUDENTS", "40"))
N_TEACHERS = int(os.environ.get("SOAK_TEACHERS", "3"))
ADMIN_EMAIL = os.environ.get("SOAK_ADMIN_EMAIL", "admin@nexus-reussite.fr")
ADMIN_PASSWORD = os.environ.get("SOAK_ADMIN_PASSWORD", "NexusDemo2026!")
HEADER = os.environ.get("SOAK_HEADER", "")
REDIS_URL = os.environ.get("SOAK_REDIS_URL")
STREAM_KEY = os.environ.get("SOAK_STREAM_KEY")
API_PID = os.environ.get("SOAK_API_PID")
RUN = uuid.uuid4().hex[:8]
PASSWORD = f"Soak-Girafe-{RUN}-42"


def log(message: str) -> None:
    print(f"[soak] {time.strftime('%H:%M:%S')} {message}", file=sys.stderr, flush=True)


# ---------------------------------------------------------------- HTTP and figures

class Stats:
    """Every answer's status and latency, by endpoint (method + path template)."""

    def __init__(self) -> None:
        self.lock = threading.Lock()
        self.statuses: Counter = Counter()
        self.latencies: dict[str, list[float]] = defaultdict(list)
        self.server_errors: list[str] = []

    def record(self, endpoint: str, status: int, seconds: float, detail: str) -> None:
        with self.lock:
            self.statuses[(endpoint, status)] += 1
            self.latencies[endpoint].append(seconds)
            if status >= 500 or status == 0 or status == 429:
                self.server_errors.append(f"{endpoint} -> {status}: {detail[:300]}")


STATS = Stats()


def endpoint_of(method: str, path: str) -> str:
    template = re.sub(r"/\d+", "/{id}", path.split("?")[0])
    return f"{method} {template}"


class Bucket:
    """A token bucket: bursts of `burst`, `per_minute` on average (the API allows 100)."""

    def __init__(self, per_minute: float = 85, burst: int = 6) -> None:
        self.rate, self.capacity = per_minute / 60, burst
        self.tokens, self.at = float(burst), time.monotonic()
        self.lock = threading.Lock()

    def take(self) -> None:
        while True:
            with self.lock:
                now = time.monotonic()
                self.tokens = min(self.capacity, self.tokens + (now - self.at) * self.rate)
                self.at = now
                if self.tokens >= 1:
                    self.tokens -= 1
                    return
                wait = (1 - self.tokens) / self.rate
            time.sleep(wait)


class Actor:
    def __init__(self, role: str, email: str) -> None:
        self.role, self.email = role, email
        self.token: str | None = None
        self.id: int | None = None
        self.bucket = Bucket()

    def call(self, method: str, path: str, body=None, auth: bool = True):
        """(status, parsed body or None). Never raises for HTTP or network errors."""
        if auth:
            self.bucket.take()
        data = None if body is None else json.dumps(body).encode()
        headers = {"accept": "application/json"}
        if data is not None:
            headers["content-type"] = "application/json"
        if auth and self.token:
            headers["authorization"] = f"Bearer {self.token}"
        request = urllib.request.Request(API + path, data=data, method=method, headers=headers)
        started = time.monotonic()
        status, raw = 0, b""
        try:
            with urllib.request.urlopen(request, timeout=60) as answer:
                status, raw = answer.status, answer.read()
        except urllib.error.HTTPError as error:
            status, raw = error.code, error.read()
        except (urllib.error.URLError, OSError) as error:
            raw = repr(error).encode()
        elapsed = time.monotonic() - started
        STATS.record(endpoint_of(method, path), status, elapsed, raw.decode(errors="replace"))
        try:
            parsed = json.loads(raw) if raw else None
        except ValueError:
            parsed = None
        return status, parsed

    def login(self) -> None:
        status, body = self.call("POST", "/api/auth/login",
                                 {"email": self.email, "password": self.password}, auth=False)
        if status != 200:
            raise SystemExit(f"login of {self.email} failed: {status} {body}")
        self.token, self.id = body["accessToken"], body["user"]["id"]

    password = PASSWORD


def at_once(*calls):
    """Run the calls (thunks) in threads started together; their results in order."""
    results, failures = [None] * len(calls), []
    gate = threading.Barrier(len(calls))

    def run(i, thunk):
        gate.wait()
        try:
            results[i] = thunk()
        except BaseException as error:  # SystemExit included: raised again in the caller
            failures.append(error)

    threads = [threading.Thread(target=run, args=(i, c)) for i, c in enumerate(calls)]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    if failures:
        raise failures[0]
    return results


def psql_json(sql: str):
    """Rows of `sql` as a list of dicts, straight from Postgres."""
    out = subprocess.run(
        ["psql", "-qtAX", "-v", "ON_ERROR_STOP=1", DB_URL,
         "-c", f"select coalesce(json_agg(t), '[]') from ({sql}) t"],
        check=True, capture_output=True, text=True).stdout
    return json.loads(out)


# ---------------------------------------------------------------- the world the driver knows

class World:
    def __init__(self) -> None:
        self.lock = threading.Lock()
        self.classes: dict[int, dict] = {}           # class id -> {teacher, students, conversation}
        self.courses: dict[int, list[int]] = defaultdict(list)   # class id -> published course ids
        self.sections: dict[int, list[str]] = {}     # course id -> section ids
        self.quizzes: dict[int, list[int]] = defaultdict(list)   # class id -> published quiz ids
        self.quiz_teacher: dict[int, "Actor"] = {}
        self.versions: dict[str, list[dict]] = {}    # version tag -> questions (with answers)
        self.attempts: dict[int, dict] = {}          # attempt id -> what the student saw and sent
        self.manual: dict[int, dict] = {}            # attempt id -> points the teacher's grade gave
        self.completed: dict[tuple[int, int], set] = defaultdict(set)  # (student, course) -> sections
        self.progress_touched: set = set()
        self.publishes: Counter = Counter()
        self.edits: Counter = Counter()
        self.grade_races = 0
        self.messages = 0
        self.tag_counter = 0
        self.kinds: dict[str, int] = {}
        self.first_tag: dict[int, str] = {}          # quiz id -> the version it was created with
        self.windows: dict[int, tuple[dict, float]] = {}  # quiz id -> publish body, when published
        self.republished: Counter = Counter()
        self.last_republish = 0.0                    # monotonic time of the last one with a closing

    def new_tag(self) -> str:
        with self.lock:
            self.tag_counter += 1
            return f"v{self.tag_counter}"


WORLD = World()


def make_questions(tag: str, rng: random.Random, with_free_text: bool) -> list[dict]:
    questions = []
    for n in range(1, rng.randint(3, 5) + 1):
        qid, prompt = f"q{n}", f"[{tag}] Question {n}"
        kind = rng.choice(["single_choice", "true_false", "multiple_choice", "numeric"])
        if kind == "single_choice":
            q = {"type": kind, "options": ["A", "B", "C"], "correct": rng.randrange(3),
                 "points": rng.choice([1, 2])}
        elif kind == "true_false":
            q = {"type": kind, "correct": rng.random() < 0.5, "points": 1}
        elif kind == "multiple_choice":
            q = {"type": kind, "options": ["A", "B", "C", "D"],
                 "correct": sorted(rng.sample(range(4), rng.choice([1, 2, 3]))), "points": 2}
        else:
            q = {"type": kind, "answer": rng.randint(1, 9), "tolerance": rng.choice([0, 0.5]),
                 "points": 1}
        questions.append({"id": qid, "prompt": prompt, **q})
    if with_free_text:
        questions.append({"id": "free", "type": "free_text", "prompt": f"[{tag}] Expliquer",
                          "points": 2})
    return questions


def read_number(value):
    if isinstance(value, bool):
        return None
    if isinstance(value, (int, float)):
        return float(value)
    if isinstance(value, str):
        try:
            return float(value.strip().replace(",", ".").replace(" ", ""))
        except ValueError:
            return None
    return None


def expected_points(question: dict, answer) -> float | None:
    """Points of an objective answer, as LEARNING.md defines them; None: for the teacher."""
    if question["type"] == "free_text":
        return None
    if answer is None:
        return 0.0
    points, kind = float(question["points"]), question["type"]
    if kind == "single_choice":
        right = isinstance(answer, int) and not isinstance(answer, bool) and answer == question["correct"]
    elif kind == "true_false":
        right = answer is question["correct"]
    elif kind == "numeric":
        x = read_number(answer)
        right = x is not None and abs(x - question["answer"]) <= abs(question["tolerance"]) + 1e-9
    elif kind == "multiple_choice":
        picked, correct = set(answer), set(question["correct"])
        share = max(0.0, (len(picked & correct) - len(picked - correct)) / max(1, len(correct)))
        return round(points * share * 100) / 100
    else:
        raise ValueError(kind)
    return points if right else 0.0


def answer_for(question: dict, shown: dict, rng: random.Random):
    """A student's answer to a shown question: right half the time, else a guess."""
    kind, knows = question["type"], rng.random() < 0.5
    if rng.random() < 0.08 and kind != "free_text":
        return None  # left unanswered
    if kind == "free_text":
        return rng.choice(["Parce que la pile est LIFO.", ""])
    if kind == "single_choice":
        return question["correct"] if knows else rng.randrange(len(shown["options"]))
    if kind == "true_false":
        return question["correct"] if knows else rng.random() < 0.5
    if kind == "multiple_choice":
        if knows:
            return list(question["correct"])
        return rng.sample(range(len(shown["options"])), rng.randint(0, len(shown["options"])))
    if kind == "numeric":
        if knows:
            return rng.choice([question["answer"], str(question["answer"]).replace(".", ",")])
        return rng.choice([rng.randint(1, 9), f"{rng.randint(1, 9)},5", str(rng.randint(1, 9))])
    raise ValueError(kind)


# ---------------------------------------------------------------- setup

def course_body(title: str, sections: list[str]) -> dict:
    half = len(sections) // 2
    chapters = [
        {"id": "ch1", "title": "Première partie",
         "sections": [{"id": s, "title": f"Section {s}", "content": f"Texte de {s}."} for s in sections[:half]]},
        {"id": "ch2", "title": "Seconde partie",
         "sections": [{"id": s, "title": f"Section {s}", "content": f"Texte de {s}."} for s in sections[half:]]},
    ]
    return {"title": title, "description": "Cours du soak", "level": "terminale",
            "category": "structures", "content": {"chapters": chapters},
            "prerequisites": [], "objectives": ["Tenir la charge"], "estimatedTime": 30}


def publish_course(teacher: Actor, class_id: int, rng: random.Random) -> None:
    """Create a draft, assign it, then publish it three times at once."""
    sections = [f"s{n}" for n in range(1, rng.randint(3, 7) + 1)]
    status, body = teacher.call("POST", "/api/courses", course_body(f"Cours {uuid.uuid4().hex[:6]}", sections))
    if status != 201:
        log(f"course creation: {status} {body}")
        return
    course = body["course"]["id"]
    status, body = teacher.call("POST", f"/api/courses/{course}/classes", {"classId": class_id})
    if status not in (200, 201):
        log(f"course assignment: {status} {body}")
        return
    answers = at_once(*[lambda: teacher.call("POST", f"/api/courses/{course}/publish", {})] * 3)
    if any(s == 200 for s, _ in answers):
        with WORLD.lock:
            WORLD.sections[course] = sections
            WORLD.courses[class_id].append(course)
            WORLD.publishes["course"] += 1


def publish_quiz(teacher: Actor, class_id: int, rng: random.Random) -> int | None:
    """Create a quiz and publish it to the class three times at once."""
    tag = WORLD.new_tag()
    questions = make_questions(tag, rng, with_free_text=rng.random() < 0.4)
    WORLD.versions[tag] = questions
    status, body = teacher.call("POST", "/api/assessments", {
        "title": f"Quiz {tag}", "type": "quiz", "questions": questions, "maxAttempts": 3})
    if status != 201:
        log(f"quiz creation: {status} {body}")
        return None
    quiz = body["assessment"]["id"]
    window = {"classId": class_id}
    if rng.random() < 0.5:
        # Closing within 24 hours: the worker sends an assessment_due_soon reminder.
        window["closesAt"] = time.strftime("%Y-%m-%dT%H:%M:%SZ", time.gmtime(time.time() + 12 * 3600))
    answers = at_once(*[lambda: teacher.call("POST", f"/api/assessments/{quiz}/publish", window)] * 3)
    if any(s == 200 for s, _ in answers):
        with WORLD.lock:
            WORLD.windows[quiz] = (window, time.monotonic())
            WORLD.quizzes[class_id].append(quiz)
            WORLD.quiz_teacher[quiz] = teacher
            WORLD.first_tag[quiz] = tag
            WORLD.publishes["quiz"] += 1
        return quiz
    return None


def setup(rng: random.Random):
    admin = Actor("admin", ADMIN_EMAIL)
    admin.password = ADMIN_PASSWORD
    admin.login()
    teachers = []
    for n in range(N_TEACHERS):
        email = f"prof{n}.{RUN}@soak.example.fr"
        status, body = admin.call("POST", "/api/users", {
            "email": email, "password": PASSWORD, "firstName": "Prof", "lastName": f"Soak{n}",
            "role": "teacher"})
        if status != 201:
            raise SystemExit(f"teacher creation failed: {status} {body}")
        teacher = Actor("teacher", email)
        teacher.login()
        status, body = teacher.call("POST", "/api/classes", {
            "name": f"Terminale NSI {n}", "level": "terminale", "schoolYear": "2026-2027"})
        if status != 201:
            raise SystemExit(f"class creation failed: {status} {body}")
        teacher.class_id, teacher.join_code = body["class"]["id"], body["class"]["joinCode"]
        WORLD.classes[teacher.class_id] = {"teacher": teacher, "students": []}
        teachers.append(teacher)
    log(f"{len(teachers)} teachers and their classes created")

    students = []

    def register(n):
        email = f"eleve{n}.{RUN}@soak.example.fr"
        student = Actor("student", email)
        status, body = student.call("POST", "/api/auth/register", {
            "email": email, "password": PASSWORD, "firstName": "Élève", "lastName": f"Soak{n}",
            "role": "student", "classLevel": "terminale"}, auth=False)
        if status != 201:
            raise SystemExit(f"registration failed: {status} {body}")
        student.login()
        teacher = teachers[n % len(teachers)]
        status, body = student.call("POST", "/api/classes/join", {"code": teacher.join_code})
        if status not in (200, 201):
            raise SystemExit(f"join failed: {status} {body}")
        student.class_id = teacher.class_id
        return student

    # A few at a time: each registration and login hashes a password.
    for first in range(0, N_STUDENTS, 4):
        batch = at_once(*[lambda n=n: register(n) for n in range(first, min(first + 4, N_STUDENTS))])
        students.extend(batch)
    for s in students:
        WORLD.classes[s.class_id]["students"].append(s)
    log(f"{len(students)} students registered and in their classes")

    def first_work(teacher, seed):
        status, body = teacher.call("GET", f"/api/classes/{teacher.class_id}/conversation")
        if status != 200:
            raise SystemExit(f"class conversation: {status} {body}")
        WORLD.classes[teacher.class_id]["conversation"] = body["conversationId"]
        own = random.Random(seed)
        for _ in range(2):
            publish_course(teacher, teacher.class_id, own)
            publish_quiz(teacher, teacher.class_id, own)

    at_once(*[lambda t=t, seed=rng.random(): first_work(t, seed) for t in teachers])
    log(f"{len(WORLD.sections)} courses and {sum(map(len, WORLD.quizzes.values()))} quizzes published")
    return admin, teachers, students


# ---------------------------------------------------------------- the work

def student_loop(student: Actor, deadline: float, seed: int) -> None:
    rng = random.Random(seed)
    while time.monotonic() < deadline:
        action = rng.choices(["course", "section", "quiz", "notifications", "chat", "dashboard"],
                             weights=[3, 5, 4, 3, 1, 1])[0]
        try:
            getattr(sys.modules[__name__], f"student_{action}")(student, rng)
        except Exception as error:  # a driver bug must not stop the others
            log(f"student {student.id} {action}: {error!r}")
            STATS.server_errors.append(f"driver error (student {action}): {error!r}")
        time.sleep(rng.uniform(0.5, 2.0))


def student_course(student, rng):
    with WORLD.lock:
        courses = list(WORLD.courses[student.class_id])
    student.call("GET", "/api/courses?page=1&limit=10")
    if courses:
        student.call("GET", f"/api/courses/{rng.choice(courses)}")


def student_section(student, rng):
    with WORLD.lock:
        courses = list(WORLD.courses[student.class_id])
    if not courses:
        return
    course = rng.choice(courses)
    key = (student.id, course)
    sections = WORLD.sections[course]
    with WORLD.lock:
        done = set(WORLD.completed[key])
    todo = [s for s in sections if s not in done]
    path = f"/api/courses/{course}/progress"
    if done and (not todo or rng.random() < 0.1):
        # Going back: one section marked not done.
        section = rng.choice(sorted(done))
        status, _ = student.call("PUT", path, {"sectionId": section, "sectionCompleted": False})
        with WORLD.lock:
            WORLD.progress_touched.add(key)
            if status == 200:
                WORLD.completed[key].discard(section)
        return
    if not todo:
        return
    # Several tabs: up to three sections completed at once.
    picked = rng.sample(todo, min(len(todo), rng.choice([1, 1, 2, 3])))
    answers = at_once(*[lambda s=s: student.call("PUT", path, {
        "sectionId": s, "sectionCompleted": True, "timeSpentSeconds": rng.randint(10, 300)})
        for s in picked])
    with WORLD.lock:
        WORLD.progress_touched.add(key)
        for section, (status, _) in zip(picked, answers):
            if status == 200:
                WORLD.completed[key].add(section)


def student_quiz(student, rng):
    with WORLD.lock:
        quizzes = list(WORLD.quizzes[student.class_id])
    if not quizzes:
        return
    # Half the time the newest quiz, which its teacher may be editing right now.
    quiz = quizzes[-1] if rng.random() < 0.5 else rng.choice(quizzes)
    status, body = student.call("POST", f"/api/assessments/{quiz}/attempts", {})
    if status == 409:
        return  # no attempts left
    if status not in (200, 201):
        log(f"attempt start on {quiz}: {status} {body}")
        return
    attempt = body["attempt"]["id"]
    shown = body["assessment"]["questions"]
    tags = {re.match(r"\[(v\d+)\]", q["prompt"]).group(1) for q in shown}
    record = {"student": student, "quiz": quiz, "shown": shown, "tags": sorted(tags),
              "shownMax": body["attempt"].get("maxScore")}
    if len(tags) != 1:
        record["answers"] = {}
        record["submitted"] = False
        WORLD.attempts[attempt] = record
        return
    version = {q["id"]: q for q in WORLD.versions[tags.pop()]}
    answers = {}
    for q in shown:
        given = answer_for(version[q["id"]], q, rng)
        if given is not None:
            answers[q["id"]] = given
    record["answers"] = answers
    WORLD.attempts[attempt] = record
    time.sleep(rng.uniform(0.5, 3.0))  # thinking
    status, body = student.call("POST", f"/api/attempts/{attempt}/submit", {"answers": answers})
    record["submitted"] = status == 200
    if status != 200:
        log(f"submit of attempt {attempt}: {status} {body}")


def student_notifications(student, rng):
    status, body = student.call("GET", "/api/notifications?page=1&limit=20")
    if status == 200 and body.get("unreadCount") and rng.random() < 0.3:
        student.call("POST", "/api/notifications/read-all", {})


def student_chat(student, rng):
    conversation = WORLD.classes[student.class_id]["conversation"]
    student.call("POST", f"/api/conversations/{conversation}/messages", {
        "clientMessageId": uuid.uuid4().hex, "body": f"Question de l'élève {student.id}"})
    with WORLD.lock:
        WORLD.messages += 1


def student_dashboard(student, rng):
    student.call("GET", "/api/dashboard/student")


def teacher_loop(teacher: Actor, deadline: float, seed: int) -> None:
    rng = random.Random(seed)
    while time.monotonic() < deadline:
        action = rng.choices(["new_course", "new_quiz", "edit", "grade", "chat", "dashboard",
                              "republish"], weights=[1, 2, 3, 4, 3, 1, 2])[0]
        try:
            if action == "grade":
                teacher_grade(teacher, rng, deadline)
            else:
                getattr(sys.modules[__name__], f"teacher_{action}")(teacher, rng)
        except Exception as error:
            log(f"teacher {teacher.id} {action}: {error!r}")
            STATS.server_errors.append(f"driver error (teacher {action}): {error!r}")
        time.sleep(rng.uniform(0.5, 2.0))


def teacher_new_course(teacher, rng):
    publish_course(teacher, teacher.class_id, rng)


def teacher_new_quiz(teacher, rng):
    quiz = publish_quiz(teacher, teacher.class_id, rng)
    if quiz is not None:
        # Edited at once, while the class may already be starting it.
        time.sleep(rng.uniform(0, 0.5))
        edit_quiz(teacher, quiz, rng)


def edit_quiz(teacher, quiz, rng):
    tag = WORLD.new_tag()
    questions = make_questions(tag, rng, with_free_text=rng.random() < 0.4)
    WORLD.versions[tag] = questions
    status, body = teacher.call("PUT", f"/api/assessments/{quiz}", {
        "title": f"Quiz {tag}", "type": "quiz", "questions": questions, "maxAttempts": 3})
    code = body.get("code") if isinstance(body, dict) else None
    with WORLD.lock:
        WORLD.edits[(status, code)] += 1
    if status not in (200, 409) or (status == 409 and code != "assessment_has_attempts"):
        log(f"edit of quiz {quiz}: {status} {body}")


def teacher_edit(teacher, rng):
    with WORLD.lock:
        quizzes = list(WORLD.quizzes[teacher.class_id])
    if quizzes:
        edit_quiz(teacher, rng.choice(quizzes[-3:]), rng)


def teacher_grade(teacher, rng, deadline=None):
    """Grade what waits in this teacher's quizzes (sometimes twice at once). Without a
    deadline: everything, in every quiz."""
    with WORLD.lock:
        quizzes = list(WORLD.quizzes[teacher.class_id])
    if deadline is not None:
        quizzes = rng.sample(quizzes, min(2, len(quizzes)))
    for quiz in quizzes:
        status, body = teacher.call("GET", f"/api/assessments/{quiz}/attempts")
        if status != 200:
            continue
        for summary in body["attempts"]:
            if deadline is not None and time.monotonic() > deadline:
                return
            if summary["status"] == "submitted":
                grade_attempt(teacher, summary["id"], rng)


def grade_attempt(teacher, attempt, rng):
    record = WORLD.attempts.get(attempt)
    if record is not None and rng.random() < 0.7:
        # The teacher knows their quiz: the free-text answer is what waits.
        pending = {q["id"]: 2 for q in record["shown"] if q["type"] == "free_text"}
    else:
        # Otherwise read the copy first.
        status, body = teacher.call("GET", f"/api/attempts/{attempt}")
        if status != 200 or body["attempt"]["status"] != "submitted":
            return
        pending = {r["questionId"]: r["grade"]["maxPoints"] for r in body["attempt"]["results"]
                   if r.get("grade") and r["grade"]["status"] == "pending_review"}

    def grade_body():
        return {"questions": {q: {"points": rng.choice([0, 0.5, 1, m])} for q, m in pending.items()},
                "feedback": "Vu."}

    bodies = [grade_body() for _ in range(2 if rng.random() < 0.3 else 1)]
    answers = at_once(*[lambda b=b: teacher.call("POST", f"/api/attempts/{attempt}/grade", b)
                        for b in bodies])
    if len(bodies) > 1:
        with WORLD.lock:
            WORLD.grade_races += 1
    winners = [b for b, (s, _) in zip(bodies, answers) if s == 200]
    with WORLD.lock:
        WORLD.manual[attempt] = {"winners": len(winners),
                                 "points": {q: g["points"] for q, g in winners[0]["questions"].items()}
                                 if winners else None}
    for s, b in answers:
        if s not in (200, 409):
            log(f"grade of attempt {attempt}: {s} {b}")


def teacher_chat(teacher, rng):
    conversation = WORLD.classes[teacher.class_id]["conversation"]
    teacher.call("GET", f"/api/classes/{teacher.class_id}/conversation")
    # Two messages at once, as from two tabs.
    at_once(*[lambda n=n: teacher.call("POST", f"/api/conversations/{conversation}/messages", {
        "clientMessageId": uuid.uuid4().hex, "body": f"Consigne {n}"}) for n in range(2)])
    with WORLD.lock:
        WORLD.messages += 2
    if rng.random() < 0.3:
        teacher.call("GET", f"/api/conversations/{conversation}/messages")


def teacher_republish(teacher, rng, closing_only=False):
    """Publish a quiz again to its class with the same window (a minute or more later, so
    that the worker's reminder has gone out): no new notification is due."""
    with WORLD.lock:
        old = [(q, w) for q, (w, at) in WORLD.windows.items()
               if w["classId"] == teacher.class_id and time.monotonic() - at > 70
               and (not closing_only or "closesAt" in w)]
    if not old:
        return
    quiz, window = rng.choice(old)
    status, body = teacher.call("POST", f"/api/assessments/{quiz}/publish", window)
    with WORLD.lock:
        WORLD.republished["with a closing" if "closesAt" in window else "without a closing"] += 1
        if "closesAt" in window:
            WORLD.last_republish = time.monotonic()
    if status != 200:
        log(f"republication of quiz {quiz}: {status} {body}")


def teacher_dashboard(teacher, rng):
    teacher.call("GET", "/api/dashboard/teacher")


# ---------------------------------------------------------------- checks

class Checks:
    def __init__(self) -> None:
        self.results: list[tuple[str, bool, str]] = []

    def add(self, name: str, ok: bool, detail: str = "") -> None:
        self.results.append((name, ok, detail))
        log(f"check {'PASS' if ok else 'FAIL'}: {name} {detail[:200]}")


def check_attempts(checks: Checks, students) -> int:
    ids = sorted(a for a, r in WORLD.attempts.items() if r.get("submitted"))
    stored = {r["id"]: r for r in psql_json(
        f"select id, status, score::float8 as score, max_score::float8 as max_score, answers, breakdown, "
        f"student_id from assessment_results where id in ({','.join(map(str, ids)) or 'null'})")}
    graded, problems = 0, []
    for attempt in ids:
        record, row = WORLD.attempts[attempt], stored.get(attempt)
        if row is None:
            problems.append(f"attempt {attempt}: submitted (200) but not stored")
            continue
        if row["status"] != "graded":
            problems.append(f"attempt {attempt}: status {row['status']} after the final grading pass")
            continue
        graded += 1
        version = {q["id"]: q for q in WORLD.versions[record["tags"][0]]}
        shown_ids = [q["id"] for q in record["shown"]]
        shown_max = sum(float(version[q]["points"]) for q in shown_ids)
        manual = (WORLD.manual.get(attempt) or {}).get("points") or {}
        expected = 0.0
        for qid in shown_ids:
            points = expected_points(version[qid], record["answers"].get(qid))
            expected += manual.get(qid, 0.0) if points is None else points
        expected = round(expected * 100) / 100
        if abs((row["score"] or 0) - expected) > 0.005:
            problems.append(f"attempt {attempt} (quiz {record['quiz']}, {record['tags'][0]}): "
                            f"score {row['score']}, expected {expected}; answers {record['answers']}")
        if abs((row["max_score"] or 0) - shown_max) > 0.005:
            problems.append(f"attempt {attempt}: maxScore {row['max_score']}, shown {shown_max}")
        if sorted(row["breakdown"].keys()) != sorted(shown_ids):
            problems.append(f"attempt {attempt}: graded {sorted(row['breakdown'])}, shown {shown_ids}")
        if row["answers"] != record["answers"]:
            problems.append(f"attempt {attempt}: stored answers differ from those sent")
    mixed = [a for a, r in WORLD.attempts.items() if len(r["tags"]) != 1]
    if mixed:
        problems.append(f"attempts shown questions of several versions at once: {mixed}")
    races = [a for a, m in WORLD.manual.items() if m["winners"] > 1]
    if races:
        problems.append(f"attempts graded twice (two 200s to racing grades): {races}")
    checks.add("every graded attempt's score is its shown version's grading of the answers sent",
               not problems, f"{graded} graded attempts checked; " + "; ".join(problems[:10]))

    # The results list, read back through the API by the student, names the shown questions.
    listing = []
    sample = ids if len(ids) <= 400 else random.Random(1).sample(ids, 400)
    for attempt in sample:
        record = WORLD.attempts[attempt]
        status, body = record["student"].call("GET", f"/api/attempts/{attempt}")
        if status != 200:
            listing.append(f"attempt {attempt}: read back {status}")
            continue
        got = [r["questionId"] for r in body["attempt"]["results"]]
        if got != [q["id"] for q in record["shown"]]:
            listing.append(f"attempt {attempt}: results {got}, shown {[q['id'] for q in record['shown']]}")
        if abs((body["attempt"]["score"] or 0) - (stored[attempt]["score"] or 0)) > 0.005:
            listing.append(f"attempt {attempt}: API score {body['attempt']['score']} != stored")
    checks.add("each attempt's results (GET /api/attempts/{id}) list exactly the questions shown",
               not listing, f"{len(sample)} attempts read back; " + "; ".join(listing[:10]))
    return graded


def check_progress(checks: Checks) -> None:
    rows = psql_json("""
        select p.student_id, p.course_id, p.progress_percentage, p.completed_at is not null as done,
               (select coalesce(json_agg(s.section_id order by s.section_id), '[]')
                from section_progress s
                where s.student_id = p.student_id and s.course_id = p.course_id
                  and s.completed_at is not null) as sections
        from student_progress p""")
    by_key = {(r["student_id"], r["course_id"]): r for r in rows}
    problems = []
    for key in sorted(WORLD.progress_touched):
        row, expected = by_key.get(key), WORLD.completed[key]
        total = len(WORLD.sections[key[1]])
        if row is None:
            if expected:
                problems.append(f"student {key[0]} course {key[1]}: no progress row")
            continue
        percent = math.floor(100 * len(row["sections"]) / total)
        if row["progress_percentage"] != percent:
            problems.append(f"student {key[0]} course {key[1]}: {row['progress_percentage']}% stored, "
                            f"{len(row['sections'])}/{total} sections done")
        if row["done"] != (row["progress_percentage"] == 100):
            problems.append(f"student {key[0]} course {key[1]}: completedAt {row['done']} at "
                            f"{row['progress_percentage']}%")
        if set(row["sections"]) != expected:
            problems.append(f"student {key[0]} course {key[1]}: sections {row['sections']}, "
                            f"the student's answers say {sorted(expected)}")
    # The same, read back through the API by each student.
    students = {s.id: s for cls in WORLD.classes.values() for s in cls["students"]}
    for student_id, student in sorted(students.items()):
        status, body = student.call("GET", f"/api/students/{student_id}/progress")
        if status != 200:
            problems.append(f"student {student_id}: progress read back {status}")
            continue
        for course in body["courses"]:
            row = by_key.get((student_id, course["courseId"]))
            if row is None:
                continue
            if (course["progressPercentage"], sorted(course["completedSections"]),
                    course["completedAt"] is not None) != (row["progress_percentage"], row["sections"], row["done"]):
                problems.append(f"student {student_id} course {course['courseId']}: API {course} != stored {row}")
    checks.add("progress = completed sections / sections (rounded down), completedAt iff 100",
               not problems, f"{len(WORLD.progress_touched)} (student, course) pairs; "
               + "; ".join(problems[:10]))


def check_notifications(checks: Checks) -> None:
    # The worker looks for quizzes closing soon once a minute: let it run once more after
    # the last republication.
    wait = WORLD.last_republish + 65 - time.monotonic() if WORLD.last_republish else 0
    if wait > 0:
        log(f"waiting {wait:.0f}s for the worker's next reminder round")
        time.sleep(wait)
    dups = psql_json("""
        select user_id, kind, data, count(*) as n,
               array_agg(to_char(created_at, 'HH24:MI:SS') order by created_at) as at
        from notifications
        where kind in ('course_published', 'assessment_published', 'result_graded', 'submission_to_grade',
                       'assessment_due_soon')
        group by user_id, kind,
                 case kind when 'course_published' then data->>'courseId'
                           when 'assessment_published' then (data->>'assessmentId') || '/' || (data->>'classId')
                           else data->>'attemptId' end, data
        having count(*) > 1""")
    WORLD.kinds = {r["kind"]: r["n"] for r in psql_json(
        "select kind, count(*) as n from notifications group by kind order by kind")}
    checks.add("no notification twice for one change (course/quiz published, attempt graded/submitted, "
               "quiz due soon)", not dups,
               f"{len(dups)} (user, kind, data) duplicated, by kind {dict(Counter(d['kind'] for d in dups))}; "
               f"e.g. {json.dumps(dups[:3], ensure_ascii=False)}")

    # Each student of a class: one course_published per course, one assessment_published
    # per quiz; each graded attempt: one result_graded to its student.
    got = Counter()
    for r in psql_json("""select user_id, kind, data->>'courseId' as course,
                                 data->>'assessmentId' as quiz, data->>'attemptId' as attempt
                          from notifications"""):
        if r["kind"] == "course_published":
            got[("course", r["user_id"], int(r["course"]))] += 1
        elif r["kind"] == "assessment_published":
            got[("quiz", r["user_id"], int(r["quiz"]))] += 1
        elif r["kind"] == "result_graded":
            got[("graded", r["user_id"], int(r["attempt"]))] += 1
    missing = []
    for class_id, cls in WORLD.classes.items():
        for student in cls["students"]:
            for course in WORLD.courses[class_id]:
                if got[("course", student.id, course)] != 1:
                    missing.append(f"course_published ×{got[('course', student.id, course)]} "
                                   f"student {student.id} course {course}")
            for quiz in WORLD.quizzes[class_id]:
                if got[("quiz", student.id, quiz)] != 1:
                    missing.append(f"assessment_published ×{got[('quiz', student.id, quiz)]} "
                                   f"student {student.id} quiz {quiz}")
    graded = {r["id"]: r["student_id"] for r in psql_json(
        "select id, student_id from assessment_results where status = 'graded'")}
    for attempt, student in graded.items():
        if attempt in WORLD.attempts and got[("graded", student, attempt)] != 1:
            missing.append(f"result_graded ×{got[('graded', student, attempt)]} attempt {attempt}")
    # A submission with a question for the teacher: one submission_to_grade to its author.
    to_grade = Counter((r["user_id"], int(r["attempt"])) for r in psql_json(
        "select user_id, data->>'attemptId' as attempt from notifications where kind = 'submission_to_grade'"))
    for attempt, record in WORLD.attempts.items():
        if not record.get("submitted"):
            continue
        waits = any(q["type"] == "free_text" for q in WORLD.versions[record["tags"][0]]
                    if q["id"] in {s["id"] for s in record["shown"]})
        n = to_grade[(WORLD.quiz_teacher[record["quiz"]].id, attempt)]
        if n != (1 if waits else 0):
            missing.append(f"submission_to_grade ×{n} attempt {attempt}")
    checks.add("every notification the platform promises exists exactly once",
               not missing, f"{len(missing)} wrong; " + "; ".join(missing[:10]))

    # Relayed: wait for the relay to drain the outbox.
    waited = time.monotonic()
    pending = None
    while time.monotonic() - waited < 60:
        pending = psql_json("select count(*) as n from outbox where relayed_at is null")[0]["n"]
        if pending == 0:
            break
        time.sleep(1)
    unrelayed = psql_json("""
        select count(*) filter (where o.id is null) as without_outbox,
               count(*) filter (where o.relayed_at is null) as not_relayed, count(*) as total
        from notifications n left join outbox o on o.event_id = n.event_id""")[0]
    checks.add("every notification has its outbox row, relayed (outbox drained)",
               pending == 0 and unrelayed["without_outbox"] == 0 and unrelayed["not_relayed"] == 0,
               f"{unrelayed['total']} notifications, {unrelayed['without_outbox']} without an outbox row, "
               f"{unrelayed['not_relayed']} not relayed; outbox pending after "
               f"{time.monotonic() - waited:.0f}s: {pending}")
    if REDIS_URL and STREAM_KEY:
        check_stream(checks)


def check_stream(checks: Checks) -> None:
    """Every notification's eventId is in the Redis stream the hub reads, once."""
    raw = subprocess.run(["redis-cli", "-u", REDIS_URL, "--raw", "XRANGE", STREAM_KEY, "-", "+"],
                         check=True, capture_output=True, text=True).stdout.splitlines()
    in_stream = Counter(raw[i + 1] for i, line in enumerate(raw[:-1]) if line == "eventId")
    events = [r["event_id"] for r in psql_json("select event_id from notifications")]
    absent = [e for e in events if in_stream[e] == 0]
    twice = [e for e in events if in_stream[e] > 1]
    # At least once is the promise (LEARNING.md); twice is only expected after a crash.
    checks.add("every notification is in the Redis stream, once",
               not absent and not twice,
               f"{len(events)} notifications, {sum(in_stream.values())} stream entries; "
               f"absent: {len(absent)} {absent[:3]}; more than once: {len(twice)} {twice[:3]}")


def check_chat(checks: Checks) -> None:
    rows = psql_json("""
        select conversation_id, count(*) as n,
               count(*) filter (where backwards) as backwards
        from (select conversation_id,
                     created_at < lag(created_at) over (partition by conversation_id order by id) as backwards
              from messages) m
        group by conversation_id""")
    bad = [r for r in rows if r["backwards"]]
    order = psql_json("""
        select (payload->>'conversationId')::bigint as conversation,
               array_agg((payload->'message'->>'id')::bigint order by id) as delivered
        from outbox where topic = 'chat' and payload->>'type' = 'message'
        group by 1""")
    out_of_order = [r["conversation"] for r in order if r["delivered"] != sorted(r["delivered"])]
    total = sum(r["n"] for r in rows)
    checks.add("chat: per conversation, message ids, times and delivery in one order",
               not bad and not out_of_order,
               f"{total} messages in {len(rows)} conversations; times backwards: {bad}; "
               f"delivery out of id order: {out_of_order}")


# ---------------------------------------------------------------- report

def percentile(values: list[float], p: float) -> float:
    ordered = sorted(values)
    return ordered[min(len(ordered) - 1, max(0, math.ceil(p / 100 * len(ordered)) - 1))]


def report(checks: Checks, duration: float, drained: float, during: int, graded: int,
           rss_mb: int | None) -> bool:
    lines = ["", "==================== nexus-api soak ====================",
             f"date:      {time.strftime('%Y-%m-%d %H:%M:%S UTC', time.gmtime())}"]
    lines += HEADER.splitlines()
    total = sum(STATS.statuses.values())
    lines += [f"actors:    {N_TEACHERS} teachers, {N_STUDENTS} students (plus the seeded admin)",
              f"duration:  {SECONDS} s of overlapping work, then {max(drained, 0):.0f} s for the actors "
              f"to finish what they had started (mostly the teachers' grading)",
              f"requests:  {during} during the work ({during / max(duration, 1):.1f}/s on average), "
              f"{total} in all with the setup and the checks",
              f"api RSS:   {rss_mb} MB at the end" if rss_mb else "api RSS:   unknown",
              "", f"{'endpoint':<52} {'count':>6} {'p50 ms':>8} {'p99 ms':>8}  statuses"]
    for endpoint in sorted(STATS.latencies):
        lat = STATS.latencies[endpoint]
        statuses = ", ".join(f"{s}×{n}" for (e, s), n in sorted(STATS.statuses.items()) if e == endpoint)
        lines.append(f"{endpoint:<52} {len(lat):>6} {percentile(lat, 50) * 1000:>8.1f} "
                     f"{percentile(lat, 99) * 1000:>8.1f}  {statuses}")
    by_status = Counter()
    for (_, s), n in STATS.statuses.items():
        by_status[s] += n
    lines += ["", "statuses:  " + ", ".join(f"{s}: {n}" for s, n in sorted(by_status.items())),
              f"work:      {WORLD.publishes['course']} courses and {WORLD.publishes['quiz']} quizzes "
              f"published (each 3 times at once); quiz edits: "
              + ", ".join(f"{s} {c or ''}".strip() + f" ×{n}" for (s, c), n in sorted(WORLD.edits.items(), key=str)),
              f"attempts:  {sum(1 for r in WORLD.attempts.values() if r.get('submitted'))} submitted, "
              f"{graded} graded and checked, {len(WORLD.manual)} graded by a teacher "
              f"({WORLD.grade_races} of them by two racing requests), "
              f"{sum(1 for r in WORLD.attempts.values() if r.get('submitted') and r['tags'] != [WORLD.first_tag.get(r['quiz'])])}"
              " on a version edited after publication",
              "republish: quizzes published again, same window, a minute or more later: "
              + ", ".join(f"{k} ×{n}" for k, n in sorted(WORLD.republished.items())),
              f"chat:      {WORLD.messages} messages sent",
              "notified:  " + ", ".join(f"{k} ×{n}" for k, n in WORLD.kinds.items()), ""]
    failed = 0
    for name, ok, detail in checks.results:
        lines.append(f"[{'PASS' if ok else 'FAIL'}] {name}")
        if detail:
            lines.append(f"       {detail[:2000]}")
        failed += not ok
    lines.append("")
    lines.append(f"checks:    {len(checks.results) - failed} passed, {failed} failed")
    print("\n".join(lines), flush=True)
    return failed == 0


def main() -> int:
    rng = random.Random(os.environ.get("SOAK_SEED", RUN))
    log(f"API {API}, {SECONDS}s, run {RUN}")
    _, teachers, students = setup(rng)

    log(f"overlapping work for {SECONDS}s")
    started = time.monotonic()
    before = sum(STATS.statuses.values())
    deadline = started + SECONDS
    threads = [threading.Thread(target=student_loop, args=(s, deadline, rng.random())) for s in students]
    threads += [threading.Thread(target=teacher_loop, args=(t, deadline, rng.random())) for t in teachers]
    for t in threads:
        t.start()
    while any(t.is_alive() for t in threads):
        time.sleep(10)
        if time.monotonic() < deadline + 10:
            log(f"{sum(STATS.statuses.values())} requests, "
                f"{sum(1 for r in WORLD.attempts.values() if r.get('submitted'))} attempts submitted")
    duration = time.monotonic() - started
    drained = duration - SECONDS
    during = sum(STATS.statuses.values()) - before

    if not WORLD.republished["with a closing"]:
        # The work did not happen to publish again a quiz closing soon: one teacher does.
        for teacher in teachers:
            teacher_republish(teacher, rng, closing_only=True)
            if WORLD.republished["with a closing"]:
                break
    log("final grading pass")
    at_once(*[lambda t=t, seed=rng.random(): teacher_grade(t, random.Random(seed)) for t in teachers])

    checks = Checks()
    five = [(e, s, n) for (e, s), n in STATS.statuses.items() if s >= 500 or s == 0]
    checks.add("no 5xx and no failed connection, ever", not five,
               f"{five}; first: {STATS.server_errors[:5]}")
    limited = [(e, n) for (e, s), n in STATS.statuses.items() if s == 429]
    checks.add("no 429 (each actor stays under 100 calls a minute)", not limited, str(limited))
    graded = check_attempts(checks, students)
    check_progress(checks)
    check_notifications(checks)
    check_chat(checks)
    # Checks read back through the API too: a 5xx there counts.
    five = [(e, s, n) for (e, s), n in STATS.statuses.items() if s >= 500 or s == 0]
    if five and checks.results[0][1]:
        checks.add("no 5xx while reading back", False, str(five))

    rss = None
    if API_PID:
        try:
            with open(f"/proc/{API_PID}/status") as status:
                rss = next(int(l.split()[1]) // 1024 for l in status if l.startswith("VmRSS"))
        except (OSError, StopIteration):
            pass
    return 0 if report(checks, duration, drained, during, graded, rss) else 1


if __name__ == "__main__":
    sys.exit(main())
