"""Every import format: HTML, plain text, CSV and JSON FAQ files, and their broken cases."""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from knowledge_base.articles import Article, load_articles

PAGE = """<!doctype html>
<html><head><title>Returns | Alder &amp; Finch</title><style>body { color: red }</style>
<script>var tracking = "do not index";</script></head>
<body>
<header><a href="/">Home</a> <a href="/shop">Shop</a></header>
<nav><ul><li>Orders</li><li>Returns</li></ul></nav>
<main>
  <h1>Returning an item</h1>
  <p>You can return <b>any item</b> within 30&nbsp;days.</p>
  <h2>Costs</h2>
  <ul><li>Free in the Netherlands</li><li>5 EUR elsewhere</li></ul>
  <aside>Related: gift cards</aside>
</main>
<footer>Copyright Alder &amp; Finch</footer>
</body></html>
"""


def load_one(path: Path) -> tuple[list[Article], list[str]]:
    report = load_articles([path])
    return list(report.articles), report.errors


def test_html_keeps_the_main_text_and_its_headings(tmp_path: Path) -> None:
    (tmp_path / "returns.html").write_text(PAGE, encoding="utf-8")
    report = load_articles([tmp_path])
    assert report.errors == []
    [article] = report.articles
    assert (article.id, article.title, article.url) == (
        "returns",
        "Returns | Alder & Finch",
        "/kb/returns",
    )
    assert "# Returning an item" in article.body
    assert "## Costs" in article.body
    assert "You can return any item within 30\xa0days." in article.body
    assert "Free in the Netherlands" in article.body
    for boilerplate in ("Home", "Orders", "tracking", "color", "Copyright", "Related"):
        assert boilerplate not in article.body


def test_html_without_main_uses_the_body_and_the_first_heading(tmp_path: Path) -> None:
    page = "<body><nav>Menu</nav><h1>Opening hours</h1><div>We open at 9.<br>Closed Sundays.</div>"
    (tmp_path / "hours.htm").write_text(page, encoding="utf-8")
    [article], errors = load_one(tmp_path / "hours.htm")
    assert errors == []
    assert article.title == "Opening hours"
    assert "Menu" not in article.body
    assert "We open at 9.\n\nClosed Sundays." in article.body


@pytest.mark.parametrize(
    ("name", "content", "reason"),
    [
        ("empty.html", "<html><nav>Only a menu</nav></html>", "no main text"),
        ("untitled.html", "<p>Text without any title.</p>", "no title"),
        ("latin1.html", "<title>Caf\xe9</title><p>Cr\xe8me</p>".encode("latin-1"), "cannot read"),
        ("empty.txt", "\n\n", "empty"),
        ("title-only.txt", "Just a title\n", "no text"),
        ("bad.json", "[{broken", "not valid JSON"),
        ("object.json", '{"question": "Q?", "answer": "A."}', "JSON list"),
        ("none.json", '[{"question": "Q?"}, 7]', "no usable FAQ entry"),
        ("empty.json", "[]", "no FAQ entries"),
        ("header.csv", "q,a\nWhere?,Here.\n", "no question or answer column"),
        ("quote.csv", 'question,answer\n"Where?,Here.\n', "not a valid CSV"),
    ],
)
def test_a_broken_file_is_reported_by_name_and_reason(
    tmp_path: Path, name: str, content: str | bytes, reason: str
) -> None:
    path = tmp_path / name
    if isinstance(content, bytes):
        path.write_bytes(content)
    else:
        path.write_text(content, encoding="utf-8")
    (tmp_path / "good.txt").write_text("Opening hours\nWe open at 9.\n", encoding="utf-8")
    report = load_articles([tmp_path])
    assert [a.id for a in report.articles] == ["good"]
    [error] = report.errors
    assert error.startswith(f"{path}: ")
    assert reason in error


def test_plain_text_title_is_the_first_line(tmp_path: Path) -> None:
    path = tmp_path / "hours.txt"
    path.write_text("\nOpening hours\n\nWe open at 9.\nClosed on Sundays.\n", encoding="utf-8")
    [article], errors = load_one(path)
    assert errors == []
    assert article.title == "Opening hours"
    assert article.body == "We open at 9.\nClosed on Sundays."


def test_csv_faq_rows_become_articles_and_bad_rows_are_reported(tmp_path: Path) -> None:
    path = tmp_path / "faq.csv"
    path.write_text(
        "Question,Answer,URL,Tags\n"
        'How do I pay?,"With a card, or PayPal.",,payment;cards\n'
        ",An answer without a question,,\n"
        "Where are you?,In Utrecht.,https://example.com/where,\n"
        "How do I pay?,Twice asked.,,\n",
        encoding="utf-8",
    )
    report = load_articles([path])
    ids = [a.id for a in report.articles]
    assert ids == ["how-do-i-pay", "where-are-you", "how-do-i-pay-2"]
    first, second, _ = report.articles
    assert (first.title, first.body, first.url) == (
        "How do I pay?",
        "With a card, or PayPal.",
        "/kb/how-do-i-pay",
    )
    assert first.tags == ("payment", "cards")
    assert second.url == "https://example.com/where"
    [error] = report.errors
    assert error.startswith(f"{path}: ") and "line 3" in error


def test_json_faq_accepts_questions_and_the_evaluation_format(tmp_path: Path) -> None:
    path = tmp_path / "faq.json"
    items = [
        {"question": "Can I pay later?", "answer": "Yes, with Klarna.", "tags": ["payment"]},
        {"id": "faq-7", "title": "Gift wrap", "body": "Gift wrap costs 3 EUR."},
        {"question": "", "answer": "No question here."},
    ]
    path.write_text(json.dumps(items), encoding="utf-8")
    report = load_articles([path])
    assert [(a.id, a.title, a.url) for a in report.articles] == [
        ("can-i-pay-later", "Can I pay later?", "/kb/can-i-pay-later"),
        ("faq-7", "Gift wrap", "/kb/faq-7"),
    ]
    assert report.articles[0].tags == ("payment",)
    [error] = report.errors
    assert "item 3" in error


def test_folders_mix_formats_and_ignore_unknown_suffixes(tmp_path: Path) -> None:
    (tmp_path / "a.md").write_text("# Returns\n\nFree returns.\n", encoding="utf-8")
    (tmp_path / "b.txt").write_text("Hours\nOpen at 9.\n", encoding="utf-8")
    (tmp_path / "c.csv").write_text("question,answer\nWho?,Us.\n", encoding="utf-8")
    (tmp_path / "d.png").write_bytes(b"\x89PNG")
    report = load_articles([tmp_path])
    assert sorted(a.id for a in report.articles) == ["a", "b", "who"]
    assert report.errors == []
