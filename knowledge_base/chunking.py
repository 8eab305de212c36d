"""Split articles into passages by heading, then by length, at sentence boundaries."""

from __future__ import annotations

import re
from dataclasses import dataclass

from knowledge_base.articles import Article

_SENTENCE_END = re.compile(r"(?<=[.!?])\s+(?=[A-Z0-9\"'(])")
_LINK = re.compile(r"!?\[([^\]]+)\]\([^)]*\)")
# Emphasis and code marks around text; underscores only outside words (customer_service@...).
_EMPHASIS = re.compile(
    r"(\*{1,3}|`+)(?=\S)(.+?)(?<=\S)\1|(?<!\w)(_{1,3})(?=\S)(.+?)(?<=\S)\3(?!\w)"
)
# Block marks at the start of a line: headings, quotes, list bullets.
_LINE_MARK = re.compile(r"^[ \t]*(?:#+|>+|[-*+])[ \t]+", re.MULTILINE)


@dataclass(frozen=True)
class Chunk:
    article: Article
    heading: str
    sentences: tuple[str, ...]

    @property
    def text(self) -> str:
        return " ".join(self.sentences)


def chunk_article(article: Article, max_words: int) -> list[Chunk]:
    chunks = []
    for heading, paragraph_text in _sections(article):
        sentences = split_sentences(paragraph_text)
        for group in _by_length(sentences, max_words):
            chunks.append(Chunk(article, heading, tuple(group)))
    return chunks


def split_sentences(text: str) -> list[str]:
    plain = _LINE_MARK.sub("", _LINK.sub(r"\1", text))
    plain = _EMPHASIS.sub(lambda m: m.group(2) or m.group(4), plain)
    lines = [line.strip(" -\t") for line in plain.splitlines()]
    joined = " ".join(
        line if line.endswith((".", "!", "?", ":")) else line + "." for line in lines if line
    )
    return [s.strip() for s in _SENTENCE_END.split(joined) if s.strip()]


def _sections(article: Article) -> list[tuple[str, str]]:
    sections: list[tuple[str, list[str]]] = [(article.title, [])]
    for line in article.body.splitlines():
        if line.startswith("#"):
            sections.append((line.lstrip("#").strip(), []))
        else:
            sections[-1][1].append(line)
    return [(heading, "\n".join(lines)) for heading, lines in sections if "".join(lines).strip()]


def _by_length(sentences: list[str], max_words: int) -> list[list[str]]:
    groups: list[list[str]] = [[]]
    words = 0
    for sentence in sentences:
        count = len(sentence.split())
        if groups[-1] and words + count > max_words:
            groups.append([])
            words = 0
        groups[-1].append(sentence)
        words += count
    return [g for g in groups if g]
