"""Every benchmark still imports against the code it measures.

The benches run by hand (`make bench`), not in the suite: a module they import that moved or a function that
was renamed would otherwise go unnoticed until the next measurement. `make lint` type-checks them too.
"""

from __future__ import annotations

import subprocess
import sys
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent


def test_every_bench_module_imports() -> None:
    modules = sorted(
        f"bench.{path.stem}" for path in (ROOT / "bench").glob("*.py") if path.stem != "__init__"
    )
    assert "bench.evaluate" in modules
    assert len(modules) >= 10
    # In a fresh interpreter: importing them must not depend on what the suite already imported.
    script = "import importlib, sys\nfor name in sys.argv[1:]:\n    importlib.import_module(name)\n"
    done = subprocess.run(
        [sys.executable, "-c", script, *modules], cwd=ROOT, capture_output=True, text=True, timeout=120
    )
    assert done.returncode == 0, done.stderr[-3000:]
