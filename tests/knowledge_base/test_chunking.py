"""Splitting articles into passages: by heading, then by length at sentence boundaries."""

from __future__ import annotations

from knowledge_base.articles import Article
from knowledge_base.chunking import chunk_article, split_sentences


def article(body: str, title: str = "Returns policy") -> Article:
    return Article(id="returns-policy", title=title, body=body, url="/kb/returns-policy")


BODY = """Intro sentence one. Intro sentence two.

## How to return

Pack the item. Print the label.

## Empty section

### Refund timing

Refunds take 5 days."""


def test_sections_follow_the_headings() -> None:
    chunks = chunk_article(article(BODY), max_words=100)
    assert [(c.heading, c.sentences) for c in chunks] == [
        ("Returns policy", ("Intro sentence one.", "Intro sentence two.")),
        ("How to return", ("Pack the item.", "Print the label.")),
        ("Refund timing", ("Refunds take 5 days.",)),
    ]
    assert all(c.article.id == "returns-policy" for c in chunks)
    assert chunks[1].text == "Pack the item. Print the label."


def test_long_sections_are_split_by_length_at_sentence_boundaries() -> None:
    sentences = [f"Sentence number {i} has exactly six words." for i in range(10)]
    chunks = chunk_article(article("## Long\n\n" + " ".join(sentences)), max_words=15)
    assert len(chunks) > 1
    assert all(c.heading == "Long" for c in chunks)
    assert all(len(c.text.split()) <= 15 for c in chunks)
    assert [s for c in chunks for s in c.sentences] == sentences
    # As full as the limit allows: two six-word sentences per passage.
    assert [len(c.sentences) for c in chunks] == [2, 2, 2, 2, 2]


def test_a_sentence_longer_than_the_limit_is_kept_whole() -> None:
    long = "Many " + " ".join(["words"] * 30) + "."
    chunks = chunk_article(article(f"Short one. {long} Short two."), max_words=10)
    assert [c.sentences for c in chunks] == [("Short one.",), (long,), ("Short two.",)]


def test_links_are_replaced_by_their_text() -> None:
    assert split_sentences("See [the returns page](/kb/returns) for details.") == [
        "See the returns page for details."
    ]


def test_emphasis_and_code_marks_are_stripped() -> None:
    text = "This is **very** important and *quite* useful. Use the code `WELCOME10` at checkout."
    assert split_sentences(text) == [
        "This is very important and quite useful.",
        "Use the code WELCOME10 at checkout.",
    ]


def test_emphasis_inside_link_text_is_stripped() -> None:
    assert split_sentences("Read [our **returns** policy](/kb/returns-policy) first.") == [
        "Read our returns policy first."
    ]


def test_text_that_only_looks_like_markup_is_kept() -> None:
    text = 'Go to "My account" > "Privacy". Email customer_service@shop.example about order #1234.'
    assert split_sentences(text) == [
        'Go to "My account" > "Privacy".',
        "Email customer_service@shop.example about order #1234.",
    ]


def test_list_items_and_quotes_become_sentences() -> None:
    text = "You can pay with:\n- **Card**: Visa or Mastercard\n- PayPal\n\n> Klarna is coming soon"
    assert split_sentences(text) == [
        "You can pay with: Card: Visa or Mastercard.",
        "PayPal.",
        "Klarna is coming soon.",
    ]


def test_an_article_without_text_has_no_chunks() -> None:
    assert chunk_article(article("## Only a heading\n\n"), max_words=50) == []
