"""What every source format becomes: articles, and a report of the files that were skipped."""

from __future__ import annotations

import re
from dataclasses import dataclass
from pathlib import Path


class ArticleError(ValueError):
    """An article file cannot be read; the message names the file and the reason."""


@dataclass(frozen=True)
class Article:
    id: str
    title: str
    body: str  # Markdown (headings as `#` lines), without any front matter
    url: str
    tags: tuple[str, ...] = ()


@dataclass(frozen=True)
class LoadReport:
    articles: list[Article]
    errors: list[str]  # "file: reason" for every file (or FAQ row) skipped


_NOT_SLUG = re.compile(r"[^a-z0-9]+")


def slugify(text: str, max_length: int = 60) -> str:
    """A URL-safe id made of the text's lowercase words, joined by dashes."""
    slug = _NOT_SLUG.sub("-", text.lower()).strip("-")
    return slug[:max_length].rstrip("-") or "article"


def read_utf8(path: Path) -> str:
    """The file's text, or an ArticleError naming the file and why it cannot be read."""
    try:
        return path.read_text(encoding="utf-8")
    except (OSError, UnicodeDecodeError) as exc:
        raise ArticleError(f"{path}: cannot read the file ({exc})") from exc
