"""Rule entities: regexes, lookups and synonyms from the training data, and built-in patterns."""

from __future__ import annotations

import pytest

from nlu.entities import Entity, EntityExtractor
from nlu.training_data import TrainingData


@pytest.fixture(scope="module")
def extractor() -> EntityExtractor:
    data = TrainingData(
        synonyms={"deutschland": "Germany", "holland": "Netherlands", "uk": "United Kingdom"},
        regexes={"postcode": [r"\b\d{4} ?[A-Z]{2}\b"]},
        lookups={"country": ["Germany", "Deutschland", "Netherlands", "United Kingdom", "UK"]},
    )
    return EntityExtractor(data)


def found(extractor: EntityExtractor, text: str) -> list[tuple[str, str, str]]:
    """(entity, value, covered text) for every entity found in `text`."""
    return [(e.entity, e.value, text[e.start : e.end]) for e in extractor.extract(text)]


def test_regex_from_training_data(extractor: EntityExtractor) -> None:
    text = "please deliver to 5038 EB tomorrow"
    assert found(extractor, text) == [("postcode", "5038 EB", "5038 EB")]
    assert extractor.extract(text)[0].extractor == "RegexEntityExtractor"


def test_regex_from_training_data_replaces_the_default_order_number() -> None:
    custom = EntityExtractor(TrainingData(regexes={"order_number": [r"\bAF-\d{6}\b"]}))
    assert found(custom, "orders AF-123456 and XY-1234567") == [
        ("order_number", "AF-123456", "AF-123456")
    ]


def test_default_order_number_pattern(extractor: EntityExtractor) -> None:
    text = "where is order XY-1234567? not ab-12345 or XY-12"
    assert found(extractor, text) == [("order_number", "XY-1234567", "XY-1234567")]


@pytest.mark.parametrize("written", ["Germany", "germany", "GERMANY"])
def test_lookup_matches_ignore_case(extractor: EntityExtractor, written: str) -> None:
    text = f"how long does shipping to {written} take?"
    entities = extractor.extract(text)
    assert [(e.entity, text[e.start : e.end]) for e in entities] == [("country", written)]
    assert entities[0].value.lower() == "germany"


def test_lookup_matches_whole_multi_word_values(extractor: EntityExtractor) -> None:
    assert found(extractor, "do you ship to the united kingdom") == [
        ("country", "united kingdom", "united kingdom")
    ]


def test_lookup_does_not_match_inside_a_word(extractor: EntityExtractor) -> None:
    assert found(extractor, "my bouquet was wilted") == []


@pytest.mark.parametrize(
    ("text", "surface", "canonical"),
    [
        ("ship to Deutschland please", "Deutschland", "Germany"),
        ("shipping to the UK", "UK", "United Kingdom"),
    ],
)
def test_synonyms_map_to_the_canonical_value(
    extractor: EntityExtractor, text: str, surface: str, canonical: str
) -> None:
    assert found(extractor, text) == [("country", canonical, surface)]


def test_email(extractor: EntityExtractor) -> None:
    text = "write to jane.doe+shop@example.co.uk about it"
    assert found(extractor, text) == [
        ("email", "jane.doe+shop@example.co.uk", "jane.doe+shop@example.co.uk")
    ]


@pytest.mark.parametrize(
    ("text", "amount"),
    [
        ("I was charged 49.90 EUR twice", "49.90 EUR"),
        ("I paid €20 for shipping", "€20"),
        ("it cost 15 euros", "15 euros"),
        ("a refund of $ 35 please", "$ 35"),
    ],
)
def test_money_amounts(extractor: EntityExtractor, text: str, amount: str) -> None:
    assert found(extractor, text) == [("amount", amount, amount)]


def test_a_number_without_currency_is_not_an_amount(extractor: EntityExtractor) -> None:
    assert found(extractor, "I ordered 3 jackets") == []


@pytest.mark.parametrize(
    ("text", "phone"),
    [
        ("call me on +44 20 7946 0958 please", "+44 20 7946 0958"),
        ("my number is (555) 123-4567", "(555) 123-4567"),
        ("ring 020 7946 0958 after six", "020 7946 0958"),
        ("mobile: 0612345678", "0612345678"),
        ("whatsapp +31 6 1234-5678", "+31 6 1234-5678"),
    ],
)
def test_phone_numbers(extractor: EntityExtractor, text: str, phone: str) -> None:
    assert found(extractor, text) == [("phone", phone, phone)]


@pytest.mark.parametrize(
    "text",
    [
        "I ordered 3 jackets in 2023",
        "it was 1250.00 in total",
        "card 4111 1111 1111 1111",  # 16 digits: longer than any phone number
        "call 12345",
    ],
)
def test_numbers_that_are_no_phone_number(extractor: EntityExtractor, text: str) -> None:
    assert [e.entity for e in extractor.extract(text)] == []


@pytest.mark.parametrize(
    ("text", "date"),
    [
        ("delivered on 2024-03-05 at noon", "2024-03-05"),
        ("ordered 5/3/2024", "5/3/2024"),
        ("ordered 05.03.24", "05.03.24"),
        ("paid on 3 March", "3 March"),
        ("paid on 3 mar 2024", "3 mar 2024"),
        ("since the 5th of March", "5th of March"),
        ("since March 3rd, 2024", "March 3rd, 2024"),
        ("arrives May 12", "May 12"),
    ],
)
def test_dates(extractor: EntityExtractor, text: str, date: str) -> None:
    assert found(extractor, text) == [("date", date, date)]


@pytest.mark.parametrize("text", ["you may 3 times ask", "tomorrow", "on 2024-13-05", "32 March"])
def test_what_the_date_rule_leaves_alone(extractor: EntityExtractor, text: str) -> None:
    assert [e.entity for e in extractor.extract(text) if e.entity == "date"] == []


def test_training_data_regexes_replace_the_built_in_phone_rule() -> None:
    custom = EntityExtractor(TrainingData(regexes={"phone": [r"\b06\d{8}\b"]}))
    assert found(custom, "0612345678 or +44 20 7946 0958") == [
        ("phone", "0612345678", "0612345678")
    ]


def test_entities_come_in_text_order_with_offsets(extractor: EntityExtractor) -> None:
    text = "Order XY-123456 to Germany cost 20 EUR, mail me at a@b.com"
    entities = extractor.extract(text)
    assert [e.entity for e in entities] == ["order_number", "country", "amount", "email"]
    assert [e.start for e in entities] == sorted(e.start for e in entities)
    assert all(text[e.start : e.end] == e.value for e in entities)


def test_overlapping_matches_keep_the_longest(extractor: EntityExtractor) -> None:
    # "1234 AF" looks like a postcode, but the longer order number overlapping it wins.
    text = "1234 AF-123456"
    assert found(extractor, text) == [("order_number", "AF-123456", "AF-123456")]


def test_overlapping_matches_at_the_same_start_keep_the_longest() -> None:
    custom = EntityExtractor(
        TrainingData(regexes={"size": [r"\bXL\b"], "product": [r"\bXL Parka\b"]})
    )
    assert found(custom, "one XL Parka") == [("product", "XL Parka", "XL Parka")]


def test_separate_matches_are_all_kept(extractor: EntityExtractor) -> None:
    assert [e.value for e in extractor.extract("5038 EB and 1011 AB")] == ["5038 EB", "1011 AB"]


def test_as_rasa_shape() -> None:
    entity = Entity("country", "Germany", 3, 10, "SpacyEntityRuler")
    assert entity.as_rasa() == {
        "entity": "country",
        "value": "Germany",
        "start": 3,
        "end": 10,
        "extractor": "SpacyEntityRuler",
    }
