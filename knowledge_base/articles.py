"""Help-centre articles from Markdown files with a YAML front matter (title, tags, url)."""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path

import yaml


class ArticleError(ValueError):
    """An article file cannot be read; the message names the file and the reason."""


@dataclass(frozen=True)
class Article:
    id: str
    title: str
    body: str  # Markdown, without the front matter
    url: str
    tags: tuple[str, ...] = ()


@dataclass(frozen=True)
class LoadReport:
    articles: list[Article]
    errors: list[str]  # "file: reason" for every file skipped


def load_articles(sources: list[Path], url_prefix: str = "/kb/") -> LoadReport:
    """Every `.md` file under the sources (files or folders); broken files are reported, skipped."""
    articles, errors, seen = [], [], set()
    for path in _markdown_files(sources):
        try:
            article = read_article(path, url_prefix)
        except ArticleError as exc:
            errors.append(str(exc))
            continue
        if article.id in seen:
            errors.append(f"{path}: another article already has the id {article.id!r}")
            continue
        seen.add(article.id)
        articles.append(article)
    return LoadReport(articles, errors)


def read_article(path: Path, url_prefix: str = "/kb/") -> Article:
    try:
        text = path.read_text(encoding="utf-8")
    except (OSError, UnicodeDecodeError) as exc:
        raise ArticleError(f"{path}: cannot read the file ({exc})") from exc
    meta, body = _split_front_matter(path, text)
    title = meta.get("title") or _first_heading(body)
    if not isinstance(title, str) or not title.strip():
        raise ArticleError(f"{path}: no title (front matter `title:` or a `# heading`)")
    if not body.strip():
        raise ArticleError(f"{path}: the article has no text")
    tags = meta.get("tags") or []
    if not isinstance(tags, list):
        raise ArticleError(f"{path}: `tags` must be a list, got {tags!r}")
    slug = path.stem
    url = meta.get("url") or f"{url_prefix}{slug}"
    return Article(slug, title.strip(), body.strip(), str(url), tuple(str(t) for t in tags))


def _markdown_files(sources: list[Path]) -> list[Path]:
    files: list[Path] = []
    for source in sources:
        if source.is_dir():
            files.extend(sorted(source.rglob("*.md")))
        else:
            files.append(source)
    return files


def _split_front_matter(path: Path, text: str) -> tuple[dict[str, object], str]:
    if not text.startswith("---"):
        return {}, text
    parts = text.split("\n---", 1)
    if len(parts) != 2:
        raise ArticleError(f"{path}: the front matter opened with --- is never closed")
    try:
        meta = yaml.safe_load(parts[0][3:]) or {}
    except yaml.YAMLError as exc:
        raise ArticleError(f"{path}: the front matter is not valid YAML ({exc})") from exc
    if not isinstance(meta, dict):
        raise ArticleError(f"{path}: the front matter must be a mapping")
    return meta, parts[1].lstrip("-").lstrip("\n")


def _first_heading(body: str) -> str | None:
    for line in body.splitlines():
        if line.startswith("# "):
            return line[2:].strip()
    return None
