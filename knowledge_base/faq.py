"""FAQ files: one article per question. CSV with a header `question,answer[,url,tags]`; JSON as a
list of `{"question", "answer", "url"?, "tags"?}` (or `{"id", "title", "body"}`) objects.

A file that cannot be parsed raises ArticleError; a row without a question or an answer is
skipped and reported through the same error, after the good rows of the file are read."""

from __future__ import annotations

import csv
import io
import json
from collections.abc import Iterable, Mapping
from pathlib import Path

from knowledge_base.documents import Article, ArticleError, read_utf8, slugify

REQUIRED = ("question", "answer")


class FAQRowErrors(ArticleError):
    """Some rows of an FAQ file were skipped; `articles` holds the rows that were read."""

    def __init__(self, message: str, articles: list[Article]) -> None:
        super().__init__(message)
        self.articles = articles


def read_faq_csv(path: Path, url_prefix: str = "/kb/") -> list[Article]:
    text = read_utf8(path)
    try:
        reader = csv.DictReader(io.StringIO(text, newline=""), strict=True)
        header = [name.strip().lower() for name in reader.fieldnames or []]
        missing = [name for name in REQUIRED if name not in header]
        if missing:
            raise ArticleError(f"{path}: the CSV header has no {' or '.join(missing)} column")
        reader.fieldnames = header
        rows = [(reader.line_num, dict(row)) for row in reader]
    except csv.Error as exc:
        raise ArticleError(f"{path}: not a valid CSV file ({exc})") from exc
    return _articles(path, url_prefix, rows, "line")


def read_faq_json(path: Path, url_prefix: str = "/kb/") -> list[Article]:
    try:
        data = json.loads(read_utf8(path))
    except json.JSONDecodeError as exc:
        raise ArticleError(f"{path}: not valid JSON ({exc})") from exc
    except RecursionError as exc:
        raise ArticleError(f"{path}: the JSON is nested too deeply") from exc
    if not isinstance(data, list):
        raise ArticleError(f"{path}: expected a JSON list of FAQ objects")
    return _articles(path, url_prefix, enumerate(data, start=1), "item")


def _articles(
    path: Path, url_prefix: str, rows: Iterable[tuple[int, object]], unit: str
) -> list[Article]:
    articles: list[Article] = []
    problems: list[str] = []
    taken: set[str] = set()
    for number, row in rows:
        try:
            article = _row_article(row, url_prefix, taken)
        except ValueError as exc:
            problems.append(f"{unit} {number}: {exc}")
            continue
        taken.add(article.id)
        articles.append(article)
    if problems and not articles:
        raise ArticleError(f"{path}: no usable FAQ entry ({'; '.join(problems)})")
    if problems:
        raise FAQRowErrors(f"{path}: skipped {'; '.join(problems)}", articles)
    if not articles:
        raise ArticleError(f"{path}: the file has no FAQ entries")
    return articles


def _row_article(row: object, url_prefix: str, taken: set[str]) -> Article:
    if not isinstance(row, Mapping):
        raise ValueError("expected an object with a question and an answer")
    question = _text(row.get("question", row.get("title")))
    answer = _text(row.get("answer", row.get("body")))
    if not question or not answer:
        raise ValueError("a question and an answer are both needed")
    article_id = _text(row.get("id")) or _unique(slugify(question), taken)
    url = _text(row.get("url")) or f"{url_prefix}{article_id}"
    return Article(article_id, question, answer, url, _tags(row.get("tags")))


def _text(value: object) -> str:
    return value.strip() if isinstance(value, str) else str(value) if value is not None else ""


def _tags(value: object) -> tuple[str, ...]:
    if isinstance(value, list):
        return tuple(str(tag).strip() for tag in value if str(tag).strip())
    separated = _text(value).replace(";", ",").split(",")
    return tuple(tag.strip() for tag in separated if tag.strip())


def _unique(slug: str, taken: set[str]) -> str:
    candidate, number = slug, 2
    while candidate in taken:
        candidate, number = f"{slug}-{number}", number + 1
    return candidate
