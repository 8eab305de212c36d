"""spaCy, imported without torch.

spaCy's machine-learning library, thinc, imports torch whenever torch is installed (it is here:
the encoder is exported to ONNX with it). That costs about 300 MB of resident memory in every
process that loads a spaCy pipeline, although spaCy's CPU pipelines never run on torch. So spaCy
is imported with torch hidden, and every module here imports spaCy from this one. Code that
needs torch itself (training on the torch runtime, the one-time ONNX export) still imports it
as usual afterwards; only thinc's optional torch support stays off.
"""

from __future__ import annotations

import sys

_HIDE_TORCH = "torch" not in sys.modules and "thinc" not in sys.modules
if _HIDE_TORCH:
    sys.modules["torch"] = None  # type: ignore[assignment]  # makes `import torch` fail
try:
    import spacy
    from spacy.language import Language
    from thinc.api import use_ops
finally:
    if _HIDE_TORCH:
        del sys.modules["torch"]

__all__ = ["Language", "spacy", "use_ops"]
