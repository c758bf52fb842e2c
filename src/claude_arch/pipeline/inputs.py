"""Reading a submission into jobs: a folder of text files or a JSONL of Messages requests.

Everything is checked before anything is enqueued: unreadable or empty files, lines that are not
valid Messages requests (core's validator), unknown models. :class:`InputRejected` lists every
problem with its file, line and reason.
"""

from __future__ import annotations

import hashlib
import json
from collections.abc import Mapping
from dataclasses import dataclass
from pathlib import Path
from typing import TYPE_CHECKING, Any

from claude_arch.core.pricing.catalog import default_catalog
from claude_arch.core.validation.schema import validate_create_params
from claude_arch.errors import InvalidRequestError
from claude_arch.pipeline.jobs import NewJob, idempotency_key

if TYPE_CHECKING:
    from claude_arch.pipeline.templates import Template

__all__ = ["InputRejected", "Problem", "read_folder", "read_jsonl", "read_submission"]

_MAX_PROBLEMS = 50


@dataclass(frozen=True)
class Problem:
    """One reason a submission was refused: the file, the line (JSONL) and why."""

    path: str
    line: int | None
    reason: str

    def __str__(self) -> str:
        where = f"{self.path}:{self.line}" if self.line is not None else self.path
        return f"{where}: {self.reason}"


class InputRejected(InvalidRequestError):
    """A submission refused as a whole; ``problems`` lists each file, line and reason."""

    def __init__(self, problems: list[Problem]) -> None:
        self.problems = problems
        more = f" (and {len(problems) - 1} more)" if len(problems) > 1 else ""
        super().__init__(f"{problems[0]}{more}", field=problems[0].path)


def read_submission(
    path: Path,
    *,
    run: str,
    model: str,
    template: Template | None,
    max_tokens: int,
    default_model: str,
) -> list[NewJob]:
    """The jobs of a folder (with ``template``) or of a ``.jsonl`` file (requests as they are)."""
    if path.is_dir():
        if template is None:
            raise InputRejected([Problem(str(path), None, "a folder needs --template")])
        return read_folder(
            path,
            run=run,
            model=model,
            template=template,
            max_tokens=max_tokens,
            default_model=default_model,
        )
    return read_jsonl(path, run=run, model=model, default_model=default_model)


def read_folder(
    folder: Path,
    *,
    run: str,
    model: str,
    template: Template,
    max_tokens: int,
    default_model: str,
) -> list[NewJob]:
    """One job per text file under ``folder`` (hidden files skipped), in path order."""
    problems: list[Problem] = []
    jobs: list[NewJob] = []
    files = sorted(
        p
        for p in folder.rglob("*")
        if p.is_file() and not any(part.startswith(".") for part in p.relative_to(folder).parts)
    )
    if not files:
        raise InputRejected([Problem(str(folder), None, "no input files in this folder")])
    _check_model(model, str(folder), None, problems)
    for file in files:
        source = str(file)
        try:
            text = file.read_bytes().decode("utf-8")
        except OSError as exc:
            problems.append(Problem(source, None, f"unreadable: {exc.strerror or exc}"))
            continue
        except UnicodeDecodeError as exc:
            problems.append(Problem(source, None, f"not UTF-8 text (byte {exc.start})"))
            continue
        if not text.strip():
            problems.append(Problem(source, None, "empty input"))
            continue
        params: dict[str, Any] = {
            "model": model,
            "max_tokens": max_tokens,
            "messages": [
                {"role": "user", "content": template.render(text, name=file.name, source=source)}
            ],
        }
        if template.system:
            params["system"] = template.system
        if not problems and _valid(params, default_model, source, None, problems):
            digest = hashlib.sha256(text.encode()).hexdigest()
            identity = f"{file.relative_to(folder)}#{digest}"
            key = idempotency_key(run, identity, template.identity, model)
            jobs.append(NewJob(key, run, source, params, model, template=template.name))
        if len(problems) >= _MAX_PROBLEMS:
            break
    if problems:
        raise InputRejected(problems)
    return jobs


def read_jsonl(path: Path, *, run: str, model: str, default_model: str) -> list[NewJob]:
    """One job per line: a Messages request, or ``{"custom_id", "params"}`` (the custom id is
    then the job's identity). A request without ``model`` takes ``model``."""
    source = str(path)
    try:
        lines = path.read_bytes().decode("utf-8").splitlines()
    except OSError as exc:
        raise InputRejected([Problem(source, None, f"unreadable: {exc.strerror or exc}")]) from None
    except UnicodeDecodeError as exc:
        reason = f"not UTF-8 text (byte {exc.start})"
        raise InputRejected([Problem(source, None, reason)]) from None
    problems: list[Problem] = []
    jobs: list[NewJob] = []
    for number, line in enumerate(lines, start=1):
        if not line.strip():
            continue
        try:
            item = json.loads(line)
        except json.JSONDecodeError as exc:
            problems.append(Problem(source, number, f"not JSON: {exc.msg} (column {exc.colno})"))
            continue
        if not isinstance(item, Mapping):
            problems.append(Problem(source, number, "expected a JSON object"))
            continue
        custom_id = item.get("custom_id") if "params" in item else None
        params = (
            dict(item["params"])
            if "params" in item and isinstance(item["params"], Mapping)
            else dict(item)
        )
        params.setdefault("model", model)
        if not _valid(params, default_model, source, number, problems):
            continue
        identity = (
            f"custom_id:{custom_id}"
            if custom_id is not None
            else hashlib.sha256(json.dumps(params, sort_keys=True).encode()).hexdigest()
        )
        job_model = str(params["model"])
        key = idempotency_key(run, identity, "", job_model)
        jobs.append(NewJob(key, run, f"{source}:{number}", params, job_model))
        if len(problems) >= _MAX_PROBLEMS:
            break
    if not jobs and not problems:
        problems.append(Problem(source, None, "empty input: no requests"))
    if problems:
        raise InputRejected(problems)
    return jobs


def _valid(
    params: dict[str, Any], default_model: str, path: str, line: int | None, problems: list[Problem]
) -> bool:
    checked = dict(params)
    if checked.get("model") == "auto":
        checked["model"] = default_model
    try:
        validate_create_params(checked)
    except InvalidRequestError as exc:
        problems.append(Problem(path, line, str(exc)))
        return False
    return True


def _check_model(model: str, path: str, line: int | None, problems: list[Problem]) -> None:
    if model == "auto":
        return
    try:
        default_catalog().resolve(model)
    except InvalidRequestError as exc:
        problems.append(Problem(path, line, f"--model: {exc}"))
