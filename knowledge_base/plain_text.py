"""Plain-text articles: the first non-empty line is the title, the rest is the text."""

from __future__ import annotations

from pathlib import Path

from knowledge_base.documents import Article, ArticleError, read_utf8


def read_text_article(path: Path, url_prefix: str = "/kb/") -> Article:
    lines = read_utf8(path).strip().splitlines()
    if not lines:
        raise ArticleError(f"{path}: the file is empty")
    title, body = lines[0].strip(), "\n".join(lines[1:]).strip()
    if not body:
        raise ArticleError(f"{path}: the article has no text after its title line")
    return Article(path.stem, title, body, f"{url_prefix}{path.stem}")
