"""Loading help-centre articles: front matter, titles, and broken files reported and skipped."""

from __future__ import annotations

import textwrap
from pathlib import Path

import pytest

from knowledge_base.articles import ArticleError, load_articles, read_article


def write(folder: Path, name: str, content: str | bytes) -> Path:
    path = folder / name
    path.parent.mkdir(parents=True, exist_ok=True)
    if isinstance(content, bytes):
        path.write_bytes(content)
    else:
        path.write_text(textwrap.dedent(content).lstrip("\n"), encoding="utf-8")
    return path


GOOD_FRONT_MATTER = """
---
title: Gift cards
tags: [gifts, payment]
---

Gift cards are valid for two years.

## Balance

Check the balance on the gift card page.
"""

GOOD_HEADING = """
# Store locations

We have stores in Amsterdam and Utrecht.
"""


def test_front_matter_is_parsed(tmp_path: Path) -> None:
    article = read_article(write(tmp_path, "gift-cards.md", GOOD_FRONT_MATTER))
    assert article.id == "gift-cards"
    assert article.title == "Gift cards"
    assert article.tags == ("gifts", "payment")
    assert article.url == "/kb/gift-cards"
    assert article.body.startswith("Gift cards are valid for two years.")
    assert "title:" not in article.body
    assert "---" not in article.body
    assert article.body.endswith("Check the balance on the gift card page.")


def test_front_matter_url_and_prefix(tmp_path: Path) -> None:
    path = write(
        tmp_path,
        "faq.md",
        """
        ---
        title: FAQ
        url: https://help.example/faq
        ---
        Answers.
        """,
    )
    assert read_article(path).url == "https://help.example/faq"
    other = write(tmp_path, "gift-cards.md", GOOD_FRONT_MATTER)
    assert read_article(other, url_prefix="/help/").url == "/help/gift-cards"


def test_title_from_the_first_heading_without_front_matter(tmp_path: Path) -> None:
    article = read_article(write(tmp_path, "stores.md", GOOD_HEADING))
    assert article.title == "Store locations"
    assert article.tags == ()
    assert article.url == "/kb/stores"
    assert "Amsterdam and Utrecht" in article.body


def test_front_matter_without_title_uses_the_heading(tmp_path: Path) -> None:
    path = write(
        tmp_path, "sizes.md", "---\ntags: [fit]\n---\n# Size guide\n\nOur sizes run small.\n"
    )
    article = read_article(path)
    assert (article.title, article.tags) == ("Size guide", ("fit",))


BROKEN = {
    "unclosed.md": ("---\ntitle: Never closed\n\nSome text.\n", "never closed"),
    "invalid-yaml.md": ("---\ntitle: [unclosed\n---\nSome text.\n", "not valid YAML"),
    "not-mapping.md": ("---\n- a\n- b\n---\nSome text.\n", "must be a mapping"),
    "no-title.md": ("Just some text without any heading.\n", "no title"),
    "empty-body.md": ("---\ntitle: Empty\n---\n\n   \n", "no text"),
    "bad-tags.md": ("---\ntitle: Tags\ntags: shipping\n---\nSome text.\n", "`tags` must be a list"),
    "latin1.md": ("# Caf\xe9\n\nCaf\xe9 cr\xe8me.\n".encode("latin-1"), "cannot read"),
}


@pytest.mark.parametrize("name", sorted(BROKEN))
def test_read_article_rejects_a_broken_file(tmp_path: Path, name: str) -> None:
    content, reason = BROKEN[name]
    path = write(tmp_path, name, content)
    with pytest.raises(ArticleError) as info:
        read_article(path)
    assert str(info.value).startswith(f"{path}: ")
    assert reason in str(info.value)


def test_load_reports_and_skips_broken_files_and_keeps_the_rest(tmp_path: Path) -> None:
    for name, (content, _) in BROKEN.items():
        write(tmp_path, name, content)
    write(tmp_path, "gift-cards.md", GOOD_FRONT_MATTER)
    write(tmp_path, "nested/stores.md", GOOD_HEADING)
    write(tmp_path, "notes.log", "not an article: unknown suffixes are ignored")

    report = load_articles([tmp_path])

    assert sorted(a.id for a in report.articles) == ["gift-cards", "stores"]
    assert len(report.errors) == len(BROKEN)
    for name, (_, reason) in BROKEN.items():
        matching = [e for e in report.errors if e.startswith(f"{tmp_path / name}: ")]
        assert len(matching) == 1, name
        assert reason in matching[0]


def test_duplicate_ids_are_reported_and_the_first_is_kept(tmp_path: Path) -> None:
    first = write(tmp_path / "a", "gift-cards.md", GOOD_FRONT_MATTER)
    second = write(tmp_path / "b", "gift-cards.md", "# Other gift cards\n\nDifferent text.\n")
    report = load_articles([tmp_path / "a", tmp_path / "b"])
    assert [a.title for a in report.articles] == ["Gift cards"]
    assert len(report.errors) == 1
    assert str(second) in report.errors[0]
    assert "'gift-cards'" in report.errors[0]
    assert str(first) not in report.errors[0]


def test_sources_may_be_single_files(tmp_path: Path) -> None:
    path = write(tmp_path, "stores.md", GOOD_HEADING)
    write(tmp_path, "gift-cards.md", GOOD_FRONT_MATTER)
    report = load_articles([path])
    assert [a.id for a in report.articles] == ["stores"]
    assert report.errors == []


def test_a_missing_source_file_is_reported(tmp_path: Path) -> None:
    report = load_articles([tmp_path / "absent.md"])
    assert report.articles == []
    assert len(report.errors) == 1
    assert str(tmp_path / "absent.md") in report.errors[0]


def test_the_shipped_articles_all_load() -> None:
    folder = Path(__file__).resolve().parents[2] / "knowledge_base" / "articles"
    report = load_articles([folder])
    assert report.errors == []
    assert len(report.articles) == len(list(folder.glob("*.md")))
    assert all(a.title and a.body for a in report.articles)
