"""Fuzzing the knowledge-base import: any file of any supported kind loads as articles or is
reported as "file: reason" and skipped; load_articles itself never raises."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import yaml
from hypothesis import given
from hypothesis import strategies as st

from knowledge_base.articles import SUFFIXES, LoadReport, load_articles
from tests.fuzz.strategies import DEEP_CLOSED, JSON, SCALARS, TEXT, json_text
from tests.fuzz.tally import fuzz, outcome

TAGS = st.one_of(st.sampled_from(["<main>", "</main>", "<p>", "<h2>", "<script>", "<br/>"]), TEXT)
HTML = st.lists(TAGS, max_size=10).map("".join)
FRONT_MATTER = st.one_of(
    st.dictionaries(st.sampled_from(["title", "tags", "url", "other"]), JSON, max_size=4).map(
        lambda meta: yaml.safe_dump(meta, allow_unicode=True)
    ),
    TEXT,
)
MARKDOWN = st.builds(
    lambda meta, closed, body: f"---\n{meta}{chr(10) + '---' if closed else ''}\n{body}",
    FRONT_MATTER,
    st.booleans(),
    TEXT,
)
FAQ_ROW = st.dictionaries(
    st.sampled_from(["question", "answer", "url", "tags", "id", "title", "body"]),
    st.one_of(SCALARS, JSON),
    max_size=5,
)
FAQ_JSON = st.one_of(st.lists(st.one_of(FAQ_ROW, JSON), max_size=4), JSON).map(json_text)
CONTENTS = {
    ".md": st.one_of(MARKDOWN, st.text()),
    ".html": st.one_of(HTML, st.text()),
    ".txt": st.text(),
    ".csv": st.one_of(
        st.builds(lambda head, body: head + body, st.sampled_from(["question,answer\n", ""]), TEXT),
        st.just('question,answer\n"' + "z" * 140_000 + '",a\n'),
    ),
    ".json": st.one_of(FAQ_JSON, st.text()),
}

KIND = {".markdown": ".md", ".htm": ".html"}


def load(path: Path) -> LoadReport:
    try:
        report = load_articles([path])
    except Exception:
        outcome("kb_import", declared=False)
        raise
    declared = all(error.startswith(f"{path}: ") for error in report.errors)
    outcome("kb_import", declared=declared)
    assert declared, report.errors
    for article in report.articles:
        assert article.id and article.title.strip() and article.body.strip() and article.url
    return report


@fuzz
@given(data=st.data(), suffix=st.sampled_from(SUFFIXES))
def test_any_file_loads_or_is_reported(folder: Path, data: Any, suffix: str) -> None:
    text = data.draw(CONTENTS[KIND.get(suffix, suffix)])
    path = folder / f"article{suffix}"
    path.write_text(text, encoding="utf-8")
    load(path)


@fuzz
@given(raw=st.binary(max_size=300), suffix=st.sampled_from(SUFFIXES))
def test_any_bytes_load_or_are_reported(folder: Path, raw: bytes, suffix: str) -> None:
    path = folder / f"bytes{suffix}"
    path.write_bytes(raw)
    load(path)


LINE = st.text(st.characters(codec="ascii", categories=["L", "N"]), min_size=1, max_size=20)


@fuzz
@given(title=LINE, body=LINE, tags=st.lists(LINE, max_size=3))
def test_well_formed_markdown_loads(folder: Path, title: str, body: str, tags: list[str]) -> None:
    path = folder / "good.md"
    path.write_text(
        f"---\n{yaml.safe_dump({'title': title, 'tags': tags})}---\n{body}\n", encoding="utf-8"
    )
    report = load(path)
    assert report.errors == []
    [article] = report.articles
    assert (article.title, article.body, article.tags) == (title, body, tuple(tags))


@fuzz
@given(rows=st.lists(st.tuples(LINE, LINE), min_size=1, max_size=5))
def test_well_formed_faq_json_loads(folder: Path, rows: list[tuple[str, str]]) -> None:
    path = folder / "faq.json"
    path.write_text(json_text([{"question": q, "answer": a} for q, a in rows]))
    report = load(path)
    assert report.errors == []
    assert [(a.title, a.body) for a in report.articles] == rows


def test_deeply_nested_front_matter_and_json_are_reported(folder: Path) -> None:
    nested = "[" * 100_000 + "]" * 100_000  # beyond the JSON decoder's recursion limit too
    for name, text in [("deep.md", f"---\nx: {DEEP_CLOSED}\n---\nbody"), ("deep.json", nested)]:
        path = folder / name
        path.write_text(text)
        report = load(path)
        assert report.articles == [] and "nested too deeply" in report.errors[0]
