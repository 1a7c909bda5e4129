# The harness that runs inside the jail. It receives one JSON line on stdin: the
# student's code and the test *inputs* (never the expected values), runs each test and
# writes one line per test, "<nonce><json>", on the result channel (the original fd 1).
# The student's own output is captured (capped) or sent to /dev/null. Anything printed
# here can be forged by the student's code, which runs in this process: the server only
# trusts these lines as "what the code produced" and compares them itself with expected
# values the jail never sees.
import ast, io, json, math, os, signal, sys

payload = json.loads(sys.stdin.readline())
NONCE = payload["nonce"]
OUT_CAP = payload["output_bytes"]
channel = os.fdopen(os.dup(1), "w", encoding="utf-8")
_null = os.open(os.devnull, os.O_WRONLY)
os.dup2(_null, 1)
os.dup2(_null, 2)
sys.stdin = io.StringIO("")


class TestTimeout(BaseException):
    pass


class OutputLimit(BaseException):
    pass


class Capped(io.StringIO):
    def __init__(self):
        super().__init__()
        self.size = 0

    def write(self, s):
        self.size += len(s)
        if self.size > OUT_CAP:
            raise OutputLimit()
        return super().write(s)


def on_alarm(signum, frame):
    raise TestTimeout()


signal.signal(signal.SIGALRM, on_alarm)


def send(obj):
    channel.write(NONCE + json.dumps(obj) + "\n")
    channel.flush()


def enc(v, depth=0):
    if depth > 40:
        raise ValueError("valeur trop imbriquée")
    t = type(v)
    if v is None or t is bool or t is str:
        return v
    if t is int:
        return v if abs(v) < 2**53 else {"int": str(v)}
    if t is float:
        return {"float": v} if math.isfinite(v) else {"float": repr(v)}
    if t is list:
        return [enc(x, depth + 1) for x in v]
    if t is tuple:
        return {"tuple": [enc(x, depth + 1) for x in v]}
    if t is dict:
        return {"dict": [[enc(k, depth + 1), enc(x, depth + 1)] for k, x in v.items()]}
    if t is set or t is frozenset:
        return {"set": [enc(x, depth + 1) for x in v]}
    return {"repr": repr(v)[:200]}


def short_repr(v):
    try:
        r = repr(v)
    except BaseException:
        r = "<valeur sans repr>"
    return r if len(r) <= 300 else r[:297] + "..."


def error_of(e):
    if isinstance(e, TestTimeout):
        return {"error": "timeout"}
    if isinstance(e, OutputLimit):
        return {"error": "output_limit"}
    try:
        msg = str(e)
    except BaseException:
        msg = ""
    return {"error": "exception", "type": type(e).__name__, "message": msg[:300]}


def limited(ms, fn):
    signal.setitimer(signal.ITIMER_REAL, ms / 1000.0)
    try:
        return fn()
    finally:
        signal.setitimer(signal.ITIMER_REAL, 0)


if payload.get("mode") == "literals":
    for i, text in enumerate(payload["literals"]):
        try:
            send({"i": i, "value": enc(ast.literal_eval(text)), "repr": short_repr(ast.literal_eval(text))})
        except BaseException as e:
            send({"i": i, **error_of(e)})
    sys.exit(0)

code = payload["code"]
tests = payload["tests"]
per_test = payload["per_test_ms"]
try:
    compiled = compile(code, "solution.py", "exec")
except SyntaxError as e:
    send({"compile_error": f"{type(e).__name__} ligne {e.lineno} : {e.msg}"})
    sys.exit(0)

namespace = None
module_error = None
for i, test in enumerate(tests):
    send({"i": i, "started": True})
    out = Capped()
    sys.stdout = out
    try:
        if test["kind"] == "stdout":
            sys.stdin = io.StringIO(test.get("stdin", ""))
            try:
                limited(per_test, lambda: exec(compiled, {"__name__": "__main__"}))
            except SystemExit:
                pass
            send({"i": i, "stdout": out.getvalue()})
            continue
        if namespace is None and module_error is None:
            namespace = {"__name__": "solution"}
            sys.stdin = io.StringIO("")
            try:
                limited(per_test, lambda: exec(compiled, namespace))
            except SystemExit:
                module_error = error_of(RuntimeError("sys.exit() appelé"))
            except BaseException as e:
                module_error = error_of(e)
        if module_error is not None:
            send({"i": i, **module_error})
            continue
        value = limited(per_test, lambda: eval(test["call"], namespace))
        send({"i": i, "value": enc(value), "repr": short_repr(value), "stdout": out.getvalue()[:2000]})
    except BaseException as e:
        if isinstance(e, SystemExit):
            e = RuntimeError("sys.exit() appelé")
        send({"i": i, **error_of(e), "stdout": out.getvalue()[:2000]})
    finally:
        sys.stdout = sys.__stdout__
sys.exit(0)
