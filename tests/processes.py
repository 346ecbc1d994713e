"""Running the `tessera` command as a subprocess on this session's database and Redis."""

from __future__ import annotations

import asyncio
import os
import signal
import sys
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
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


def new_user_env() -> dict[str, str]:
    """A new user's shell: none of this session's servers or secrets, so `tessera dev` uses its own."""
    return {
        k: v
        for k, v in os.environ.items()
        if not k.startswith("TESSERA_") and k not in ("DATABASE_URL", "REDIS_URL", "JWT_SECRET")
    }


@dataclass
class Dev:
    printed: str  # up to its GraphiQL line
    text: str = ""  # all it printed, once stopped


@asynccontextmanager
async def dev_instance(directory: Path, port: int) -> AsyncIterator[Dev]:
    """`tessera dev` in an empty directory, as `make dev` runs it, until its GraphiQL line; then Ctrl-C, which
    must end it cleanly: exit 0, no traceback."""
    process = await asyncio.create_subprocess_exec(
        str(TESSERA),
        "dev",
        cwd=directory,
        env=new_user_env() | {"TESSERA_PORT": str(port)},
        stdin=asyncio.subprocess.DEVNULL,
        stdout=asyncio.subprocess.PIPE,
        stderr=asyncio.subprocess.STDOUT,
    )
    assert process.stdout is not None
    output = b""
    try:
        while b"GraphiQL" not in output:
            line = await asyncio.wait_for(process.stdout.readline(), 120)
            assert line, output.decode()
            output += line
        dev = Dev(output.decode())
        yield dev
    finally:
        if process.returncode is None:
            process.send_signal(signal.SIGINT)  # what Ctrl-C sends
        rest, _ = await asyncio.wait_for(process.communicate(), 60)
    dev.text = (output + rest).decode()
    assert process.returncode == 0, dev.text
    assert "Traceback" not in dev.text, dev.text
