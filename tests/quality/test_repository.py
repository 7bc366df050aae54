"""What the repository holds: source, not built artefacts (tools come from their registries)."""

from __future__ import annotations

import subprocess
import tomllib
from pathlib import Path

ROOT = Path(__file__).resolve().parents[2]
BUILT = (".whl", ".egg", ".so", ".pyd", ".dylib", ".tar.gz", ".zip", ".deb")


def test_no_built_packages_are_committed() -> None:
    tracked = subprocess.run(
        ["git", "ls-files", "-z"], cwd=ROOT, capture_output=True, check=True, timeout=30
    ).stdout.decode()
    built = [name for name in tracked.split("\0") if name.endswith(BUILT)]
    assert built == [], "install tools from their registry (e.g. the `bench` extra), do not commit them"


def test_the_bench_extra_provides_the_profiler() -> None:
    project = tomllib.loads((ROOT / "pyproject.toml").read_text())["project"]
    assert any(req.startswith("py-spy") for req in project["optional-dependencies"]["bench"])
    assert "bench-tools:" in (ROOT / "Makefile").read_text()
