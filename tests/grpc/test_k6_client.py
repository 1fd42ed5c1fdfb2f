"""A non-Python client: k6 (grpc-go) discovers the service by reflection and calls it."""

from __future__ import annotations

import asyncio
import json
import os
import sys
from pathlib import Path

from microlib.grpc import GrpcServer

SCRIPT = """
import grpc from 'k6/net/grpc';
import { check } from 'k6';

const client = new grpc.Client();

export const options = { iterations: 1, vus: 1, thresholds: { checks: ['rate==1'] } };

export default function () {
  client.connect(__ENV.ADDR, { plaintext: true, reflect: true });
  const ok = client.invoke('echotest.v1.EchoService/Echo', { message: 'from k6', count: 2 });
  check(ok, { 'echoed': (r) => r.status === grpc.StatusOK && r.message.message === 'from k6' });
  const bad = client.invoke('echotest.v1.EchoService/Echo', { count: 500 });
  check(bad, { 'invalid': (r) => r.status === grpc.StatusInvalidArgument });
  console.log(JSON.stringify({ ok: ok.message, bad: bad.error }));
  client.close();
}
"""


async def test_k6_reflects_and_calls(server: GrpcServer, tmp_path: Path) -> None:
    """k6 resolves the service through reflection, gets a reply and a validation error."""
    script = tmp_path / "reflect.js"
    script.write_text(SCRIPT)
    k6 = Path(sys.executable).parent / "k6"
    proc = await asyncio.create_subprocess_exec(
        str(k6),
        "run",
        "--quiet",
        "--no-usage-report",
        "--log-format=raw",
        str(script),
        env={**os.environ, "ADDR": f"127.0.0.1:{server.port}", "K6_NO_USAGE_REPORT": "true"},
        stdout=asyncio.subprocess.PIPE,
        stderr=asyncio.subprocess.PIPE,
    )
    out, err = await asyncio.wait_for(proc.communicate(), 60)
    assert proc.returncode == 0, (out + err).decode()
    logged = json.loads(err.decode().strip().splitlines()[-1])
    assert logged["ok"]["message"] == "from k6"
    assert logged["ok"]["index"] == 2
    assert logged["bad"]["code"] == 3
