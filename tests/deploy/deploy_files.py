"""Readers for the files in ``deploy/docker`` and ``deploy/pipeline``, so tests can check them
without a Docker engine.

compose = load_compose()
interpolate("${POSTGRES_PASSWORD:?set it}", {"POSTGRES_PASSWORD": "pw"})   # 'pw'
stages = dockerfile_stages(DOCKER / "Dockerfile")      # [[("FROM", "..."), ...], ...]
http = nginx_config(DOCKER / "nginx.conf").block("http")
"""

from __future__ import annotations

import json
import re
import shlex
from collections.abc import Iterator, Mapping
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import yaml

ROOT = Path(__file__).resolve().parents[2]
DOCKER = ROOT / "deploy" / "docker"
PIPELINE = ROOT / "deploy" / "pipeline"

_VAR = re.compile(r"\$\$|\$\{(?P<name>[A-Za-z_][A-Za-z0-9_]*)(?:(?P<op>:?[-?])(?P<arg>[^}]*))?\}")


ENV = {"POSTGRES_PASSWORD": "pw-for-the-test"}
"""What a user puts in .env (the one required variable)."""


def load_compose(folder: Path = DOCKER) -> dict[str, Any]:
    """``compose.yaml`` of ``folder`` (``deploy/docker`` unless told)."""
    data: dict[str, Any] = yaml.safe_load((folder / "compose.yaml").read_text("utf-8"))
    return data


def service_env(
    compose: Mapping[str, Any], env: dict[str, str], service: str = "service"
) -> dict[str, str]:
    """The ``service`` container's environment as Compose would build it from ``env``
    (shell/.env): a name without a value is passed through when set and left out when not."""
    declared = compose["services"][service]["environment"]
    out = {}
    for name, value in declared.items():
        if value is None:
            if name in env:
                out[name] = env[name]
        else:
            out[name] = interpolate(str(value), env)
    return out


class MissingVariable(Exception):
    """A ``${VAR:?message}`` whose variable is unset (Compose refuses to start)."""


def interpolate(value: str, env: Mapping[str, str]) -> str:
    """Compose's interpolation: ``${V}``, ``${V:-default}``, ``${V-default}``, ``${V:?err}``,
    ``${V?err}`` and ``$$``."""

    def one(match: re.Match[str]) -> str:
        if match.group(0) == "$$":
            return "$"
        name, op, arg = match.group("name"), match.group("op"), match.group("arg")
        current = env.get(name)
        unset = current is None or (op is not None and op.startswith(":") and current == "")
        if op in (":?", "?") and unset:
            raise MissingVariable(f"{name}: {arg}")
        if op in (":-", "-") and unset:
            return arg
        return current or ""

    return _VAR.sub(one, value)


def only_interpolations(value: str) -> bool:
    """True when ``value`` is made of ``${...}`` references alone (no literal characters)."""
    return bool(value) and _VAR.sub("", value) == ""


# --- Dockerfile ---------------------------------------------------------------------------------
def dockerfile_instructions(text: str) -> list[tuple[str, str]]:
    """(KEYWORD, arguments) per instruction, continuation lines joined, comments dropped."""
    out: list[tuple[str, str]] = []
    pending = ""
    for raw in text.splitlines():
        line = raw.strip()
        if not pending and (not line or line.startswith("#")):
            continue
        if pending and line.startswith("#"):
            continue  # a comment inside a continued instruction
        if line.endswith("\\"):
            pending += line[:-1] + " "
            continue
        whole = (pending + line).strip()
        pending = ""
        keyword, _, args = whole.partition(" ")
        out.append((keyword.upper(), args.strip()))
    return out


def dockerfile_stages(path: Path) -> list[list[tuple[str, str]]]:
    """The instructions of each build stage (the ARGs before the first FROM are dropped)."""
    stages: list[list[tuple[str, str]]] = []
    for keyword, args in dockerfile_instructions(path.read_text("utf-8")):
        if keyword == "FROM":
            stages.append([])
        if stages:
            stages[-1].append((keyword, args))
    return stages


def only(stage: list[tuple[str, str]], keyword: str) -> str:
    found = [args for kw, args in stage if kw == keyword]
    assert len(found) == 1, f"{keyword}: {found}"
    return found[0]


def exec_form(args: str) -> list[str]:
    """A JSON-array instruction (signals reach the process; no shell in between)."""
    value = json.loads(args)
    assert isinstance(value, list)
    return [str(v) for v in value]


def env_of(stage: list[tuple[str, str]]) -> dict[str, str]:
    env: dict[str, str] = {}
    for kw, args in stage:
        if kw == "ENV":
            env.update(dict(pair.split("=", 1) for pair in shlex.split(args)))
    return env


# --- nginx --------------------------------------------------------------------------------------
@dataclass
class Directive:
    name: str
    args: list[str]
    children: list[Directive] = field(default_factory=list)

    def all(self, name: str) -> list[Directive]:
        return [d for d in self.children if d.name == name]

    def one(self, name: str) -> Directive:
        found = self.all(name)
        assert len(found) == 1, f"{name}: expected exactly one in {self.name} {self.args}"
        return found[0]

    def block(self, name: str, *args: str) -> Directive:
        found = [d for d in self.all(name) if list(args) == d.args[: len(args)]]
        assert len(found) == 1, f"{name} {args}: expected one block in {self.name}"
        return found[0]

    def walk(self) -> Iterator[Directive]:
        for child in self.children:
            yield child
            yield from child.walk()


def _nginx_tokens(text: str) -> Iterator[str]:
    for match in re.finditer(r"#[^\n]*|'[^']*'|\"[^\"]*\"|[{};]|[^\s{};'\"#]+", text):
        token = match.group(0)
        if token.startswith("#"):
            continue
        yield token[1:-1] if token[:1] in "'\"" else token


def nginx_config(path: Path) -> Directive:
    """The configuration as a tree of directives (quotes removed: ``''`` becomes ``""``)."""
    root = Directive("main", [])
    stack = [root]
    words: list[str] = []
    for token in _nginx_tokens(path.read_text("utf-8")):
        if token == ";":
            stack[-1].children.append(Directive(words[0], words[1:]))
            words = []
        elif token == "{":
            block = Directive(words[0], words[1:])
            stack[-1].children.append(block)
            stack.append(block)
            words = []
        elif token == "}":
            assert not words, f"unterminated directive {words}"
            stack.pop()
        else:
            words.append(token)
    assert len(stack) == 1, "unbalanced braces in nginx.conf"
    assert not words, f"unterminated directive {words}"
    return root


def nginx_seconds(value: str) -> float:
    """``900s`` / ``15m`` / ``1h`` / ``60`` in seconds."""
    units = {"ms": 0.001, "s": 1, "m": 60, "h": 3600, "d": 86400}
    number, unit = re.fullmatch(r"(\d+)(ms|s|m|h|d)?", value).groups()  # type: ignore[union-attr]
    return int(number) * units[unit or "s"]


def nginx_bytes(value: str) -> int:
    number, unit = re.fullmatch(r"(\d+)([kKmMgG])?", value).groups()  # type: ignore[union-attr]
    return int(number) * {"": 1, "k": 1024, "m": 1024**2, "g": 1024**3}[(unit or "").lower()]
