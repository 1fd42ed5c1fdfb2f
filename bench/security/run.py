"""Cost of authentication: the same call with auth on (RS256, cached JWKS) and off.

Two levels, each in interleaved rounds, medians and on/off ratios:

* chain: ``compose([authn, authz], handler)`` against ``compose([], handler)``
  in-process, CallContexts of kind ``http`` and ``grpc`` (the interceptors
  are transport-neutral; the gRPC server is not on main yet);
* http: the service over real HTTP (uvicorn), driven by ``wrk`` pinned to
  another core than the server; besides throughput it reports the server's
  CPU time per request (from /proc), which other load on a shared machine
  disturbs much less than throughput.

"auth" keeps the verified-token cache (the default); "auth-nocache" disables
it, so every call checks the RS256 signature.

    .venv/bin/python bench/security/run.py --rounds 7 --seconds 5
"""

from __future__ import annotations

import argparse
import asyncio
import os
import re
import socket
import statistics
import subprocess
import sys
import threading
import time
import urllib.request
from collections.abc import Callable
from pathlib import Path
from typing import Any

import jwt
import uvicorn
from cryptography.hazmat.primitives.asymmetric import rsa
from starlette.applications import Starlette
from starlette.responses import JSONResponse
from starlette.routing import Route

from microlib.core.chain import CallNext, compose
from microlib.core.context import CallContext, CallKind
from microlib.security import Security, SecuritySettings

ROOT = Path(__file__).resolve().parents[2]
ISSUER = "https://issuer.bench"
AUDIENCE = "api://bench"
KEY = rsa.generate_private_key(public_exponent=65537, key_size=2048)
JWK = {**jwt.algorithms.RSAAlgorithm.to_jwk(KEY.public_key(), as_dict=True), "kid": "k1", "alg": "RS256"}


def token() -> str:
    now = int(time.time())
    claims = {
        "iss": ISSUER,
        "aud": AUDIENCE,
        "sub": "bench",
        "iat": now,
        "exp": now + 3600,
        "scope": "books.read",
    }
    return jwt.encode(claims, KEY, algorithm="RS256", headers={"kid": "k1"})


def jwks_server() -> tuple[str, Callable[[], None]]:
    app = Starlette(routes=[Route("/jwks", lambda _: JSONResponse({"keys": [JWK]}))])
    server = uvicorn.Server(
        uvicorn.Config(app, host="127.0.0.1", port=0, log_level="warning", lifespan="off")
    )
    thread = threading.Thread(target=server.run, daemon=True)
    thread.start()
    while not server.started:
        time.sleep(0.01)
    port = server.servers[0].sockets[0].getsockname()[1]

    def stop() -> None:
        server.should_exit = True
        thread.join(10)

    return f"http://127.0.0.1:{port}/jwks", stop


def settings(jwks_url: str, cache_size: int) -> SecuritySettings:
    issuer = {"issuer": ISSUER, "jwks_url": jwks_url, "audiences": [AUDIENCE], "algorithms": ["RS256"]}
    return SecuritySettings.model_validate({"issuers": [issuer], "verify_cache_size": cache_size})


async def chain_bench(jwks_url: str, rounds: int, calls: int) -> None:
    async def handler(ctx: CallContext) -> dict[str, str]:
        return {"id": "1"}

    bearer = f"Bearer {token()}"
    variants: dict[str, CallNext] = {"off": compose([], handler)}
    started: list[Security] = []
    for name, size in (("auth", 4096), ("auth-nocache", 0)):
        security = Security.from_settings(settings(jwks_url, size))
        for component in security.components:
            await component.start()
        started.append(security)
        variants[name] = compose([security.authn, security.authz], handler)

    async def once(run: CallNext, kind: CallKind) -> float:
        begin = time.perf_counter()
        for _ in range(calls):
            await run(CallContext(kind=kind, service="shop.v1.Books", method="GetBook",
                                  metadata={"authorization": bearer}))  # fmt: skip
        return (time.perf_counter() - begin) / calls

    kinds: tuple[CallKind, ...] = ("http", "grpc")
    for kind in kinds:
        timings: dict[str, list[float]] = {name: [] for name in variants}
        for run in variants.values():
            await once(run, kind)  # warm up
        for _ in range(rounds):
            for name, run in variants.items():
                timings[name].append(await once(run, kind))
        report(
            f"chain/{kind}", {name: 1 / statistics.median(t) for name, t in timings.items()}, unit="calls/s"
        )
    for security in started:
        for component in security.components:
            await component.stop()


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        port: int = s.getsockname()[1]
        return port


def start_server(
    mode: str, jwks_url: str, cache_size: int, cpu: str | None
) -> tuple[subprocess.Popen[bytes], str]:
    port = free_port()
    script = str(ROOT / "bench/security/server.py")
    cmd = [sys.executable, script, str(port), mode, jwks_url, ISSUER, AUDIENCE, str(cache_size)]
    if cpu:
        cmd = ["taskset", "-c", cpu, *cmd]
    proc = subprocess.Popen(cmd, cwd=ROOT, env={**os.environ, "PYTHONPATH": str(ROOT)},
                            stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)  # fmt: skip
    deadline = time.monotonic() + 30
    while True:
        if proc.poll() is not None or time.monotonic() > deadline:
            raise RuntimeError(f"server {mode} did not start")
        try:
            with urllib.request.urlopen(f"http://127.0.0.1:{port}/health/ready", timeout=1):
                break
        except OSError:  # URLError, a refused connection, or a reply slower than the timeout
            time.sleep(0.05)
    return proc, f"http://127.0.0.1:{port}/books/1"


def cpu_seconds(pid: int) -> float:
    """User + system CPU time of a process (robust to other load on the machine)."""
    fields = Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()
    return (int(fields[11]) + int(fields[12])) / os.sysconf("SC_CLK_TCK")


def wrk(url: str, seconds: int, connections: int, cpu: str | None, bearer: str) -> float:
    cmd = ["wrk", "-t1", f"-c{connections}", f"-d{seconds}s", "-H", f"Authorization: {bearer}", url]
    if cpu:
        cmd = ["taskset", "-c", cpu, *cmd]
    out = subprocess.run(cmd, capture_output=True, text=True, check=True).stdout
    if "Non-2xx" in out:
        raise RuntimeError(f"non-2xx responses:\n{out}")
    match = re.search(r"Requests/sec:\s+([\d.]+)", out)
    if match is None:
        raise RuntimeError(out)
    return float(match.group(1))


def http_bench(jwks_url: str, rounds: int, seconds: int, connections: int, server_cpu: str | None,
               load_cpu: str | None) -> None:  # fmt: skip
    bearer = f"Bearer {token()}"
    servers: dict[str, tuple[subprocess.Popen[bytes], str]] = {}
    try:
        for name, mode, size in (("off", "off", 4096), ("auth", "on", 4096), ("auth-nocache", "on", 0)):
            servers[name] = start_server(mode, jwks_url, size, server_cpu)
        for _, url in servers.values():
            wrk(url, 1, connections, load_cpu, bearer)  # warm up
        results: dict[str, list[float]] = {name: [] for name in servers}
        cpu_per_request: dict[str, list[float]] = {name: [] for name in servers}
        for _ in range(rounds):
            for name, (proc, url) in servers.items():
                before = cpu_seconds(proc.pid)
                rate = wrk(url, seconds, connections, load_cpu, bearer)
                results[name].append(rate)
                cpu_per_request[name].append((cpu_seconds(proc.pid) - before) / (rate * seconds))
        report("http", {name: statistics.median(r) for name, r in results.items()}, unit="req/s")
        report(
            "http/cpu",
            {name: 1 / statistics.median(c) for name, c in cpu_per_request.items()},
            unit="req/CPU-s",
        )
        for name, c in cpu_per_request.items():
            print(f"{'http/cpu':12} {name:13} {statistics.median(c) * 1e6:12.1f} server CPU-us per request")
    finally:
        for proc, _ in servers.values():
            proc.terminate()
            proc.wait(30)


def report(label: str, throughput: dict[str, float], *, unit: str) -> None:
    base = throughput["off"]
    for name, value in throughput.items():
        ratio = value / base
        print(
            f"{label:12} {name:13} {value:12,.0f} {unit}  ratio {ratio:5.3f}  cost {100 * (1 - ratio):5.1f}%"
        )


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--rounds", type=int, default=7)
    parser.add_argument("--calls", type=int, default=20_000, help="calls per chain round")
    parser.add_argument("--seconds", type=int, default=5, help="seconds per wrk round")
    parser.add_argument("--connections", type=int, default=16)
    parser.add_argument("--server-cpu", default="1")
    parser.add_argument("--load-cpu", default="0")
    parser.add_argument("--skip-http", action="store_true")
    args: Any = parser.parse_args()
    jwks_url, stop = jwks_server()
    try:
        asyncio.run(chain_bench(jwks_url, args.rounds, args.calls))
        if not args.skip_http:
            http_bench(jwks_url, args.rounds, args.seconds, args.connections, args.server_cpu or None,
                       args.load_cpu or None)  # fmt: skip
    finally:
        stop()


if __name__ == "__main__":
    main()
