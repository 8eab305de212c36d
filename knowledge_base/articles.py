"""Help-centre articles from files and folders: Markdown with a YAML front matter (title, tags,
url), HTML pages, plain text, and CSV or JSON FAQ files; broken files are reported and skipped."""

from __future__ import annotations

from collections.abc import Callable
from pathlib import Path

import yaml

from knowledge_base.documents import Article, ArticleError, LoadReport, read_utf8
from knowledge_base.faq import FAQRowErrors, read_faq_csv, read_faq_json
from knowledge_base.html_text import read_html_article
from knowledge_base.plain_text import read_text_article

__all__ = [
    "SUFFIXES",
    "Article",
    "ArticleError",
    "LoadReport",
    "article_files",
    "load_articles",
    "read_article",
]

Reader = Callable[[Path, str], list[Article]]
Progress = Callable[[int, int], None]


def _markdown(path: Path, url_prefix: str) -> list[Article]:
    return [read_article(path, url_prefix)]


def _html(path: Path, url_prefix: str) -> list[Article]:
    return [read_html_article(path, url_prefix)]


def _text(path: Path, url_prefix: str) -> list[Article]:
    return [read_text_article(path, url_prefix)]


READERS: dict[str, Reader] = {
    ".md": _markdown,
    ".markdown": _markdown,
    ".html": _html,
    ".htm": _html,
    ".txt": _text,
    ".csv": read_faq_csv,
    ".json": read_faq_json,
}
SUFFIXES = tuple(READERS)


def load_articles(
    sources: list[Path], url_prefix: str = "/kb/", progress: Progress | None = None
) -> LoadReport:
    """Every article file under the sources (files or folders); broken files are reported and
    skipped, the rest load. Folders contribute the files with a known suffix (`SUFFIXES`)."""
    articles: list[Article] = []
    errors: list[str] = []
    seen: set[str] = set()
    files = article_files(sources)
    for done, path in enumerate(files, start=1):
        for article in _read_file(path, url_prefix, errors):
            if article.id in seen:
                errors.append(f"{path}: another article already has the id {article.id!r}")
                continue
            seen.add(article.id)
            articles.append(article)
        if progress is not None:
            progress(done, len(files))
    return LoadReport(articles, errors)


def _read_file(path: Path, url_prefix: str, errors: list[str]) -> list[Article]:
    reader = READERS.get(path.suffix.lower(), _markdown)
    try:
        return reader(path, url_prefix)
    except FAQRowErrors as exc:  # the file loads without its broken rows
        errors.append(str(exc))
        return exc.articles
    except ArticleError as exc:
        errors.append(str(exc))
        return []


def read_article(path: Path, url_prefix: str = "/kb/") -> Article:
    """One Markdown article; the file name is its id."""
    text = read_utf8(path)
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


def article_files(sources: list[Path]) -> list[Path]:
    files: list[Path] = []
    for source in sources:
        if source.is_dir():
            found = (p for p in source.rglob("*") if p.suffix.lower() in READERS and p.is_file())
            files.extend(sorted(found))
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
    except RecursionError as exc:
        raise ArticleError(f"{path}: the front matter is nested too deeply") from exc
    if not isinstance(meta, dict):
        raise ArticleError(f"{path}: the front matter must be a mapping")
    return meta, parts[1].lstrip("-").lstrip("\n")


def _first_heading(body: str) -> str | None:
    for line in body.splitlines():
        if line.startswith("# "):
            return line[2:].strip()
    return None
