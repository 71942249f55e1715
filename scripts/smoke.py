#!/usr/bin/env python3
"""Smoke test of a running stack: the whole Full Auto flow, with a check at every step.

    scripts/smoke.sh HTTP_URL WS_URL TOKEN      (this file is what it runs)

HTTP_URL is the HTTP API (`ApiUrl` of the deployed stack, or the local gateway), WS_URL the
WebSocket API (`WebSocketUrl`), TOKEN a JWT the stack accepts (Cognito, or the local stack's
`POST /_local/token`). Steps:

 1. GET /health answers 200 {"status": "ok"};
 2. the WebSocket connects with ?token= and `subscribe` to "*" is answered `subscribed`;
 3. POST /campaigns creates a `full_sequence` campaign with a small discovery config
    (SMOKE_DOMAINS domains, default 40): 201, auto-start queued;
 4. `phase_auto_started` for discovery arrives over the WebSocket;
 5. GET /campaigns/{id}/status is polled until discovery is completed, with done = total;
 6. GET /campaigns/{id}/domains (every page) lists exactly SMOKE_DOMAINS distinct domains of the
    configured pattern;
 7. DELETE /campaigns/{id} answers 204 (retried while a later phase still runs: 409), and the
    campaign is gone (404).

Every step prints `ok …` or `FAIL …`; the first failed check ends the run with exit status 1.
Each wait gives up after SMOKE_TIMEOUT seconds (default 120). Needs Python 3.10+ and the
`websockets` package (pinned in scripts/requirements.txt).
"""

from __future__ import annotations

import asyncio
import json
import os
import re
import sys
import time
import urllib.error
import urllib.request
import uuid

from websockets.asyncio.client import connect
from websockets.exceptions import ConnectionClosed

DOMAINS = int(os.environ.get("SMOKE_DOMAINS", "40"))
TIMEOUT = float(os.environ.get("SMOKE_TIMEOUT", "120"))
PATTERN = {"constantString": "smoke", "variableLength": 2, "characterSet": "abcdefghij", "tlds": [".com", ".net"]}


class Failed(Exception):
    pass


def ok(msg: str) -> None:
    print(f"ok   {msg}", flush=True)


def check(cond: bool, msg: str) -> None:
    if not cond:
        raise Failed(msg)


class Api:
    def __init__(self, base: str, token: str):
        self.base = base.rstrip("/")
        self.token = token

    def call(self, method: str, path: str, body=None, headers=None, auth=True) -> tuple[int, dict, object]:
        data = None if body is None else json.dumps(body).encode()
        req = urllib.request.Request(self.base + path, data=data, method=method)
        if data is not None:
            req.add_header("Content-Type", "application/json")
        if auth:
            req.add_header("Authorization", f"Bearer {self.token}")
        for k, v in (headers or {}).items():
            req.add_header(k, v)
        try:
            with urllib.request.urlopen(req, timeout=30) as res:
                status, hdrs, raw = res.status, dict(res.headers), res.read()
        except urllib.error.HTTPError as e:
            status, hdrs, raw = e.code, dict(e.headers), e.read()
        except OSError as e:
            raise Failed(f"{method} {self.base}{path}: {e}") from e
        text = raw.decode("utf-8", "replace")
        try:
            parsed = json.loads(text) if text else None
        except ValueError:
            parsed = text
        return status, hdrs, parsed

    async def acall(self, *args, **kwargs):
        return await asyncio.to_thread(self.call, *args, **kwargs)


class Socket:
    """The WebSocket, read in the background; events are kept for `wait_for`."""

    def __init__(self, ws):
        self.ws = ws
        self.messages: list[dict] = []
        self.arrived = asyncio.Event()
        self.reader = asyncio.create_task(self._read())

    async def _read(self):
        try:
            async for raw in self.ws:
                try:
                    msg = json.loads(raw)
                except ValueError:
                    msg = {"type": "<not JSON>", "raw": raw}
                self.messages.append(msg)
                self.arrived.set()
        except ConnectionClosed:
            pass  # `wait_for` reports a socket that closed before what it waits for came
        finally:
            self.arrived.set()

    async def wait_for(self, pred, what: str) -> dict:
        deadline = time.monotonic() + TIMEOUT
        seen = 0
        while True:
            for m in self.messages[seen:]:
                if pred(m):
                    return m
            seen = len(self.messages)
            left = deadline - time.monotonic()
            if left <= 0 or self.reader.done():
                why = "the socket closed" if self.reader.done() else f"{TIMEOUT:.0f} s passed"
                types = [m.get("type") for m in self.messages]
                raise Failed(f"no {what} over the WebSocket ({why}); received {types}")
            self.arrived.clear()
            try:
                await asyncio.wait_for(self.arrived.wait(), left)
            except TimeoutError:
                pass


def discovery(status: dict) -> dict:
    for p in status.get("phases") or []:
        if p.get("phase") == "discovery":
            return p
    raise Failed(f"no discovery phase in {status}")


async def flow(api: Api, ws_url: str) -> str:
    status, _, body = await api.acall("GET", "/health", auth=False)
    check(status == 200 and body == {"status": "ok"}, f"GET /health: {status} {body}")
    ok("GET /health: 200 {\"status\":\"ok\"}")

    sep = "&" if "?" in ws_url else "?"
    try:
        ws = await asyncio.wait_for(connect(f"{ws_url}{sep}token={api.token}"), 30)
    except Exception as e:  # noqa: BLE001 - any connect failure is the check's failure
        raise Failed(f"WebSocket {ws_url}: {e}") from e
    async with ws:
        sock = Socket(ws)
        await ws.send(json.dumps({"action": "subscribe", "campaignId": "*"}))
        await sock.wait_for(lambda m: m.get("type") == "subscribed" and m.get("campaignId") == "*", "`subscribed` to *")
        ok("WebSocket connected, subscribed to every campaign of the caller")

        name = f"smoke {time.strftime('%Y-%m-%d %H:%M:%S')}"
        config = {"discovery": {"patternType": "prefix", "numDomains": DOMAINS, **PATTERN}, "personaIds": [], "proxyIds": []}
        started = time.monotonic()
        status, _, c = await api.acall(
            "POST", "/campaigns", {"name": name, "mode": "full_sequence", "config": config},
            headers={"Idempotency-Key": str(uuid.uuid4())},
        )
        check(status == 201 and isinstance(c, dict) and c.get("id"), f"POST /campaigns: {status} {c}")
        cid = c["id"]
        check(c.get("mode") == "full_sequence", f"created mode {c.get('mode')}")
        check((c.get("autoStart") or {}).get("status") == "queued", f"autoStart {c.get('autoStart')}")
        ok(f"POST /campaigns: 201, campaign {cid}, auto-start queued")
        try:
            await checks_after_create(api, sock, cid, started)
        except BaseException:
            # Best effort, so a failed run leaves nothing running (a running phase refuses delete).
            await api.acall("POST", f"/campaigns/{cid}/phases/discovery/stop")
            await api.acall("DELETE", f"/campaigns/{cid}")
            raise
    return cid


async def checks_after_create(api: Api, sock: Socket, cid: str, started: float) -> None:
    ev = await sock.wait_for(
        lambda m: m.get("type") == "phase_auto_started" and m.get("campaignId") == cid,
        f"phase_auto_started for {cid}",
    )
    check(ev.get("phase") == "discovery", f"phase_auto_started for phase {ev.get('phase')}")
    ok(f"phase_auto_started (discovery) over the WebSocket {time.monotonic() - started:.2f} s after the create")

    deadline = time.monotonic() + TIMEOUT
    while True:
        status, _, s = await api.acall("GET", f"/campaigns/{cid}/status")
        check(status == 200 and isinstance(s, dict), f"GET status: {status} {s}")
        d = discovery(s)
        check(d.get("status") not in ("failed", "stopped"), f"discovery {d.get('status')}: {d.get('error')}")
        if d.get("status") == "completed":
            break
        check(time.monotonic() < deadline, f"discovery not completed after {TIMEOUT:.0f} s: {d}")
        await asyncio.sleep(0.5)
    progress = d.get("progress") or {}
    check(progress == {"done": DOMAINS, "total": DOMAINS}, f"discovery progress {progress}")
    ok(f"status: discovery completed, {DOMAINS} of {DOMAINS}, {time.monotonic() - started:.2f} s after the create")

    domains: list = []
    cursor = None
    pages = 0
    for pages in range(1, 1000):
        path = f"/campaigns/{cid}/domains?limit=25" + (f"&cursor={cursor}" if cursor else "")
        status, _, page = await api.acall("GET", path)
        check(status == 200 and isinstance(page, dict), f"GET domains: {status} {page}")
        domains += page.get("items") or []
        cursor = page.get("nextCursor")
        if not cursor:
            break
    check(len(domains) == DOMAINS, f"{len(domains)} domains listed, expected {DOMAINS}")
    check(len(set(domains)) == DOMAINS, f"duplicate domains in {domains}")
    shape = re.compile(r"^[a-j]{2}smoke\.(com|net)$")
    bad = [d for d in domains if not isinstance(d, str) or not shape.match(d)]
    check(not bad, f"domains that do not follow the pattern: {bad[:5]}")
    ok(f"domains: exactly {DOMAINS} distinct, all <2 of a-j>smoke.com|net, over {pages} pages")

    deadline = time.monotonic() + TIMEOUT
    while True:
        status, _, body = await api.acall("DELETE", f"/campaigns/{cid}")
        if status == 204:
            break
        # Full Auto goes on to the next phase after discovery; while that runs, delete is refused.
        check(status == 409 and time.monotonic() < deadline, f"DELETE: {status} {body}")
        await asyncio.sleep(1)
    status, _, body = await api.acall("GET", f"/campaigns/{cid}")
    check(status == 404, f"GET after DELETE: {status} {body}")
    ok("DELETE: 204, then GET: 404")


def main() -> int:
    if len(sys.argv) != 4:
        print("usage: scripts/smoke.sh HTTP_URL WS_URL TOKEN", file=sys.stderr)
        return 2
    http_url, ws_url, token = sys.argv[1:]
    started = time.monotonic()
    try:
        cid = asyncio.run(flow(Api(http_url, token), ws_url))
    except Failed as e:
        print(f"FAIL {e}", flush=True)
        return 1
    print(f"smoke test passed in {time.monotonic() - started:.1f} s (campaign {cid}, {DOMAINS} domains)")
    return 0


if __name__ == "__main__":
    sys.exit(main())
