"""The jailbreak detector's optional local classifier (``detectors.jailbreak.classifier_model``).

The default build needs no model: the phrase families decide alone. A
deployment that wants a learned second opinion points ``classifier_model`` at
a sequence-classification model exported to ONNX (for example a DeBERTa
prompt-injection model), laid out as Hugging Face exports it:

    <dir>/model.onnx        inputs input_ids, attention_mask (token_type_ids if declared),
                            output logits [batch, labels]
    <dir>/tokenizer.json    a `tokenizers` tokenizer
    <dir>/config.json       optional: id2label; the label named like INJECTION, JAILBREAK,
                            UNSAFE or MALICIOUS is the positive one (else label 1)

``classifier_model`` may name the directory or the ``.onnx`` file in it. The
extra packages are optional: ``pip install onnxruntime tokenizers``. If they
are missing, building the detector fails at start-up with a clear message,
never on the hot path. Any object with ``score(text) -> float`` can also be
passed to `JailbreakDetector(config, classifier=...)` directly.
"""

from __future__ import annotations

import json
import math
from pathlib import Path

MAX_TOKENS = 512
_POSITIVE = ("injection", "jailbreak", "unsafe", "malicious", "attack")


class ClassifierUnavailable(RuntimeError):
    """The configured classifier cannot be loaded (missing package or file)."""


def load_classifier(model: str) -> "OnnxClassifier":
    return OnnxClassifier(model)


class OnnxClassifier:
    """An ONNX sequence classifier: `score(text)` is the positive label's probability."""

    def __init__(self, model: str) -> None:
        try:
            import onnxruntime  # noqa: PLC0415 - optional dependency
            import tokenizers  # noqa: PLC0415
        except ImportError as exc:
            raise ClassifierUnavailable(
                f"detectors.jailbreak.classifier_model is set ({model!r}) but {exc.name} is not "
                "installed: pip install onnxruntime tokenizers, or unset classifier_model") from exc
        path = Path(model)
        folder = path.parent if path.suffix == ".onnx" else path
        onnx_file = path if path.suffix == ".onnx" else folder / "model.onnx"
        tokenizer_file = folder / "tokenizer.json"
        for needed in (onnx_file, tokenizer_file):
            if not needed.is_file():
                raise ClassifierUnavailable(
                    f"detectors.jailbreak.classifier_model: {needed} not found")
        self._session = onnxruntime.InferenceSession(str(onnx_file),
                                                     providers=["CPUExecutionProvider"])
        self._inputs = {i.name for i in self._session.get_inputs()}
        self._tokenizer = tokenizers.Tokenizer.from_file(str(tokenizer_file))
        self._tokenizer.enable_truncation(MAX_TOKENS)
        self._positive = _positive_label(folder / "config.json")

    def score(self, text: str) -> float:
        import numpy  # noqa: PLC0415 - comes with onnxruntime

        encoding = self._tokenizer.encode(text)
        ids = numpy.array([encoding.ids], dtype=numpy.int64)
        feed = {"input_ids": ids, "attention_mask": numpy.ones_like(ids)}
        if "token_type_ids" in self._inputs:
            feed["token_type_ids"] = numpy.zeros_like(ids)
        logits = [float(x) for x in self._session.run(None, {k: v for k, v in feed.items()
                                                            if k in self._inputs})[0][0]]
        top = max(logits)
        exps = [math.exp(x - top) for x in logits]
        return exps[min(self._positive, len(exps) - 1)] / sum(exps)


def _positive_label(config_file: Path) -> int:
    try:
        id2label = json.loads(config_file.read_text(encoding="utf-8")).get("id2label", {})
    except (OSError, ValueError):
        return 1
    for index, label in id2label.items():
        if any(word in str(label).lower() for word in _POSITIVE):
            return int(index)
    return 1
