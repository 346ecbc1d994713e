"""`tessera dev` as a new user runs it (`make dev`): a fresh directory, the embedded SQLite and Redis, the
demo, the README's variables in var/dev.env, one clear line for a busy port, and Ctrl-C stopping everything
in order."""

from __future__ import annotations

import asyncio
import os
import signal
import socket
from pathlib import Path

import httpx
import pytest

from tests.app.test_redis_outage import free_port
from tests.processes import TESSERA

pytestmark = pytest.mark.slow


def fresh_env(var: Path, port: int) -> dict[str, str]:
    """What a new user's shell has: none of this session's servers or secrets."""
    env = {
        k: v
        for k, v in os.environ.items()
        if not k.startswith("TESSERA_") and k not in ("DATABASE_URL", "REDIS_URL", "JWT_SECRET")
    }
    return env | {"TESSERA_VAR_DIR": str(var), "TESSERA_PORT": str(port)}


async def test_dev_serves_the_demo_writes_dev_env_and_stops_cleanly_on_ctrl_c(tmp_path: Path) -> None:
    port = free_port()
    process = await asyncio.create_subprocess_exec(
        str(TESSERA),
        "dev",
        cwd=tmp_path,
        env=fresh_env(tmp_path / "var", port),
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
        env = dict(line.split("=", 1) for line in (tmp_path / "var" / "dev.env").read_text().splitlines())
        assert sorted(env) == ["CUSTOMER_ID", "CUSTOMER_TOKEN", "MARKETER_TOKEN", "TILL_KEY"]
        async with httpx.AsyncClient(base_url=f"http://127.0.0.1:{port}", timeout=30) as client:
            for _ in range(100):
                try:
                    response = await client.post(
                        "/graphql",
                        json={"query": "{ me { id } }"},
                        headers={"Authorization": f"Bearer {env['CUSTOMER_TOKEN']}"},
                    )
                    break
                except httpx.TransportError:
                    await asyncio.sleep(0.1)
            assert response.json() == {"data": {"me": {"id": env["CUSTOMER_ID"]}}}
    finally:
        process.send_signal(signal.SIGINT)  # what Ctrl-C sends
        rest, _ = await asyncio.wait_for(process.communicate(), 60)
    output += rest
    text = output.decode()
    assert process.returncode == 0, text
    assert "Traceback" not in text
    assert text.rstrip().endswith("stopped")


async def test_dev_reports_a_busy_port_in_one_line(tmp_path: Path) -> None:
    with socket.socket() as taken:
        taken.bind(("127.0.0.1", 0))
        taken.listen()
        port = taken.getsockname()[1]
        process = await asyncio.create_subprocess_exec(
            str(TESSERA),
            "dev",
            cwd=tmp_path,
            env=fresh_env(tmp_path / "var", port),
            stdin=asyncio.subprocess.DEVNULL,
            stdout=asyncio.subprocess.PIPE,
            stderr=asyncio.subprocess.PIPE,
        )
        out, err = await asyncio.wait_for(process.communicate(), 60)
    assert process.returncode == 1
    assert out == b""
    [line] = err.decode().splitlines()
    assert f"127.0.0.1:{port} is not available" in line
    assert f"TESSERA_PORT={port + 1}" in line
