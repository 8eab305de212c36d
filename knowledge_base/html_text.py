"""HTML pages as articles: the main text (the `<main>` or `<article>` element when there is one),
without navigation, headers, footers, scripts or styles; headings become Markdown headings."""

from __future__ import annotations

import re
from html.parser import HTMLParser
from pathlib import Path

from knowledge_base.documents import Article, ArticleError, read_utf8

# Elements whose content is never article text.
SKIPPED = frozenset(
    {
        "nav",
        "header",
        "footer",
        "aside",
        "script",
        "style",
        "noscript",
        "template",
        "form",
        "svg",
        "button",
        "iframe",
        "head",
        "title",
    }
)
MAIN = frozenset({"main", "article"})
HEADINGS = {f"h{level}": "#" * level for level in range(1, 7)}
BLOCKS = frozenset(
    {
        "p",
        "div",
        "section",
        "li",
        "br",
        "tr",
        "table",
        "ul",
        "ol",
        "blockquote",
        "pre",
        "dd",
        "dt",
        "title",
        *HEADINGS,
    }
)
VOID = frozenset({"br", "img", "hr", "meta", "link", "input", "wbr", "source", "area", "col"})
_SPACES = re.compile(r"[ \t\r\f\v]+")


class _TextExtractor(HTMLParser):
    """Collects the lines of text outside skipped elements, separately inside `main`/`article`."""

    def __init__(self) -> None:
        super().__init__(convert_charrefs=True)
        self.title = ""
        self.all_lines: list[str] = [""]
        self.main_lines: list[str] = [""]
        self._open: list[str] = []

    def handle_starttag(self, tag: str, attrs: list[tuple[str, str | None]]) -> None:
        if tag in VOID:
            if tag == "br":
                self._break()
            return
        self._open.append(tag)
        if tag in BLOCKS:
            self._break()
        if tag in HEADINGS and not self._skipping():
            self._write(HEADINGS[tag] + " ")

    def handle_endtag(self, tag: str) -> None:
        if tag not in self._open:
            return  # a stray closing tag: browsers ignore it too
        while self._open and self._open.pop() != tag:
            pass
        if tag in BLOCKS:
            self._break()

    def handle_data(self, data: str) -> None:
        if self._open and self._open[-1] == "title" and not self.title:
            self.title = data.strip()
        if not self._skipping():
            self._write(_SPACES.sub(" ", data.replace("\n", " ")))

    def _skipping(self) -> bool:
        return any(tag in SKIPPED for tag in self._open)

    def _in_main(self) -> bool:
        return any(tag in MAIN for tag in self._open)

    def _write(self, text: str) -> None:
        self.all_lines[-1] += text
        if self._in_main():
            self.main_lines[-1] += text

    def _break(self) -> None:
        for lines in (self.all_lines, self.main_lines):
            if lines[-1].strip():
                lines.append("")


def html_main_text(html: str) -> tuple[str, str]:
    """The page's title (`<title>`, else its first heading) and its main text as Markdown."""
    extractor = _TextExtractor()
    extractor.feed(html)
    extractor.close()
    lines = extractor.main_lines if "".join(extractor.main_lines).strip() else extractor.all_lines
    body = "\n\n".join(line.strip() for line in lines if line.strip() and line.strip("# "))
    heading = next((line for line in body.splitlines() if line.startswith("# ")), "")
    return (extractor.title or heading[2:]).strip(), body


def read_html_article(path: Path, url_prefix: str = "/kb/") -> Article:
    title, body = html_main_text(read_utf8(path))
    if not body.strip():
        raise ArticleError(f"{path}: the page has no main text")
    if not title:
        raise ArticleError(f"{path}: no title (`<title>` or an `<h1>`)")
    return Article(path.stem, title, body, f"{url_prefix}{path.stem}")
