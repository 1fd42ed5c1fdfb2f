"""The AWS Secrets Manager store against moto's server in a subprocess (real HTTP, real boto3)."""

from __future__ import annotations

import json
import socket
import subprocess
import sys
import time
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import boto3
import pytest

from microlib.core.errors import NotFound
from microlib.security.aws import AwsSecretStore
from microlib.security.secrets import Secrets

CREDENTIALS = {"aws_access_key_id": "testing", "aws_secret_access_key": "testing", "region_name": "us-east-1"}


@pytest.fixture(scope="module")
def moto() -> Iterator[str]:
    """moto_server on 127.0.0.1, on a port picked free."""
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        port = probe.getsockname()[1]
    binary = Path(sys.executable).with_name("moto_server")
    process = subprocess.Popen(
        [str(binary), "-H", "127.0.0.1", "-p", str(port)],
        stdout=subprocess.DEVNULL,
        stderr=subprocess.DEVNULL,
    )
    try:
        deadline = time.monotonic() + 30
        while True:
            try:
                socket.create_connection(("127.0.0.1", port), timeout=0.5).close()
                break
            except OSError:
                if time.monotonic() > deadline or process.poll() is not None:
                    raise RuntimeError("moto_server did not start") from None
                time.sleep(0.1)
        yield f"http://127.0.0.1:{port}"
    finally:
        process.terminate()
        process.wait(10)


@pytest.fixture(scope="module")
def client(moto: str) -> Any:
    """A secretsmanager client for moto."""
    return boto3.client("secretsmanager", endpoint_url=moto, **CREDENTIALS)


def test_whole_secret_and_json_key(client: Any) -> None:
    """aws:name reads the string; aws:name#key one JSON key."""
    client.create_secret(Name="prod/app", SecretString=json.dumps({"db_password": "pw", "user": "app"}))
    client.create_secret(Name="prod/plain", SecretString="plain-value")
    store = AwsSecretStore(client=client)
    assert store.read("prod/plain") == "plain-value"
    assert store.read("prod/app#db_password") == "pw"


def test_binary_secret(client: Any) -> None:
    """A SecretBinary secret is decoded as UTF-8."""
    client.create_secret(Name="prod/bin", SecretBinary=b"bin-value")
    assert AwsSecretStore(client=client).read("prod/bin") == "bin-value"


def test_not_found(client: Any) -> None:
    """A missing secret or key is NotFound."""
    store = AwsSecretStore(client=client)
    with pytest.raises(NotFound, match="aws:prod/absent"):
        store.read("prod/absent")
    client.create_secret(Name="prod/keys", SecretString='{"a": "1"}')
    with pytest.raises(NotFound, match="no key 'b'"):
        store.read("prod/keys#b")


async def test_rotation_detected(client: Any, moto: str, monkeypatch: pytest.MonkeyPatch) -> None:
    """put_secret_value (a rotation) is picked up by Secrets.refresh; the store builds its own client."""
    client.create_secret(Name="prod/rot", SecretString="v1")
    monkeypatch.setenv("AWS_ACCESS_KEY_ID", "testing")
    monkeypatch.setenv("AWS_SECRET_ACCESS_KEY", "testing")
    store = AwsSecretStore(region="us-east-1", endpoint_url=moto)
    secrets = Secrets([store], cache_ttl=3600)
    assert (await secrets.get("aws:prod/rot")).get_secret_value() == "v1"
    client.put_secret_value(SecretId="prod/rot", SecretString="v2")
    assert await secrets.refresh() == ["aws:prod/rot"]
    assert (await secrets.get("aws:prod/rot")).get_secret_value() == "v2"
