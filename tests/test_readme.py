"""Every example of README.md, in document order, against a fresh `tessera dev` started as a new user starts
it (an empty directory, the embedded SQLite and Redis, the variables of var/dev.env), so that the README
cannot drift from what the server does.

The conventions the examples follow (the README says them to its readers after `set -a; . var/dev.env`):
- a ```graphql block's operations each run under the header of the nearest header line above them in the
  block: `# Authorization: Bearer $NAME`, `# X-API-Key: $NAME` or `# No header`; a block must open with one;
- `$NAME` (capitals) in an operation stands for a variable of var/dev.env, or for one set by an earlier
  example with `# sets $NAME from path.to.field` (`0` indexes a list) on that example's lines or the comment
  lines below it;
- `# fails with CODE [REASON]` there: the operation shows an error, with that `extensions.code` (and
  `extensions.reason`); `once the worker has run` in such a comment: what the operation reads is a job's
  work, so it is asked again (for up to 30 s) until its answer is as expected;
- ```sh blocks run in bash in the instance's directory with those variables exported; lines starting with
  `$ ` are commands whose sample output follows; a curl's JSON answer must carry no `errors`;
- ```json blocks are either a rule (run as a draft challenge's rule) or an error (its code and reason must
  be in the README's tables);
- `<!-- readme-test: skip (why) -->` on the line above a fence: the block is not run (kept for what cannot
  run here, such as `make dev` itself); `<!-- readme-test: make dev prints -->`: each of its lines, up to its
  first `…`, is in what `tessera dev` printed.
"""

from __future__ import annotations

import asyncio
import json
import os
import re
import subprocess
from contextlib import suppress
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import graphql
import httpx
import pytest
from websockets.asyncio.client import ClientConnection, connect
from websockets.typing import Subprotocol

from tests.app.test_redis_outage import free_port
from tests.processes import TESSERA, dev_instance, new_user_env

pytestmark = pytest.mark.slow

ROOT = Path(__file__).resolve().parents[1]
README = ROOT / "README.md"
SCHEMA = ROOT / "schema.graphql"

MARKER = re.compile(r"^<!-- readme-test: (?P<what>.*?) -->$")
HEADER = re.compile(
    r"^\s*#\s*(?:(?P<name>Authorization): Bearer \$(?P<token>\w+)|(?P<key>X-API-Key): \$(?P<secret>\w+)"
    r"|(?P<none>No header))"
)
SETS = re.compile(r"#.*?\bsets (\$\w+ from [\w.]+(?:, \$\w+ from [\w.]+)*)")
FAILS = re.compile(r"#.*?\bfails with (?P<code>[A-Z_]+)(?: (?P<reason>[A-Z_]+))?")
AFTER_WORKER = re.compile(r"#.*\bonce the worker has run\b")
VARIABLE = re.compile(r"\$([A-Z][A-Z0-9_]*)")
COMMENT = re.compile(r"#.*$", re.MULTILINE)  # the examples hold no '#' inside strings
LINK = re.compile(r"\]\(([^)]+)\)")
REPO_PATH = re.compile(
    r"`((?:app|game|schema|workers|tests|bench|docs|migrations)/[\w/.]+\.(?:py|md)|[\w.]+\.graphql)`"
)


def expect(ok: object, message: str) -> None:
    """An assertion whose message is the README's line and what happened, without pytest's rewriting."""
    if not ok:
        raise AssertionError(message)


@dataclass(frozen=True, slots=True)
class Block:
    lang: str
    text: str
    line: int  # the README line of the block's first line
    marker: str | None  # the readme-test marker right above its fence


def readme_blocks(text: str) -> list[Block]:
    lines = text.splitlines()
    blocks = []
    i = 0
    while i < len(lines):
        marker = MARKER.match(lines[i].strip())
        if marker:
            assert lines[i + 1].startswith("```"), (
                f"README.md:{i + 1}: a readme-test marker must precede a fence"
            )
            i += 1
        if lines[i].startswith("```"):
            end = next(j for j in range(i + 1, len(lines)) if lines[j].startswith("```"))
            blocks.append(
                Block(lines[i][3:].strip(), "\n".join(lines[i + 1 : end]), i + 2, marker and marker["what"])
            )
            i = end
        i += 1
    return blocks


@dataclass(frozen=True, slots=True)
class Operation:
    text: str  # as written, comments included
    line: int
    header: tuple[str, str] | None  # (header name, variable), or None for `# No header`
    sets: list[tuple[str, str]]  # (variable, path in the answer's data)
    fails: tuple[str, str | None] | None
    kind: str  # query, mutation or subscription
    after_worker: bool  # what it reads comes from a job: asked again until the worker has run it


def operations(block: Block) -> list[Operation]:
    """The block's operations, each with the header line above it and the markers on its own lines."""
    document = graphql.parse(block.text)
    starts = []  # where each operation's first line starts
    for definition in document.definitions:
        assert isinstance(definition, graphql.OperationDefinitionNode)
        assert definition.loc is not None
        starts.append(block.text.rfind("\n", 0, definition.loc.start) + 1)
    result = []
    for n, definition in enumerate(document.definitions):
        assert isinstance(definition, graphql.OperationDefinitionNode)
        assert definition.loc is not None
        start = starts[n]
        # Its own lines and the comment lines below it: what comes before the next operation.
        own = block.text[start : starts[n + 1] if n + 1 < len(starts) else None]
        line = block.line + block.text.count("\n", 0, definition.loc.start)
        headers = [m for m in map(HEADER.match, block.text[:start].splitlines()) if m]
        expect(
            headers, f"README.md:{line}: no header line (`# Authorization: Bearer $…`, …) above the operation"
        )
        last = headers[-1]
        header = (
            None
            if last["none"]
            else (last["name"], last["token"])
            if last["name"]
            else (last["key"], last["secret"])
        )
        sets = [
            (name.strip().lstrip("$"), path)
            for found in SETS.finditer(own)
            for name, path in (part.split(" from ") for part in found[1].split(", "))
        ]
        fails = FAILS.search(own)
        result.append(
            Operation(
                own,
                line,
                header,
                sets,
                (fails["code"], fails["reason"]) if fails else None,
                definition.operation.value,
                bool(AFTER_WORKER.search(own)),
            )
        )
    return result


def substitute(text: str, variables: dict[str, str], where: str) -> str:
    def value(match: re.Match[str]) -> str:
        expect(match[1] in variables, f"{where}: ${match[1]} is neither in var/dev.env nor set by an example")
        return variables[match[1]]

    return VARIABLE.sub(value, COMMENT.sub("", text))


def dig(data: Any, path: str, where: str) -> str:
    for step in path.split("."):
        if isinstance(data, list):
            data = data[int(step)] if int(step) < len(data) else None
        else:
            data = data.get(step)
        expect(data is not None, f"{where}: the answer has nothing at {path}")
    return str(data)


@dataclass
class Run:
    """What the examples share as they run: the instance, the variables, the open subscriptions."""

    url: str
    directory: Path
    variables: dict[str, str]
    client: httpx.AsyncClient
    schema: graphql.GraphQLSchema
    sockets: list[tuple[Operation, ClientConnection]] = field(default_factory=list)
    failures: list[str] = field(default_factory=list)

    def headers(self, op: Operation, where: str) -> dict[str, str]:
        if op.header is None:
            return {}
        name, variable = op.header
        expect(variable in self.variables, f"{where}: header ${variable} is unknown")
        secret = self.variables[variable]
        return {name: f"Bearer {secret}" if name == "Authorization" else secret}

    async def graphql(self, block: Block) -> None:
        for op in operations(block):
            where = f"README.md:{op.line}"
            try:
                query = substitute(op.text, self.variables, where)
                problems = graphql.validate(self.schema, graphql.parse(query))
                expect(not problems, f"{where}: not valid against schema.graphql: {problems}")
                if op.kind == "subscription":
                    await self.subscribe(op, query, where)
                    continue
                await self.post(op, query, where)
            except AssertionError as failure:
                self.failures.append(str(failure))

    async def post(self, op: Operation, query: str, where: str) -> None:
        # Not a measure of speed: a bound on how long a job may take on a busy machine before it is a bug.
        for _ in range(300 if op.after_worker else 1):
            response = await self.client.post(
                "/graphql", json={"query": query}, headers=self.headers(op, where)
            )
            try:
                self.check(op.fails, op.sets, response, where)
                return
            except AssertionError:
                if not op.after_worker:
                    raise
            await asyncio.sleep(0.1)
        self.check(op.fails, op.sets, response, where)

    def check(
        self,
        fails: tuple[str, str | None] | None,
        sets: list[tuple[str, str]],
        response: httpx.Response,
        where: str,
    ) -> None:
        body = response.json()
        if fails is None:
            expect(response.status_code == 200 and not body.get("errors"), f"{where}: {body}")
            for variable, path in sets:
                self.variables[variable] = dig(body["data"], path, where)
        else:
            errors = body.get("errors") or [{}]
            extensions = errors[0].get("extensions", {})
            shown = (extensions.get("code"), extensions.get("reason") if fails[1] else None)
            expect(shown == fails, f"{where}: expected {fails}, got {body}")

    async def subscribe(self, op: Operation, query: str, where: str) -> None:
        """Opened here, left open while the later examples run, checked for errors at the end: a
        subscription answers nothing until something happens, but refuses at once."""
        ws = await connect(
            self.url.replace("http://", "ws://") + "/graphql",
            subprotocols=[Subprotocol("graphql-transport-ws")],
            proxy=None,
            open_timeout=10,
            close_timeout=2,
        )
        self.sockets.append((op, ws))
        await ws.send(json.dumps({"type": "connection_init", "payload": self.headers(op, where)}))
        ack = json.loads(await asyncio.wait_for(ws.recv(), 10))
        expect(ack == {"type": "connection_ack"}, f"{where}: {ack}")
        await ws.send(json.dumps({"id": "1", "type": "subscribe", "payload": {"query": query}}))

    async def close_subscriptions(self) -> None:
        for op, ws in self.sockets:
            where = f"README.md:{op.line}"
            try:
                await ws.send(json.dumps({"type": "ping"}))
                while (message := json.loads(await asyncio.wait_for(ws.recv(), 10)))["type"] != "pong":
                    # Messages, or the end of a subscription whose subject went (an archived board): no error.
                    expect(
                        message["type"] == "complete"
                        or (message["type"] == "next" and not message["payload"].get("errors")),
                        f"{where}: {message}",
                    )
            except AssertionError as failure:
                self.failures.append(str(failure))
            finally:
                await ws.close()

    def environment(self) -> dict[str, str]:
        return new_user_env() | self.variables | {"PATH": f"{TESSERA.parent}{os.pathsep}{os.environ['PATH']}"}

    async def shell(self, block: Block) -> None:
        where = f"README.md:{block.line}"
        script = block.text.replace("localhost:8000", self.url.removeprefix("http://"))
        lines = script.splitlines()
        commands = [line[2:] for line in lines if line.startswith("$ ")]
        samples = [line for line in lines if not line.startswith("$ ")] if commands else []
        try:
            run = await asyncio.to_thread(
                subprocess.run,
                ["bash", "-euo", "pipefail", "-c", "\n".join(commands) if commands else script],
                cwd=self.directory,
                env=self.environment(),
                capture_output=True,
                text=True,
                timeout=30,
            )
            expect(run.returncode == 0, f"{where}: exit {run.returncode}: {run.stderr}")
            for sample in samples:  # its first word: the values themselves differ each run
                start = re.split(r"[=: ]", sample.strip(), maxsplit=1)[0]
                expect(start in run.stdout, f"{where}: {sample!r} is not like {run.stdout!r}")
            if "curl" in script:
                sets = [
                    (name.lstrip("$"), path)
                    for found in SETS.finditer(script)
                    for name, path in (part.split(" from ") for part in found[1].split(", "))
                ]
                fails = FAILS.search(script)
                response = httpx.Response(200, content=run.stdout)
                self.check((fails["code"], fails["reason"]) if fails else None, sets, response, where)
        except AssertionError as failure:
            self.failures.append(str(failure))

    async def json(self, block: Block) -> None:
        where = f"README.md:{block.line}"
        try:
            sample = json.loads(block.text)
            if "steps" in sample:  # a rule: a marketer's draft challenge must take it
                response = await self.client.post(
                    "/graphql",
                    json={
                        "query": "mutation($i: ChallengeInput!) { createChallenge(input: $i) { id } }",
                        "variables": {
                            "i": {
                                "title": {"en": "README rule"},
                                "startsAt": "2026-01-01T00:00:00Z",
                                "rule": sample,
                            }
                        },
                    },
                    headers={"Authorization": f"Bearer {self.variables['MARKETER_TOKEN']}"},
                )
                self.check(None, [], response, where)
            else:  # an error as the API sends it: its code and reason are the README's own
                readme = README.read_text()
                code, reason = sample["extensions"]["code"], sample["extensions"].get("reason")
                expect(f"| `{code}` |" in readme, f"{where}: code {code} is not in the codes' table")
                expect(
                    reason is None or f"| `{reason}` | `{code}` |" in readme,
                    f"{where}: reason {reason} of {code} is not in the reasons' table",
                )
        except AssertionError as failure:
            self.failures.append(str(failure))


async def wait_until_up(client: httpx.AsyncClient) -> None:
    for _ in range(600):  # the GraphiQL line comes just before uvicorn listens: up to 30 s on a busy machine
        with suppress(httpx.TransportError):
            await client.post("/graphql", json={"query": "{ __typename }"})
            return
        await asyncio.sleep(0.05)
    raise AssertionError("the dev instance does not answer")


def check_dev_output(block: Block, printed: str, port: int) -> None:
    """Each line the README shows, up to its first `…` (ids and keys differ each run), is printed."""
    for n, line in enumerate(block.text.splitlines()):
        shown = line.split("…")[0].rstrip().replace(":8000", f":{port}")
        expect(shown in printed, f"README.md:{block.line + n}: make dev does not print {shown!r}:\n{printed}")


def test_the_examples_follow_the_conventions() -> None:
    """Without a server: every GraphQL operation has its header line, every block a known language and
    marker, and every link and file the README names is in the repository."""
    text = README.read_text()
    for block in readme_blocks(text):
        assert block.lang in ("", "sh", "graphql", "json"), f"README.md:{block.line}: ```{block.lang}"
        assert (
            block.marker is None or block.marker == "make dev prints" or block.marker.startswith("skip (")
        ), f"README.md:{block.line}: unknown marker {block.marker!r}"
        if block.marker is None and block.lang == "graphql":
            assert operations(block), f"README.md:{block.line}: no operation"
    anchors = {
        re.sub(r"[^\w\- ]", "", heading.lower()).replace(" ", "-")
        for heading in re.findall(r"^#+ (.+)$", text, re.MULTILINE)
    }
    for target in LINK.findall(text):
        if target.startswith("#"):
            assert target[1:] in anchors, f"README.md links to a missing section: {target}"
        else:  # nothing outside the repository: a new clone has only it
            assert "://" not in target, f"README.md links outside the repository: {target}"
            assert (ROOT / target).resolve().is_relative_to(ROOT), (
                f"README.md links outside the repository: {target}"
            )
            assert (ROOT / target).exists(), f"README.md links to a missing file: {target}"
    for path in REPO_PATH.findall(text):
        assert (ROOT / path).exists(), f"README.md names a missing file: {path}"


async def test_the_readme_runs_as_written_on_a_fresh_make_dev(tmp_path: Path) -> None:
    blocks = readme_blocks(README.read_text())
    port = free_port()
    url = f"http://127.0.0.1:{port}"
    async with dev_instance(tmp_path, port) as dev, httpx.AsyncClient(base_url=url, timeout=30) as client:
        await wait_until_up(client)
        variables = dict(
            line.split("=", 1) for line in (tmp_path / "var" / "dev.env").read_text().splitlines()
        )
        run = Run(url, tmp_path, variables, client, graphql.build_schema(SCHEMA.read_text()))
        ran = 0
        for block in blocks:
            if block.marker == "make dev prints":
                check_dev_output(block, dev.printed, port)
            elif block.marker is not None:  # skip (why)
                continue
            elif block.lang == "graphql":
                await run.graphql(block)
            elif block.lang == "sh":
                await run.shell(block)
            elif block.lang == "json":
                await run.json(block)
            else:
                continue
            ran += 1
        await run.close_subscriptions()
    assert not run.failures, "\n".join(run.failures)
    assert ran > 20, ran  # the parser found the examples
