"""Reading the Dockerfile, .dockerignore and docker-compose.yml the way Docker does, enough
for the container tests (this machine cannot pull base images, so the image is never built
here: its files are checked, and its commands run as plain processes)."""

from __future__ import annotations

import fnmatch
import json
import re
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import yaml

ROOT = Path(__file__).resolve().parents[2]


@dataclass
class Instruction:
    op: str  # upper case: FROM, RUN, COPY, ...
    args: str  # the rest of the line, continuation lines joined


@dataclass
class Stage:
    image: str
    name: str
    instructions: list[Instruction] = field(default_factory=list)

    def all(self, op: str) -> list[Instruction]:
        return [i for i in self.instructions if i.op == op]

    def one(self, op: str) -> Instruction:
        (found,) = self.all(op)
        return found


def parse_dockerfile(text: str) -> list[Stage]:
    """The stages of a Dockerfile, each with its instructions (comments dropped)."""
    lines: list[str] = []
    pending = ""
    for raw in text.splitlines():
        stripped = raw.strip()
        if not pending and (not stripped or stripped.startswith("#")):
            continue
        if stripped.startswith("#"):
            continue
        if stripped.endswith("\\"):
            pending += stripped[:-1] + " "
            continue
        lines.append(pending + stripped)
        pending = ""
    stages: list[Stage] = []
    for line in lines:
        op, _, args = line.partition(" ")
        op = op.upper()
        if op == "FROM":
            image, *rest = args.split()
            name = rest[1] if len(rest) == 2 and rest[0].upper() == "AS" else str(len(stages))
            stages.append(Stage(image, name))
        else:
            assert stages, f"{op} before FROM"
            stages[-1].instructions.append(Instruction(op, args.strip()))
    return stages


def exec_form(args: str) -> list[str]:
    """A JSON-array (exec form) argument list; anything else is refused (shell form)."""
    value = json.loads(args)
    assert isinstance(value, list) and all(isinstance(v, str) for v in value), args
    return value


def copy_parts(args: str) -> tuple[dict[str, str], list[str], str]:
    """``COPY [--flag=value ...] src... dest``: the flags, the sources and the destination."""
    words = args.split()
    flags = {}
    while words and words[0].startswith("--"):
        key, _, value = words.pop(0)[2:].partition("=")
        flags[key] = value
    return flags, words[:-1], words[-1]


def healthcheck_command(stage: Stage) -> tuple[dict[str, str], list[str]]:
    """The HEALTHCHECK's options and its exec-form command."""
    args = stage.one("HEALTHCHECK").args
    options = dict(re.findall(r"--([a-z-]+)=(\S+)", args))
    command = args[args.index("CMD") + 3 :].strip()
    return options, exec_form(command)


def env_of(stage: Stage) -> dict[str, str]:
    env: dict[str, str] = {}
    for instruction in stage.all("ENV"):
        env.update(dict(pair.split("=", 1) for pair in instruction.args.split()))
    return env


def dockerignore_patterns(text: str) -> list[str]:
    return [line.strip() for line in text.splitlines() if line.strip() and not line.startswith("#")]


def ignored(path: str, patterns: list[str]) -> bool:
    """Whether the build context leaves ``path`` (relative, with /) out: a pattern matches it or
    one of its parent directories (Docker's rule; no ``!`` exceptions are used here)."""
    parts = path.split("/")
    prefixes = ["/".join(parts[: n + 1]) for n in range(len(parts))]
    for pattern in patterns:
        bare = pattern.removeprefix("**/")
        for prefix in prefixes:
            if fnmatch.fnmatchcase(prefix, pattern) or (
                pattern.startswith("**/") and fnmatch.fnmatchcase(prefix.rsplit("/", 1)[-1], bare)
            ):
                return True
    return False


_VARIABLE = re.compile(r"\$\{([A-Z_][A-Z0-9_]*)(?:(:?[-?])([^}]*))?\}")


def interpolate(value: str, env: dict[str, str]) -> str:
    """Compose's ``${VAR}``, ``${VAR:-default}`` and ``${VAR:?error}``."""

    def one(match: re.Match[str]) -> str:
        name, op, word = match.group(1), match.group(2), match.group(3)
        current = env.get(name, "")
        if op in (":-", "-"):
            return current or word
        if op in (":?", "?") and not current:
            raise KeyError(f"{name}: {word}")
        return current

    return _VARIABLE.sub(one, value)


def load_compose() -> dict[str, Any]:
    data = yaml.safe_load((ROOT / "docker-compose.yml").read_text())
    assert isinstance(data, dict)
    return data


def service_env(service: dict[str, Any], env: dict[str, str]) -> dict[str, str]:
    """A service's environment (list or mapping form), interpolated with ``env``."""
    raw = service.get("environment") or {}
    pairs = dict(item.split("=", 1) for item in raw) if isinstance(raw, list) else dict(raw)
    return {str(k): interpolate(str(v), env) for k, v in pairs.items()}
