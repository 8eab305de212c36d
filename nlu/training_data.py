"""Read NLU training data: Rasa YAML (`nlu:` intents, entities, synonyms, regexes, lookups)
or CSV."""

from __future__ import annotations

import _csv
import csv
import json
import re
from dataclasses import dataclass, field
from pathlib import Path

import yaml
from yaml.nodes import MappingNode, Node, ScalarNode, SequenceNode


class TrainingDataError(ValueError):
    """The training data file is malformed; the message names the file, the line and the problem."""

    def __init__(self, path: Path | str, line: int | None, problem: str) -> None:
        where = f"{path}:{line}" if line is not None else str(path)
        super().__init__(f"{where}: {problem}")
        self.path, self.line, self.problem = str(path), line, problem


@dataclass(frozen=True)
class EntitySpan:
    start: int
    end: int
    entity: str
    value: str


@dataclass(frozen=True)
class Example:
    text: str
    intent: str
    entities: tuple[EntitySpan, ...] = ()


@dataclass
class TrainingData:
    examples: list[Example] = field(default_factory=list)
    synonyms: dict[str, str] = field(default_factory=dict)  # lower-cased variant -> canonical
    regexes: dict[str, list[str]] = field(default_factory=dict)  # entity -> patterns
    lookups: dict[str, list[str]] = field(default_factory=dict)  # entity -> values
    # Customer messages without an intent: self-training labels those the model is surest of
    # (nlu.model.NLUModel.train, nlu.self_training in config.yml).
    unlabelled: list[str] = field(default_factory=list)

    @property
    def intents(self) -> list[str]:
        return sorted({e.intent for e in self.examples})


# [value](entity) | [value](entity:canonical) | [value]{"entity": ..., "value": ...}
_ANNOTATION = re.compile(r"\[(?P<value>[^\]]+)\](?:\((?P<short>[^)]+)\)|(?P<json>\{[^}]*\}))")


def parse_annotated(text: str) -> tuple[str, tuple[EntitySpan, ...], dict[str, str]]:
    """Strip Rasa entity annotations; returns plain text, spans and synonyms they declare."""
    plain, spans, synonyms, cursor = [], [], {}, 0
    offset = 0
    for match in _ANNOTATION.finditer(text):
        plain.append(text[cursor : match.start()])
        offset += match.start() - cursor
        surface = match.group("value")
        entity, canonical = _annotation_target(match)
        spans.append(EntitySpan(offset, offset + len(surface), entity, canonical or surface))
        if canonical and canonical != surface:
            synonyms[surface.lower()] = canonical
        plain.append(surface)
        offset += len(surface)
        cursor = match.end()
    plain.append(text[cursor:])
    return "".join(plain), tuple(spans), synonyms


def _annotation_target(match: re.Match[str]) -> tuple[str, str | None]:
    if match.group("short") is not None:
        entity, _, canonical = match.group("short").partition(":")
        if not entity.strip():
            raise ValueError(f"empty entity name in {match.group(0)!r}")
        return entity.strip(), canonical.strip() or None
    try:
        spec = json.loads(match.group("json"))
    except json.JSONDecodeError as exc:
        raise ValueError(f"entity annotation {match.group(0)!r} is not valid JSON") from exc
    if not isinstance(spec, dict) or not isinstance(spec.get("entity"), str):
        raise ValueError(f'entity annotation {match.group(0)!r} needs an "entity" name')
    value = spec.get("value")
    return spec["entity"], str(value) if value is not None else None


def read_training_data(path: Path) -> TrainingData:
    """Read a Rasa YAML (.yml/.yaml) or CSV (`text,label` header) training data file."""
    if not path.is_file():
        raise TrainingDataError(path, None, "file not found")
    readers = {".csv": _read_csv, ".yml": _read_yaml, ".yaml": _read_yaml}
    reader = readers.get(path.suffix.lower())
    if reader is None:
        raise TrainingDataError(
            path, None, "unsupported format: use Rasa YAML (.yml) or CSV (.csv)"
        )
    try:
        return reader(path)
    except UnicodeDecodeError as exc:
        raise TrainingDataError(path, None, f"not UTF-8 text (byte {exc.start})") from exc


def read_unlabelled(path: Path) -> list[str]:
    """Messages without intents, each once: a text file's non-blank lines, or a CSV file's
    first column under its header row (a `text,label` training file's labels are ignored)."""
    if not path.is_file():
        raise TrainingDataError(path, None, "file not found")
    if path.suffix.lower() not in {".txt", ".csv"}:
        raise TrainingDataError(
            path, None, "unsupported format: use text (.txt, one message a line) or CSV (.csv)"
        )
    try:
        with path.open(encoding="utf-8", newline="") as handle:
            if path.suffix.lower() == ".txt":
                texts = [line.strip() for line in handle]
            else:
                rows = csv.reader(handle)
                try:
                    next(rows, None)  # the header
                    texts = [row[0].strip() for row in rows if row]
                except csv.Error as exc:
                    raise TrainingDataError(path, rows.line_num, f"not valid CSV: {exc}") from exc
    except UnicodeDecodeError as exc:
        raise TrainingDataError(path, None, f"not UTF-8 text (byte {exc.start})") from exc
    unique = list(dict.fromkeys(t for t in texts if t))
    if not unique:
        raise TrainingDataError(path, None, "no messages found")
    return unique


def _read_csv(path: Path) -> TrainingData:
    data = TrainingData()
    with path.open(encoding="utf-8", newline="") as handle:
        rows = csv.reader(handle)
        try:
            _read_csv_rows(path, rows, data)
        except csv.Error as exc:  # e.g. a cell beyond csv.field_size_limit()
            raise TrainingDataError(path, rows.line_num, f"not valid CSV: {exc}") from exc
    if not data.examples:
        raise TrainingDataError(path, None, "no examples found")
    return data


def _read_csv_rows(path: Path, rows: _csv.Reader, data: TrainingData) -> None:
    header = next(rows, None)
    if header is None or len(header) < 2:
        raise TrainingDataError(path, 1, "expected a header row with text and label columns")
    for row in rows:
        if not row or not any(cell.strip() for cell in row):
            continue
        if len(row) < 2 or not row[0].strip() or not row[1].strip():
            raise TrainingDataError(path, rows.line_num, "each row needs a text and a label")
        data.examples.append(Example(row[0].strip(), row[1].strip()))


def _read_yaml(path: Path) -> TrainingData:
    try:
        root = yaml.compose(path.read_text(encoding="utf-8"))
    except RecursionError as exc:
        raise TrainingDataError(path, None, "not valid YAML: nested too deeply") from exc
    except yaml.YAMLError as exc:
        mark = getattr(exc, "problem_mark", None)
        line = mark.line + 1 if mark is not None else None
        raise TrainingDataError(
            path, line, f"not valid YAML: {getattr(exc, 'problem', exc)}"
        ) from exc
    if not isinstance(root, MappingNode):
        raise TrainingDataError(path, 1, "expected a mapping with an `nlu:` key")
    top = {_scalar(path, key): value for key, value in root.value}
    nlu = top.get("nlu")
    if not isinstance(nlu, SequenceNode):
        raise TrainingDataError(path, _line(root), "expected an `nlu:` list")
    data = TrainingData()
    for item in nlu.value:
        _read_item(path, item, data)
    if not data.examples:
        raise TrainingDataError(path, _line(nlu), "no intent examples found")
    return data


def _read_item(path: Path, item: Node, data: TrainingData) -> None:
    if not isinstance(item, MappingNode):
        raise TrainingDataError(path, _line(item), "each `nlu:` item must be a mapping")
    fields = {_scalar(path, key): value for key, value in item.value}
    kinds = [k for k in ("intent", "synonym", "regex", "lookup") if k in fields]
    if len(kinds) != 1:
        raise TrainingDataError(
            path, _line(item), "an item needs exactly one of intent, synonym, regex, lookup"
        )
    kind, name = kinds[0], _scalar(path, fields[kinds[0]])
    examples = fields.get("examples")
    lines = _example_lines(path, examples) if examples is not None else []
    if not lines:
        raise TrainingDataError(path, _line(item), f"{kind} {name!r} has no `examples`")
    for line, text in lines:
        _add(path, line, text, kind=kind, name=name, data=data)


def _add(path: Path, line: int, text: str, *, kind: str, name: str, data: TrainingData) -> None:
    if kind == "intent":
        try:
            plain, spans, synonyms = parse_annotated(text)
        except ValueError as exc:
            raise TrainingDataError(path, line, str(exc)) from exc
        data.examples.append(Example(plain, name, spans))
        data.synonyms.update(synonyms)
    elif kind == "synonym":
        data.synonyms[text.lower()] = name
    elif kind == "regex":
        try:
            re.compile(text)
        except re.error as exc:
            raise TrainingDataError(path, line, f"invalid regex {text!r}: {exc}") from exc
        data.regexes.setdefault(name, []).append(text)
    else:
        data.lookups.setdefault(name, []).append(text)


def _example_lines(path: Path, node: Node) -> list[tuple[int, str]]:
    """Examples as (line number, text): a block string of `- ` lines, or a YAML list."""
    if isinstance(node, SequenceNode):
        return [(_line(child), _scalar(path, child).strip()) for child in node.value]
    if not isinstance(node, ScalarNode):
        raise TrainingDataError(path, _line(node), "`examples` must be a `- ` list in a string")
    first = _line(node) + (1 if node.style in ("|", ">") else 0)
    out = []
    for index, raw in enumerate(node.value.splitlines()):
        stripped = raw.strip()
        if not stripped or stripped.startswith("#"):
            continue
        if not stripped.startswith("- "):
            raise TrainingDataError(
                path, first + index, f"example lines must start with '- ', got {stripped!r}"
            )
        out.append((first + index, stripped[2:].strip()))
    return out


def _scalar(path: Path, node: Node) -> str:
    if not isinstance(node, ScalarNode) or not str(node.value).strip():
        raise TrainingDataError(path, _line(node), "expected a non-empty text value")
    return str(node.value)


def _line(node: Node) -> int:
    return int(node.start_mark.line) + 1
