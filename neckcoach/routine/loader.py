"""Load routine YAML safely and report every problem with its file:line:column.

Therapists edit these files by hand and patients may receive them by mail, so
the loader treats every file as hostile: bounded size, strict UTF-8, safe-load
semantics only (no object-constructing tags), no anchors/aliases (which is
how 'billion laughs' bombs are built), bounded nesting, duplicate keys refused.
"""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path
from typing import Any

import yaml
from pydantic import ValidationError

from neckcoach.routine.model import Routine

MAX_FILE_BYTES = 1_000_000
MAX_DEPTH = 12
MAX_NODES = 20_000


@dataclass(frozen=True)
class Problem:
    """One located problem in a routine file."""

    file: str
    line: int
    column: int
    path: str
    message: str
    value: Any = None
    has_value: bool = False

    def __str__(self) -> str:
        where = f"{self.file}:{self.line}:{self.column}"
        key = f" {self.path}:" if self.path else ""
        got = f" (got {_show(self.value)})" if self.has_value else ""
        return f"{where}:{key} {self.message}{got}"


class RoutineError(Exception):
    """Raised with every problem found; str() gives one located line each."""

    def __init__(self, problems: list[Problem]):
        self.problems = problems
        super().__init__("\n".join(str(p) for p in problems))


def _show(value: Any) -> str:
    text = repr(value) if isinstance(value, str) else str(value)
    return text if len(text) <= 60 else text[:57] + "..."


class _Loader(yaml.SafeLoader):
    """SafeLoader that refuses aliases, deep nesting and duplicate keys."""

    def compose_node(self, parent, index):  # type: ignore[override]
        if self.check_event(yaml.AliasEvent):
            event = self.peek_event()
            raise yaml.composer.ComposerError(
                None, None, "anchors and aliases (*name) are not allowed in routines", event.start_mark
            )
        self._depth = getattr(self, "_depth", 0) + 1
        self._nodes = getattr(self, "_nodes", 0) + 1
        try:
            if self._depth > MAX_DEPTH:
                raise yaml.composer.ComposerError(
                    None, None, f"nested more than {MAX_DEPTH} levels deep", self.peek_event().start_mark
                )
            if self._nodes > MAX_NODES:
                raise yaml.composer.ComposerError(
                    None, None, f"more than {MAX_NODES} values; a routine is much smaller", self.peek_event().start_mark
                )
            return super().compose_node(parent, index)
        finally:
            self._depth -= 1

    def construct_mapping(self, node, deep=False):  # type: ignore[override]
        seen: dict[Any, yaml.Node] = {}
        for key_node, _ in node.value:
            key = self.construct_object(key_node, deep=True)
            if not isinstance(key, (str, int, float, bool)) and key is not None:
                raise yaml.constructor.ConstructorError(
                    None, None, "keys must be plain words", key_node.start_mark
                )
            if key in seen:
                first = seen[key].start_mark
                raise yaml.constructor.ConstructorError(
                    None, None,
                    f"duplicate key {key!r} (first given on line {first.line + 1})",
                    key_node.start_mark,
                )
            seen[key] = key_node
        return super().construct_mapping(node, deep=deep)


def _locations(node: yaml.Node, path: tuple = ()) -> dict[tuple, tuple[yaml.Node, yaml.Node | None]]:
    """Map each key path to (value node, key node) for error locations."""
    out: dict[tuple, tuple[yaml.Node, yaml.Node | None]] = {}
    stack = [(node, path, None)]
    while stack:
        current, p, key_node = stack.pop()
        out[p] = (current, key_node)
        if isinstance(current, yaml.MappingNode):
            for k, v in current.value:
                stack.append((v, p + (k.value,), k))
        elif isinstance(current, yaml.SequenceNode):
            for i, v in enumerate(current.value):
                stack.append((v, p + (i,), None))
    return out


def _path_text(loc: tuple) -> str:
    text = ""
    for part in loc:
        if isinstance(part, int):
            text += f"[{part}]"
        else:
            text += ("." if text else "") + str(part)
    return text


def _mark_problem(name: str, exc: yaml.MarkedYAMLError) -> Problem:
    mark = exc.problem_mark or exc.context_mark
    line, col = (mark.line + 1, mark.column + 1) if mark else (1, 1)
    message = exc.problem or exc.context or "not valid YAML"
    if exc.context and exc.problem and "found" in exc.problem:
        message = f"{exc.context}, {exc.problem}"
    if "expected <block end>" in message or "mapping values are not allowed" in message:
        message = "bad indentation: this line does not line up with the lines around it"
    if message.startswith("could not determine a constructor"):
        message = "tags (!!python/..., !name) are not allowed in routines"
    return Problem(name, line, col, "", message)


def _reader_problem(name: str, text: str, exc: yaml.reader.ReaderError) -> Problem:
    """A character YAML refuses (a control character): located by its position."""
    before = text[: exc.position]
    line = before.count("\n") + 1
    col = exc.position - (before.rfind("\n") + 1) + 1
    return Problem(name, line, col, "", f"the file contains a control character YAML does not allow "
                                        f"(U+{exc.character:04X})" if isinstance(exc.character, int) else "")


def parse_yaml(text: str, name: str) -> tuple[Any, dict]:
    """Parse YAML text into plain data plus a key-path → node location map."""
    try:
        loader = _Loader(text)
    except yaml.reader.ReaderError as exc:
        raise RoutineError([_reader_problem(name, text, exc)]) from None
    try:
        node = loader.get_single_node()
        if node is None:
            raise RoutineError([Problem(name, 1, 1, "", "the file is empty; a routine needs a title and exercises")])
        data = loader.construct_document(node)
    except yaml.MarkedYAMLError as exc:
        raise RoutineError([_mark_problem(name, exc)]) from None
    except yaml.reader.ReaderError as exc:
        raise RoutineError([_reader_problem(name, text, exc)]) from None
    except yaml.YAMLError as exc:
        raise RoutineError([Problem(name, 1, 1, "", f"not valid YAML: {exc}")]) from None
    except RecursionError:
        raise RoutineError([Problem(name, 1, 1, "", f"nested more than {MAX_DEPTH} levels deep")]) from None
    finally:
        loader.dispose()
    return data, _locations(node)


def _validation_problems(name: str, exc: ValidationError, where: dict) -> list[Problem]:
    problems = []
    for err in exc.errors(include_url=False):
        loc = tuple(err["loc"])
        found = loc
        while found and found not in where:
            found = found[:-1]
        node, key_node = where.get(found, (None, None))
        kind = err["type"]
        if kind == "extra_forbidden":
            anchor = key_node or node
            message = "unknown key"
        elif kind == "missing":
            anchor = node
            message = "required key is missing"
        else:
            anchor = node
            message = err["msg"].removeprefix("Value error, ")
        line, col = (anchor.start_mark.line + 1, anchor.start_mark.column + 1) if anchor is not None else (1, 1)
        has_value = kind not in ("missing",) and not isinstance(err.get("input"), (dict, list))
        problems.append(Problem(name, line, col, _path_text(loc), message, err.get("input"), has_value))
    return problems


def routine_from_text(text: str, name: str = "<routine>") -> Routine:
    data, where = parse_yaml(text, name)
    if not isinstance(data, dict):
        raise RoutineError([Problem(
            name, 1, 1, "", f"a routine must be a mapping with title and exercises, not a {type(data).__name__}")])
    try:
        return Routine.model_validate(data)
    except ValidationError as exc:
        raise RoutineError(_validation_problems(name, exc, where)) from None


def load_routine(path: str | Path) -> Routine:
    """Read and validate one routine file; raises RoutineError, never anything else."""
    name = str(path)
    p = Path(path)
    try:
        size = p.stat().st_size
        if size > MAX_FILE_BYTES:
            raise RoutineError([Problem(
                name, 1, 1, "", f"file is too large for a routine: {size} bytes (at most {MAX_FILE_BYTES})")])
        raw = p.read_bytes()
    except OSError as exc:
        raise RoutineError([Problem(name, 0, 0, "", f"cannot read the file: {exc.strerror or exc}")]) from None
    try:
        text = raw.decode("utf-8")
    except UnicodeDecodeError as exc:
        line = raw[: exc.start].count(b"\n") + 1
        col = exc.start - (raw.rfind(b"\n", 0, exc.start) + 1) + 1
        raise RoutineError([Problem(
            name, line, col, "", f"the file is not UTF-8 text (byte 0x{raw[exc.start]:02x})")]) from None
    if "\x00" in text:
        raise RoutineError([Problem(name, 1, 1, "", "the file is binary, not YAML text")])
    return routine_from_text(text, name)
