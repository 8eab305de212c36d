"""Reading Rasa YAML and CSV training data, and the errors for malformed files."""

from __future__ import annotations

import textwrap
from pathlib import Path

import pytest

from nlu.training_data import (
    EntitySpan,
    TrainingData,
    TrainingDataError,
    parse_annotated,
    read_training_data,
    read_unlabelled,
)


def write(tmp_path: Path, name: str, content: str | bytes) -> Path:
    path = tmp_path / name
    if isinstance(content, bytes):
        path.write_bytes(content)
    else:
        path.write_text(textwrap.dedent(content).lstrip("\n"), encoding="utf-8")
    return path


def line_of(path: Path, needle: str) -> int:
    """1-based number of the first line of the file that contains `needle`."""
    for number, line in enumerate(path.read_text(encoding="utf-8").splitlines(), start=1):
        if needle in line:
            return number
    raise AssertionError(f"{needle!r} not in {path}")


def read_error(path: Path) -> TrainingDataError:
    with pytest.raises(TrainingDataError) as info:
        read_training_data(path)
    return info.value


def assert_error(error: TrainingDataError, path: Path, line: int | None, *words: str) -> None:
    assert error.path == str(path)
    assert error.line == line
    assert str(path) in str(error)
    if line is not None:
        assert f"{path}:{line}:" in str(error)
    for word in words:
        assert word.lower() in error.problem.lower(), (word, error.problem)


FULL_YAML = """
version: "3.1"

nlu:
- intent: greet
  examples: |
    - hi
    - good morning

    - hello there
- intent: shipping_info
  examples:
    - how long does delivery to [France](country) take
    - shipping to [britain](country:United Kingdom), how many days?
    - 'to the [UK]{"entity": "country", "value": "United Kingdom"} or [NL](country:Netherlands)'
    - 'deliver my order [AF-123456]{"entity": "order_number"} to [Spain](country)'
- synonym: Germany
  examples: |
    - deutschland
    - DE
- synonym: United States
  examples:
    - USA
- regex: order_number
  examples: |
    - AF-\\d{6}
- lookup: country
  examples: |
    - France
    - Spain
"""


@pytest.fixture
def full(tmp_path: Path) -> TrainingData:
    return read_training_data(write(tmp_path, "nlu.yml", FULL_YAML))


def examples_of(data: TrainingData, intent: str) -> list[str]:
    return [e.text for e in data.examples if e.intent == intent]


def test_block_examples_are_read_in_order_skipping_blank_lines(full: TrainingData) -> None:
    assert examples_of(full, "greet") == ["hi", "good morning", "hello there"]
    assert full.intents == ["greet", "shipping_info"]


def test_yaml_list_examples_have_annotations_removed(full: TrainingData) -> None:
    assert examples_of(full, "shipping_info") == [
        "how long does delivery to France take",
        "shipping to britain, how many days?",
        "to the UK or NL",
        "deliver my order AF-123456 to Spain",
    ]


def test_entity_spans_point_at_the_surface_text_in_the_plain_example(full: TrainingData) -> None:
    shipping = [e for e in full.examples if e.intent == "shipping_info"]
    surfaces = [[example.text[s.start : s.end] for s in example.entities] for example in shipping]
    assert surfaces == [["France"], ["britain"], ["UK", "NL"], ["AF-123456", "Spain"]]
    assert [[(s.entity, s.value) for s in example.entities] for example in shipping] == [
        [("country", "France")],
        [("country", "United Kingdom")],
        [("country", "United Kingdom"), ("country", "Netherlands")],
        [("order_number", "AF-123456"), ("country", "Spain")],
    ]


def test_annotations_with_a_canonical_value_record_synonyms(full: TrainingData) -> None:
    assert full.synonyms["britain"] == "United Kingdom"
    assert full.synonyms["uk"] == "United Kingdom"
    assert full.synonyms["nl"] == "Netherlands"
    assert "france" not in full.synonyms  # no canonical value given, nothing to map


def test_synonym_items_map_lower_cased_variants_to_the_canonical_value(full: TrainingData) -> None:
    assert full.synonyms["deutschland"] == "Germany"
    assert full.synonyms["de"] == "Germany"
    assert full.synonyms["usa"] == "United States"
    assert "DE" not in full.synonyms


def test_regex_and_lookup_items(full: TrainingData) -> None:
    assert full.regexes == {"order_number": [r"AF-\d{6}"]}
    assert full.lookups == {"country": ["France", "Spain"]}


def test_parse_annotated_handles_an_annotation_at_the_very_start_and_end() -> None:
    plain, spans, synonyms = parse_annotated("[Berlin](city) to [Paris](city:Paris FR)")
    assert plain == "Berlin to Paris"
    assert spans == (EntitySpan(0, 6, "city", "Berlin"), EntitySpan(10, 15, "city", "Paris FR"))
    assert synonyms == {"paris": "Paris FR"}


def test_parse_annotated_leaves_plain_text_alone() -> None:
    assert parse_annotated("no [brackets] (here)") == ("no [brackets] (here)", (), {})


def test_yaml_suffix_is_accepted(tmp_path: Path) -> None:
    data = read_training_data(write(tmp_path, "nlu.yaml", FULL_YAML))
    assert len(data.examples) == 7


@pytest.mark.parametrize("header", ["text,category", "text,label"])
def test_csv_with_a_header_row(tmp_path: Path, header: str) -> None:
    path = write(
        tmp_path,
        "train.csv",
        f"""
        {header}
        I still have not received my new card,card_arrival
        "Hi, my card payment was declined",declined_card_payment

        How do I top up my account?,top_up
        """,
    )
    data = read_training_data(path)
    assert [(e.text, e.intent) for e in data.examples] == [
        ("I still have not received my new card", "card_arrival"),
        ("Hi, my card payment was declined", "declined_card_payment"),
        ("How do I top up my account?", "top_up"),
    ]
    assert data.intents == ["card_arrival", "declined_card_payment", "top_up"]


# --- malformed files -------------------------------------------------------------------------


def test_invalid_yaml_names_the_line(tmp_path: Path) -> None:
    path = write(
        tmp_path,
        "nlu.yml",
        """
        nlu:
        - intent: greet
          examples: |
            - hi
        - intent: bye: now
          examples: |
            - bye
        """,
    )
    assert_error(read_error(path), path, line_of(path, "bye: now"), "not valid YAML")


def test_a_file_without_nlu_key(tmp_path: Path) -> None:
    path = write(tmp_path, "nlu.yml", 'version: "3.1"\nrules: []\n')
    assert_error(read_error(path), path, 1, "nlu")


def test_a_file_that_is_not_a_mapping(tmp_path: Path) -> None:
    path = write(tmp_path, "nlu.yml", "- intent: greet\n")
    assert_error(read_error(path), path, 1, "nlu")


def test_an_item_with_two_kinds(tmp_path: Path) -> None:
    path = write(
        tmp_path,
        "nlu.yml",
        """
        nlu:
        - intent: greet
          examples: |
            - hi
        - intent: bye
          synonym: farewell
          examples: |
            - bye
        """,
    )
    assert_error(read_error(path), path, line_of(path, "intent: bye"), "exactly one of")


def test_an_item_with_no_kind(tmp_path: Path) -> None:
    path = write(
        tmp_path,
        "nlu.yml",
        """
        nlu:
        - intent: greet
          examples: |
            - hi
        - examples: |
            - bye
        """,
    )
    assert_error(read_error(path), path, line_of(path, "- examples:"), "exactly one of")


def test_an_intent_without_examples(tmp_path: Path) -> None:
    path = write(
        tmp_path,
        "nlu.yml",
        """
        nlu:
        - intent: greet
          examples: |
            - hi
        - intent: goodbye
        """,
    )
    assert_error(read_error(path), path, line_of(path, "goodbye"), "goodbye", "examples")


def test_an_intent_with_an_empty_examples_block(tmp_path: Path) -> None:
    path = write(
        tmp_path,
        "nlu.yml",
        """
        nlu:
        - intent: greet
          examples: |
            - hi
        - intent: goodbye
          examples: ""
        """,
    )
    assert_error(read_error(path), path, line_of(path, "goodbye"), "goodbye", "examples")


def test_an_example_line_without_dash(tmp_path: Path) -> None:
    path = write(
        tmp_path,
        "nlu.yml",
        """
        nlu:
        - intent: greet
          examples: |
            - hi
            - hello
            good morning
            - hey
        """,
    )
    assert_error(
        read_error(path), path, line_of(path, "good morning"), "must start with '- '", "morning"
    )


def test_a_bad_json_annotation(tmp_path: Path) -> None:
    path = write(
        tmp_path,
        "nlu.yml",
        """
        nlu:
        - intent: shipping_info
          examples: |
            - ship to [France](country)
            - ship to [Spain]{"entity": country}
        - intent: greet
          examples: |
            - hi
        """,
    )
    assert_error(read_error(path), path, line_of(path, "[Spain]"), "not valid JSON", "Spain")


def test_a_json_annotation_without_entity_name(tmp_path: Path) -> None:
    path = write(
        tmp_path,
        "nlu.yml",
        """
        nlu:
        - intent: shipping_info
          examples: |
            - ship to [Spain]{"value": "ES"}
        """,
    )
    assert_error(read_error(path), path, line_of(path, "[Spain]"), "entity")


def test_an_invalid_regex(tmp_path: Path) -> None:
    path = write(
        tmp_path,
        "nlu.yml",
        """
        nlu:
        - intent: greet
          examples: |
            - hi
        - regex: order_number
          examples: |
            - AF-\\d{6}
            - AF-[0-9
        """,
    )
    assert_error(read_error(path), path, line_of(path, "AF-[0-9"), "invalid regex", "AF-[0-9")


def test_a_yaml_file_with_no_intent_examples(tmp_path: Path) -> None:
    path = write(
        tmp_path,
        "nlu.yml",
        """
        nlu:
        - lookup: country
          examples: |
            - France
        """,
    )
    assert_error(read_error(path), path, line_of(path, "lookup"), "no intent examples")


@pytest.mark.parametrize("row", ["where is my card,", "where is my card", ",card_arrival"])
def test_a_csv_row_without_text_or_label(tmp_path: Path, row: str) -> None:
    path = write(
        tmp_path,
        "train.csv",
        f"""
        text,label
        how do I top up,top_up
        {row}
        card declined,declined_card_payment
        """,
    )
    assert_error(read_error(path), path, 3, "text and a label")


def test_an_empty_csv(tmp_path: Path) -> None:
    path = write(tmp_path, "train.csv", "")
    assert_error(read_error(path), path, 1, "header")


def test_a_csv_with_only_a_header(tmp_path: Path) -> None:
    path = write(tmp_path, "train.csv", "text,label\n")
    assert_error(read_error(path), path, None, "no examples")


def test_a_file_that_is_not_utf8(tmp_path: Path) -> None:
    path = write(tmp_path, "train.csv", "text,label\nca\xe7a,greet\n".encode("latin-1"))
    assert_error(read_error(path), path, None, "UTF-8")


def test_an_unsupported_extension(tmp_path: Path) -> None:
    path = write(tmp_path, "nlu.json", '{"nlu": []}')
    assert_error(read_error(path), path, None, "unsupported", ".yml", ".csv")


def test_a_missing_file(tmp_path: Path) -> None:
    path = tmp_path / "absent.yml"
    assert_error(read_error(path), path, None, "not found")


def test_the_error_is_a_value_error(tmp_path: Path) -> None:
    assert isinstance(read_error(tmp_path / "absent.csv"), ValueError)


def test_unlabelled_text_file_gives_each_non_blank_line_once(tmp_path: Path) -> None:
    path = tmp_path / "messages.txt"
    path.write_text("where is my parcel\n\n  my card was declined  \nwhere is my parcel\n")
    assert read_unlabelled(path) == ["where is my parcel", "my card was declined"]


def test_unlabelled_csv_gives_the_first_column_under_the_header(tmp_path: Path) -> None:
    path = tmp_path / "train.csv"
    path.write_text('text,category\n"hello, there",greet\nrefund me,refund\n\n')
    assert read_unlabelled(path) == ["hello, there", "refund me"]


@pytest.mark.parametrize(
    ("name", "content", "problem"),
    [
        ("messages.json", b'["hi"]', "unsupported format"),
        ("messages.txt", b"\n  \n", "no messages found"),
        ("messages.csv", b"text\n", "no messages found"),
        ("messages.txt", b"caf\xe9\n", r"not UTF-8 text \(byte 3\)"),
        ("messages.csv", b"text\n" + b"x" * 200_000 + b"\n", "not valid CSV"),
    ],
)
def test_broken_unlabelled_files_say_what_is_wrong(
    tmp_path: Path, name: str, content: bytes, problem: str
) -> None:
    path = tmp_path / name
    path.write_bytes(content)
    with pytest.raises(TrainingDataError, match=problem) as raised:
        read_unlabelled(path)
    assert raised.value.path == str(path)


def test_a_missing_unlabelled_file(tmp_path: Path) -> None:
    with pytest.raises(TrainingDataError, match="file not found"):
        read_unlabelled(tmp_path / "nothing.txt")
