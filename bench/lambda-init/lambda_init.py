#!/usr/bin/env python3
"""Cold-start benchmark of Lambda bootstraps under a local Lambda Runtime API emulator.

Python standard library only. `scripts/lambda.sh bench` runs it; by hand:

    python3 bench/lambda-init/lambda_init.py --runs 10 --out target/bench/lambda.md \
        --function api target/lambda-x86_64/api/bootstrap events/api-create-campaign.json \
                   target/lambda/api/bootstrap

For every function it starts the (host-architecture) bootstrap like Lambda does: a fresh process,
`AWS_LAMBDA_RUNTIME_API` pointing at the emulator, the `AWS_LAMBDA_*` variables, region and dummy
credentials, and `AWS_ENDPOINT_URL=http://127.0.0.1:9` (nothing listens there: the init phase must
not need the network). It measures

- init: process spawn -> the first `GET /2018-06-01/runtime/invocation/next` (what Lambda reports
  as "Init Duration"), median of --runs runs after one warm-up run that is not counted;
- RSS at that moment (`VmRSS` of /proc/<pid>/status, read before the event is served);
- first invoke (no backend): the first `/next` -> the `/response` or `/error` for the sample event.
  Without AWS that is usually an error after the SDK's retries, so it is reported with its outcome;
  it says how a handler fails without a backend, not how fast it is in AWS.
- peak RSS (`VmHWM`) once that first invoke has been answered.

The emulator (HTTP on 127.0.0.1, random port) serves

    GET  /2018-06-01/runtime/invocation/next           the event, with Lambda's headers
    POST /2018-06-01/runtime/invocation/{id}/response  202
    POST /2018-06-01/runtime/invocation/{id}/error     202
    POST /2018-06-01/runtime/init/error                202
    GET  /issuer/.well-known/openid-configuration      a JWKS discovery document, and
    GET  /issuer/jwks.json                             one public RSA key (RFC 7517, A.1),

so a function that fetches its issuer's keys at init (ws-authorizer, with JWT_ISSUER pointing
here) does that fetch for real, over loopback HTTP (no TLS, unlike AWS).
"""

from __future__ import annotations

import argparse
import json
import os
import platform
import shutil
import statistics
import subprocess
import sys
import tempfile
import threading
import time
import uuid
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer

API = "/2018-06-01/runtime"
NEXT = f"{API}/invocation/next"
INIT_ERROR = f"{API}/init/error"
ACCOUNT = "123456789012"
DEFAULT_EVENT = {"hello": "world"}
# RFC 7517, Appendix A.1: an example RSA public key (never used to verify anything here).
JWKS = {
    "keys": [
        {
            "kty": "RSA",
            "alg": "RS256",
            "use": "sig",
            "kid": "2011-04-29",
            "e": "AQAB",
            "n": "0vx7agoebGcQSuuPiLJXZptN9nndrQmbXEps2aiAFbWhM78LhWx4cbbfAAtVT86zwu1RK7aPFFxuhDR1L6tSoc_BJEC"
            "PebWKRXjBZCiFV4n3oknjhMstn64tZ_2W-5JsGY4Hc5n9yBXArwl93lqt7_RN5w6Cf0h4QyQ5v-65YGjQR0_FDW2Qvzq"
            "Y368QQMicAtaSqzs8KJZgnYb9c7d0zgdAZHzu6qMQvRL5hajrn1n91CbOpbISD08qNLyrdkt-bFTWhAI4vMQFh6WeZu0"
            "fM4lFd2NcRwr3XPksINHaQ-G_xBniIqbw0Ls1jF44-csFCur-kEgU8awapJzKnqDKgw",
        }
    ]
}
# Table and queue names: any names do, nothing is called during init.
RESOURCE_ENV = {
    "CAMPAIGNS_TABLE": "bench-campaigns",
    "PERSONAS_TABLE": "bench-personas",
    "PROXIES_TABLE": "bench-proxies",
    "DOMAINS_TABLE": "bench-domains",
    "IDEMPOTENCY_TABLE": "bench-idempotency",
    "CONNECTIONS_TABLE": "bench-connections",
    "SUBSCRIPTIONS_TABLE": "bench-subscriptions",
    "AUTOSTART_QUEUE_URL": f"http://127.0.0.1:9/{ACCOUNT}/bench-autostart",
    "PHASE_WORK_QUEUE_URL": f"http://127.0.0.1:9/{ACCOUNT}/bench-phase-work",
    "STREAM_FAILURE_QUEUE_URL": f"http://127.0.0.1:9/{ACCOUNT}/bench-stream-failures",
    "WS_MANAGEMENT_ENDPOINT": "http://127.0.0.1:9/bench",
    "DISCOVERY_CHUNK_SIZE": "1000",
    "AUTOSTART_BACKOFF_BASE_SECONDS": "2",
    "AUTOSTART_BACKOFF_CAP_SECONDS": "300",
    "AUTOSTART_MAX_RECEIVE_COUNT": "5",
    "JWT_AUDIENCE": "campaign-autostart",
}


def proc_cpu_ms(pid: int | None) -> float | None:
    """CPU time the process's threads have run so far (sum of `/proc/<pid>/task/*/schedstat`'s
    first field, ns). Unlike wall time it does not grow while the process waits for a core, so it
    stays comparable on a busy machine."""
    if pid is None:
        return None
    total = 0
    try:
        for tid in os.listdir(f"/proc/{pid}/task"):
            try:
                with open(f"/proc/{pid}/task/{tid}/schedstat") as f:
                    total += int(f.read().split()[0])
            except (OSError, ValueError, IndexError):
                pass
    except OSError:
        return None
    return total / 1e6


def proc_status_kib(pid: int | None, field: str) -> int | None:
    if pid is None:
        return None
    try:
        with open(f"/proc/{pid}/status") as f:
            for line in f:
                if line.startswith(field + ":"):
                    return int(line.split()[1])
    except OSError:
        return None
    return None


class Run:
    """One process start, with an emulator of its own (a fresh port), so that nothing a previous,
    stopped process had in flight can be taken for this one's requests. Filled in by the
    emulator's handler threads."""

    def __init__(self, event: bytes):
        self.event = event
        self.request_id = str(uuid.uuid4())
        self.pid: int | None = None
        self.pid_set = threading.Event()
        self.t_spawn = 0.0
        self.t_next: float | None = None
        self.rss_kib: int | None = None
        self.cpu_ms: float | None = None
        self.cpu_done_ms: float | None = None
        self.t_done: float | None = None
        self.hwm_kib: int | None = None
        self.outcome: str | None = None
        self.nexts = 0
        self.answered = threading.Event()  # response, error or init error received
        self.finished = threading.Event()  # the process has been stopped
        self.lock = threading.Lock()


class Emulator(ThreadingHTTPServer):
    daemon_threads = True
    allow_reuse_address = True

    def __init__(self, run: Run, function_name: str):
        super().__init__(("127.0.0.1", 0), Handler)
        self.run = run
        self.function_name = function_name

    def handle_error(self, request, client_address):
        pass  # a process stopped in the middle of a request: expected

    @property
    def address(self) -> str:
        return f"127.0.0.1:{self.server_address[1]}"


class Handler(BaseHTTPRequestHandler):
    server: Emulator
    protocol_version = "HTTP/1.1"
    # Headers and body leave in two writes: without TCP_NODELAY the body waits for the client's
    # delayed ACK (40 ms on Linux), which would show up as init time of any function that makes
    # a request to the emulator during init (ws-authorizer's JWKS fetch).
    disable_nagle_algorithm = True

    def log_message(self, *args):  # quiet
        pass

    def _send(self, status: int, body: bytes = b"", headers: dict[str, str] | None = None):
        self.send_response(status)
        for k, v in (headers or {}).items():
            self.send_header(k, v)
        self.send_header("Content-Length", str(len(body)))
        self.end_headers()
        if body:
            self.wfile.write(body)
        self.wfile.flush()

    def do_GET(self):
        now = time.perf_counter()
        path = self.path.split("?", 1)[0]
        run = self.server.run
        if path == NEXT and run is not None:
            with run.lock:
                run.nexts += 1
                first = run.nexts == 1
                if first:
                    run.t_next = now
                    run.pid_set.wait(5)
                    run.rss_kib = proc_status_kib(run.pid, "VmRSS")
                    run.cpu_ms = proc_cpu_ms(run.pid)
            if not first:
                # The runtime asks for the next event after answering the first: hold it until
                # the process is stopped (a frozen sandbox, as far as the runtime can tell).
                run.finished.wait(60)
                self.close_connection = True
                return
            deadline_ms = int(time.time() * 1000) + 10_000
            name = self.server.function_name
            self._send(
                200,
                run.event,
                {
                    "Content-Type": "application/json",
                    "Lambda-Runtime-Aws-Request-Id": run.request_id,
                    "Lambda-Runtime-Deadline-Ms": str(deadline_ms),
                    "Lambda-Runtime-Invoked-Function-Arn": f"arn:aws:lambda:us-east-1:{ACCOUNT}:function:{name}",
                    "Lambda-Runtime-Trace-Id": f"Root=1-{int(time.time()):08x}-{uuid.uuid4().hex[:24]};Parent={uuid.uuid4().hex[:16]};Sampled=0",
                },
            )
            return
        if path == "/issuer/.well-known/openid-configuration":
            doc = {
                "issuer": f"http://{self.server.address}/issuer",
                "jwks_uri": f"http://{self.server.address}/issuer/jwks.json",
            }
            self._send(200, json.dumps(doc).encode(), {"Content-Type": "application/json"})
            return
        if path == "/issuer/jwks.json":
            self._send(200, json.dumps(JWKS).encode(), {"Content-Type": "application/json"})
            return
        self._send(404, b'{"message":"not found"}', {"Content-Type": "application/json"})

    def do_POST(self):
        length = int(self.headers.get("Content-Length") or 0)
        body = self.rfile.read(length) if length else b""
        now = time.perf_counter()
        path = self.path.split("?", 1)[0]
        run = self.server.run
        prefix = f"{API}/invocation/"
        if run is not None and path == INIT_ERROR:
            run.t_done = now
            run.outcome = "init error: " + describe_error(body, self.headers)
            self._send(202, b'{"status":"OK"}', {"Content-Type": "application/json"})
            run.answered.set()
            return
        if run is not None and path.startswith(prefix) and path.endswith(("/response", "/error")):
            request_id, kind = path[len(prefix) :].rsplit("/", 1)
            if request_id == run.request_id and run.t_done is None:
                run.t_done = now
                run.hwm_kib = proc_status_kib(run.pid, "VmHWM")
                run.cpu_done_ms = proc_cpu_ms(run.pid)
                run.outcome = (
                    describe_response(body) if kind == "response" else "error: " + describe_error(body, self.headers)
                )
            self._send(202, b'{"status":"OK"}', {"Content-Type": "application/json"})
            run.answered.set()
            return
        self._send(404, b'{"message":"not found"}', {"Content-Type": "application/json"})


def describe_error(body: bytes, headers) -> str:
    """`errorType` (the runtime puts a Rust type name there for boxed errors: shortened) and the
    start of `errorMessage`."""
    try:
        doc = json.loads(body)
    except ValueError:
        doc = {}
    if not isinstance(doc, dict):
        doc = {}
    kind = str(doc.get("errorType") or headers.get("Lambda-Runtime-Function-Error-Type") or "?")
    if "dyn " in kind:
        kind = "boxed error"
    message = " ".join(str(doc.get("errorMessage") or "").split())
    if len(message) > 40:
        message = message[:40] + "…"
    return f"{kind} ({message})" if message else kind


def describe_response(body: bytes) -> str:
    try:
        doc = json.loads(body)
    except ValueError:
        return "response"
    if isinstance(doc, dict) and "statusCode" in doc:
        return f"response {doc['statusCode']}"
    if isinstance(doc, dict) and "batchItemFailures" in doc:
        return f"response ({len(doc['batchItemFailures'])} batch item failures)"
    return "response"


def run_env(emulator: Emulator, name: str, home: str) -> dict[str, str]:
    env = {
        "PATH": "/usr/local/bin:/usr/bin:/bin",
        "HOME": home,  # empty: no ~/.aws profile, as in Lambda
        "LANG": "C.UTF-8",
        "TZ": ":UTC",
        "AWS_LAMBDA_RUNTIME_API": emulator.address,
        "AWS_LAMBDA_FUNCTION_NAME": name,
        "AWS_LAMBDA_FUNCTION_VERSION": "$LATEST",
        "AWS_LAMBDA_FUNCTION_MEMORY_SIZE": "128",
        "AWS_LAMBDA_LOG_GROUP_NAME": f"/aws/lambda/{name}",
        "AWS_LAMBDA_LOG_STREAM_NAME": "2026/01/01/[$LATEST]bench",
        "AWS_LAMBDA_INITIALIZATION_TYPE": "on-demand",
        "AWS_EXECUTION_ENV": "AWS_Lambda_provided.al2023",
        "LAMBDA_TASK_ROOT": home,
        "LAMBDA_RUNTIME_DIR": home,
        "_HANDLER": "bootstrap",
        "AWS_REGION": "us-east-1",
        "AWS_DEFAULT_REGION": "us-east-1",
        "AWS_ACCESS_KEY_ID": "AKIDBENCHBENCHBENCH0",
        "AWS_SECRET_ACCESS_KEY": "bench-secret-key-bench-secret-key-bench0",
        "AWS_SESSION_TOKEN": "bench-session-token",
        "AWS_ENDPOINT_URL": "http://127.0.0.1:9",
        "AWS_EC2_METADATA_DISABLED": "true",
        "RUST_LOG": "info",
        "JWT_ISSUER": f"http://{emulator.address}/issuer",
    }
    env.update(RESOURCE_ENV)
    return env


def one_run(name: str, bootstrap: str, extra_env: dict[str, str], event: bytes, home: str, log_path: str,
            timeout: float) -> Run:
    run = Run(event)
    emulator = Emulator(run, name)
    threading.Thread(target=emulator.serve_forever, daemon=True).start()
    env = run_env(emulator, name, home)
    env.update(extra_env)
    try:
        run_process(run, bootstrap, env, home, log_path, timeout)
    finally:
        emulator.shutdown()
        emulator.server_close()
    return run


def run_process(run: Run, bootstrap: str, env: dict[str, str], cwd: str, log_path: str, timeout: float):
    with open(log_path, "wb") as log:
        run.t_spawn = time.perf_counter()
        proc = subprocess.Popen([bootstrap], env=env, cwd=cwd, stdout=log, stderr=subprocess.STDOUT)
        run.pid = proc.pid
        run.pid_set.set()
        end = time.perf_counter() + timeout
        while not run.answered.wait(0.02):
            if proc.poll() is not None or time.perf_counter() > end:
                break
        if run.outcome is None:
            code = proc.poll()
            if run.t_next is None:
                run.outcome = f"exited with {code} before /next" if code is not None else "no /next (timeout)"
            else:
                run.outcome = f"exited with {code} during the invoke" if code is not None else "no answer (timeout)"
        proc.kill()
        proc.wait()
        run.finished.set()


def p10(values: list[float]) -> float | None:
    """The 10th percentile (nearest rank): on a busy machine the median measures the scheduler;
    the fastest runs are the ones that ran undisturbed."""
    if not values:
        return None
    ordered = sorted(values)
    return ordered[max(0, -(-len(ordered) * 10 // 100) - 1)]


def mib(kib: float | None) -> str:
    return "—" if kib is None else f"{kib / 1024:.1f}"


def size_mib(path: str | None) -> str:
    if not path or not os.path.isfile(path):
        return "— (not built)"
    size = os.path.getsize(path)
    return f"{size / 1048576:.1f} MiB ({size:,} B)"


def main() -> int:
    ap = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    ap.add_argument("--runs", type=int, default=10, help="measured runs per function (after one warm-up)")
    ap.add_argument("--timeout", type=float, default=30.0, help="seconds to wait for one run")
    ap.add_argument("--out", help="also write the markdown report here")
    ap.add_argument("--json", help="also write the raw numbers here")
    ap.add_argument("--log-dir", help="keep each function's output of its last run here")
    ap.add_argument(
        "--function",
        nargs=4,
        action="append",
        required=True,
        metavar=("NAME", "BOOTSTRAP", "EVENT", "ARM64_BOOTSTRAP"),
        help="EVENT '-' sends {\"hello\": \"world\"}; ARM64_BOOTSTRAP only gives the size column",
    )
    args = ap.parse_args()

    home = tempfile.mkdtemp(prefix="lambda-init-")
    log_dir = args.log_dir or home
    os.makedirs(log_dir, exist_ok=True)
    load_before = os.getloadavg()
    results = []
    try:
        for label, bootstrap, event_path, arm64 in args.function:
            # LABEL is the function name, or NAME+VAR=VALUE,... to start it with more variables.
            name, _, extra = label.partition("+")
            extra_env = dict(kv.split("=", 1) for kv in extra.split(",")) if extra else {}
            event = json.dumps(DEFAULT_EVENT).encode() if event_path == "-" else open(event_path, "rb").read()
            log_path = os.path.join(log_dir, f"{name}{'+' if extra else ''}{'_'.join(extra_env)}.log")
            runs = [one_run(name, bootstrap, extra_env, event, home, log_path, args.timeout) for _ in range(args.runs + 1)]
            runs = runs[1:]  # the first run warms the page cache and is not counted
            ok = [r for r in runs if r.t_next is not None]
            init_ms = [(r.t_next - r.t_spawn) * 1000 for r in ok]
            invoke_ms = [(r.t_done - r.t_next) * 1000 for r in ok if r.t_done is not None]
            outcomes = sorted({r.outcome or "?" for r in runs})
            res = {
                "function": name + (" (" + ", ".join(f"{k}={v}" for k, v in extra_env.items()) + ")" if extra else ""),
                "arm64_bootstrap": arm64,
                "arm64_bytes": os.path.getsize(arm64) if os.path.isfile(arm64) else None,
                "x86_64_bytes": os.path.getsize(bootstrap),
                "runs": len(runs),
                "init_ms": init_ms,
                "init_ms_p50": statistics.median(init_ms) if init_ms else None,
                "init_ms_p10": p10(init_ms),
                "init_cpu_ms": [r.cpu_ms for r in ok],
                "init_cpu_ms_p50": statistics.median([r.cpu_ms for r in ok if r.cpu_ms is not None] or [0]) or None,
                "first_invoke_cpu_ms_p50": statistics.median(
                    [r.cpu_done_ms - r.cpu_ms for r in ok if r.cpu_ms is not None and r.cpu_done_ms is not None] or [0]
                )
                or None,
                "rss_kib": [r.rss_kib for r in ok],
                "rss_kib_p50": statistics.median([r.rss_kib for r in ok if r.rss_kib]) if ok else None,
                "first_invoke_ms": invoke_ms,
                "first_invoke_ms_p50": statistics.median(invoke_ms) if invoke_ms else None,
                "peak_rss_kib_p50": statistics.median([r.hwm_kib for r in ok if r.hwm_kib] or [0]) or None,
                "outcomes": outcomes,
            }
            results.append(res)
            p50 = res["init_ms_p50"]
            print(
                f"{res['function']}: init p50 {p50:.1f} ms (p10 {res['init_ms_p10']:.1f}, CPU {res['init_cpu_ms_p50'] or 0:.1f}), RSS {mib(res['rss_kib_p50'])} MiB, first invoke {outcomes}"
                if p50 is not None
                else f"{res['function']}: FAILED {outcomes}",
                file=sys.stderr,
                flush=True,
            )
    finally:
        if not args.log_dir:
            shutil.rmtree(home, ignore_errors=True)
    load_after = os.getloadavg()

    cpu = "?"
    try:
        with open("/proc/cpuinfo") as f:
            cpu = next((line.split(":", 1)[1].strip() for line in f if line.startswith("model name")), "?")
    except OSError:
        pass
    lines = [
        "| function | arm64 bootstrap size | x86_64 init ms (p50) | init p10 ms | init min–max ms | init CPU ms (p50) | "
        "RSS MiB at init | first invoke (no backend) p50 ms | first invoke CPU ms (p50) | outcome | peak RSS MiB |",
        "|---|---:|---:|---:|---:|---:|---:|---:|---:|---|---:|",
    ]
    for r in results:
        init = r["init_ms"]
        lines.append(
            "| {f} | {size} | {p50} | {p10} | {rng} | {cpu} | {rss} | {inv} | {invcpu} | {out} | {hwm} |".format(
                f=r["function"],
                size=size_mib(r["arm64_bootstrap"]),
                p50=f"{r['init_ms_p50']:.1f}" if r["init_ms_p50"] is not None else "failed",
                p10=f"{r['init_ms_p10']:.1f}" if r["init_ms_p10"] is not None else "—",
                rng=f"{min(init):.1f}–{max(init):.1f}" if init else "—",
                cpu=f"{r['init_cpu_ms_p50']:.1f}" if r["init_cpu_ms_p50"] is not None else "—",
                invcpu=f"{r['first_invoke_cpu_ms_p50']:.1f}" if r["first_invoke_cpu_ms_p50"] is not None else "—",
                rss=mib(r["rss_kib_p50"]),
                inv=f"{r['first_invoke_ms_p50']:.0f}" if r["first_invoke_ms_p50"] is not None else "—",
                out=", ".join(r["outcomes"]),
                hwm=mib(r["peak_rss_kib_p50"]),
            )
        )
    table = "\n".join(lines)
    header = (
        f"Lambda cold start, measured {time.strftime('%Y-%m-%d %H:%M UTC', time.gmtime())} on "
        f"{platform.machine()}, {os.cpu_count()} cores ({cpu}), load average {load_before[0]:.2f} before / "
        f"{load_after[0]:.2f} after; {args.runs} runs per function after one warm-up. Init = process spawn "
        "→ first `/next` of the Runtime API; init CPU = CPU time of all its threads until then; RSS = VmRSS at that moment; sizes of the arm64 bootstraps "
        "(cross-compiled; the x86_64 ones ran)."
    )
    print(header)
    print()
    print(table)
    if args.out:
        os.makedirs(os.path.dirname(os.path.abspath(args.out)), exist_ok=True)
        with open(args.out, "w") as f:
            f.write(header + "\n\n" + table + "\n")
    if args.json:
        os.makedirs(os.path.dirname(os.path.abspath(args.json)), exist_ok=True)
        with open(args.json, "w") as f:
            json.dump({"load_before": load_before, "load_after": load_after, "results": results}, f, indent=2)
    return 0 if all(r["init_ms_p50"] is not None for r in results) else 1


if __name__ == "__main__":
    sys.exit(main())
