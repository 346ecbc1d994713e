"""Running the `tessera` command as a subprocess on this session's database and Redis."""

from __future__ import annotations

import asyncio
import os
import sys
from dataclasses import dataclass
from pathlib import Path

from app.settings import Settings

TESSERA = Path(sys.executable).with_name("tessera")  # the console script of this venv


def tessera_env(settings: Settings, **extra: str) -> dict[str, str]:
    """The environment of a `tessera` subprocess: this session's servers, none of the caller's TESSERA_*."""
    env = {k: v for k, v in os.environ.items() if not k.startswith("TESSERA_")}
    env.update(
        DATABASE_URL=settings.database_url,
        REDIS_URL=settings.redis_url,
        TESSERA_VAR_DIR=str(settings.var_dir),
        JWT_SECRET=settings.jwt_secret,
    )
    env.update(extra)
    return env


@dataclass(frozen=True)
class Run:
    returncode: int
    stdout: str
    stderr: str

    @property
    def last_line(self) -> str:
        lines = self.stdout.strip().splitlines()
        return lines[-1] if lines else ""


async def run_tessera(settings: Settings, *args: str, cwd: Path | None = None) -> Run:
    # Asynchronous: the API server under test runs on this event loop and must keep answering.
    process = await asyncio.create_subprocess_exec(
        str(TESSERA),
        *args,
        env=tessera_env(settings),
        cwd=cwd,
        stdin=asyncio.subprocess.DEVNULL,
        stdout=asyncio.subprocess.PIPE,
        stderr=asyncio.subprocess.PIPE,
    )
    out, err = await asyncio.wait_for(process.communicate(), 60)
    assert process.returncode is not None
    return Run(process.returncode, out.decode(), err.decode())
