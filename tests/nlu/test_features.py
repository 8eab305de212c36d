"""TF-IDF word and character n-gram features, saved as plain arrays."""

from __future__ import annotations

import numpy as np

from nlu.features import LexicalFeatures

TEXTS = ["cancel my card", "cancel the card", "top up my wallet", "top up please"]


def test_n_grams_seen_in_two_texts_become_columns() -> None:
    features = LexicalFeatures.fit(TEXTS)
    vocabulary = features.arrays()["word_vocabulary"].tolist()
    assert {"cancel", "card", "top up", "my"} <= set(vocabulary)
    assert "wallet" not in vocabulary  # seen once
    matrix = features.transform(["cancel card", "nothing known here zzz"])
    assert matrix.shape == (2, features.size)
    assert matrix[0].nnz > 0


def test_data_too_small_for_shared_n_grams_keeps_every_n_gram() -> None:
    features = LexicalFeatures.fit(["hi", "bye"])
    assert features.arrays()["word_vocabulary"].tolist() == ["bye", "hi"]


def test_arrays_restore_the_same_features_without_pickle() -> None:
    features = LexicalFeatures.fit(TEXTS)
    arrays = features.arrays()
    assert all(a.dtype != object for a in arrays.values())
    restored = LexicalFeatures.from_arrays(arrays)
    queries = ["cancel my wallet", "top up the card"]
    assert np.allclose(restored.transform(queries).toarray(), features.transform(queries).toarray())


def test_features_are_what_scikit_learn_computes() -> None:
    """The TF-IDF step is computed here, not by scikit-learn (whose transform checks its input
    on every call); the numbers must stay its vectorizers', for texts with known, unknown and
    no n-grams."""
    features = LexicalFeatures.fit([*TEXTS, "my card is lost", "lost my wallet again"])
    queries = ["Cancel my CARD card card", "", "zzz qqq", "top up my wallet, please", "my my my"]
    expected = np.hstack(
        [vectorizer.transform(queries).toarray() for vectorizer in (features._word, features._char)]
    )
    got = features.transform(queries).toarray()
    assert got.shape == expected.shape
    assert np.allclose(got, expected, rtol=0, atol=1e-12)
    assert not got[1].any() and np.isclose(np.linalg.norm(got[0]), np.sqrt(2))  # two parts
