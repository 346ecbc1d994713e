"""`tessera dev` as a new user runs it (`make dev`): a fresh directory, the embedded SQLite and Redis, the
demo, the README's variables in var/dev.env, one clear line for a busy port, and Ctrl-C stopping everything
in order."""

from __future__ import annotations

import asyncio
import socket
from pathlib import Path

import httpx
import pytest

from tests.app.test_redis_outage import free_port
from tests.processes import TESSERA, dev_instance, new_user_env

pytestmark = pytest.mark.slow


async def test_dev_serves_the_demo_writes_dev_env_and_stops_cleanly_on_ctrl_c(tmp_path: Path) -> None:
    port = free_port()
    async with dev_instance(tmp_path, port) as dev:
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
    # dev_instance checked the exit: 0, no traceback.
    assert dev.text.rstrip().endswith("stopped")


async def test_dev_reports_a_busy_port_in_one_line(tmp_path: Path) -> None:
    with socket.socket() as taken:
        taken.bind(("127.0.0.1", 0))
        taken.listen()
        port = taken.getsockname()[1]
        process = await asyncio.create_subprocess_exec(
            str(TESSERA),
            "dev",
            cwd=tmp_path,
            env=new_user_env() | {"TESSERA_PORT": str(port)},
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
