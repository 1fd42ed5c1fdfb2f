"""Time ``load_config`` against pydantic-settings reading the same YAML file and environment.

Both load the framework's ``Settings`` shape from one YAML file plus two
environment variables. microlib does more per load (origins of every value,
interpolation, unknown-key checks, a full problem report), so the ratio is
the price of those features. Rounds are interleaved; medians are printed.

    PYTHONPATH=. python bench/config/load.py [--rounds 15] [--loops 200]
"""

from __future__ import annotations

import argparse
import os
import statistics
import tempfile
import time
from collections.abc import Callable
from pathlib import Path
from typing import Any

from pydantic_settings import (
    BaseSettings,
    PydanticBaseSettingsSource,
    SettingsConfigDict,
    YamlConfigSettingsSource,
)

from microlib.config import Settings, load_config
from microlib.config.model import (
    HealthSettings,
    HttpSettings,
    LifecycleSettings,
    LoggingSettings,
    ServiceSettings,
    ShutdownSettings,
)

YAML = """\
service:
  name: orders
http:
  port: 9000
  host: 127.0.0.1
logging:
  level: INFO
  levels:
    uvicorn.access: WARNING
features:
  new_checkout: true
"""
ENVIRON = {"MICROLIB__HTTP__BACKLOG": "100", "MICROLIB__LOGGING__LEVEL": "DEBUG"}


def peer_settings(path: Path) -> type[BaseSettings]:
    class PeerSettings(BaseSettings):
        model_config = SettingsConfigDict(env_prefix="MICROLIB__", env_nested_delimiter="__", yaml_file=path)

        service: ServiceSettings = ServiceSettings()
        http: HttpSettings = HttpSettings()
        lifecycle: LifecycleSettings = LifecycleSettings()
        shutdown: ShutdownSettings = ShutdownSettings()
        health: HealthSettings = HealthSettings()
        logging: LoggingSettings = LoggingSettings()
        features: dict[str, bool] = {}

        @classmethod
        def settings_customise_sources(
            cls, settings_cls: type[BaseSettings], *args: Any, **kwargs: Any
        ) -> tuple[PydanticBaseSettingsSource, ...]:
            env = kwargs["env_settings"]
            return (env, YamlConfigSettingsSource(settings_cls))

    return PeerSettings


def timed(function: Callable[[], object], loops: int) -> float:
    start = time.perf_counter()
    for _ in range(loops):
        function()
    return (time.perf_counter() - start) / loops


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--rounds", type=int, default=15)
    parser.add_argument("--loops", type=int, default=200)
    args = parser.parse_args()

    with tempfile.TemporaryDirectory() as folder:
        path = Path(folder) / "service.yaml"
        path.write_text(YAML, encoding="utf-8")
        os.environ.update(ENVIRON)
        peer = peer_settings(path)

        def ours() -> object:
            return load_config(Settings, files=[path], environ=ENVIRON)

        a, b = ours(), peer()
        assert a.settings.http.port == b.http.port == 9000  # type: ignore[attr-defined]
        assert a.settings.http.backlog == b.http.backlog == 100  # type: ignore[attr-defined]

        mine: list[float] = []
        theirs: list[float] = []
        for _ in range(args.rounds):
            mine.append(timed(ours, args.loops))
            theirs.append(timed(peer, args.loops))

    m, t = statistics.median(mine), statistics.median(theirs)
    print(f"microlib load_config      median {m * 1e3:8.3f} ms/load")
    print(f"pydantic-settings (peer)  median {t * 1e3:8.3f} ms/load")
    print(f"ratio microlib / peer     {m / t:8.2f}x")


if __name__ == "__main__":
    main()
