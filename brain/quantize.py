"""An int8 copy of a local ONNX sentence model, made once and cached by the model's content hash.

The registry's "int8" all-MiniLM-L6-v2 (``scripts/offline-model``) keeps int8 weights that
onnxruntime turns back into float32 when it loads the file (each weight is a Cast and a Mul,
folded into a constant): it runs as a float model and reads 90 MB per query, which on a shared
machine waits on memory more than it computes. Here the folded float weights of every matrix
product are stored as ``MatMulNBits``: 8-bit, blocks of 32 weights with one scale each, and
accuracy level 4 (each row of activations quantised per block, int8 products). On this machine
(bench/faq.py, docs/PERFORMANCE.md) a query's embedding costs about 40% less CPU and the weights
a quarter of the memory; the vectors stay within 0.9995 cosine of the float model's, and a
text's vector does not depend on the other texts of its batch. (onnxruntime's
``quantize_dynamic`` was faster still, but its one activation scale per batch moved a text's
vector by up to 0.035 cosine with its batch mates, and retrieval lost 1-4 of the sample KB's 70
questions.)

Making the copy needs the ``onnx`` and ``onnx-ir`` packages (in ``frontdesk[semantic]``) and
about 3 s; without them, or when anything fails, the float model runs (logged).
"""

from __future__ import annotations

import hashlib
import logging
import os
import tempfile
from pathlib import Path

logger = logging.getLogger(__name__)

BITS = 8
BLOCK = 32
ACCURACY_LEVEL = 4  # int8 activations per block of a row: batch-independent, VNNI on x86


def int8_model(source: Path, cache_dir: Path, digest: str | None = None) -> Path | None:
    """The int8 copy of ``source`` in ``cache_dir`` (made on first use), or None when it cannot
    be made: the caller then runs ``source`` as it is. ``digest``: ``file_digest(source)``,
    if the caller has it already."""
    try:
        digest = digest or file_digest(source)
    except OSError as err:
        logger.warning("cannot read %s to make its int8 copy: %s", source, err)
        return None
    target = cache_dir / f"model-int8-{digest[:16]}.onnx"
    if target.is_file():
        return target
    try:
        import onnx  # noqa: PLC0415
        import onnxruntime  # noqa: PLC0415
        from onnxruntime.quantization import matmul_nbits_quantizer as nbits  # noqa: PLC0415
    except ImportError as err:
        logger.warning("the local model runs in float32: %s (pip install 'frontdesk[semantic]')",
                       err)  # fmt: skip
        return None
    try:
        cache_dir.mkdir(parents=True, exist_ok=True)
        with tempfile.TemporaryDirectory(dir=cache_dir) as work:
            folded = Path(work) / "folded.onnx"
            # Basic (hardware-independent) optimisation folds the stored int8 weights and their
            # scales into float constants, which the quantiser can then read as weights.
            options = onnxruntime.SessionOptions()
            options.graph_optimization_level = onnxruntime.GraphOptimizationLevel.ORT_ENABLE_BASIC
            options.optimized_model_filepath = str(folded)
            onnxruntime.InferenceSession(str(source), options, providers=["CPUExecutionProvider"])
            config = nbits.DefaultWeightOnlyQuantConfig(
                block_size=BLOCK, is_symmetric=True, accuracy_level=ACCURACY_LEVEL, bits=BITS
            )
            quantizer = nbits.MatMulNBitsQuantizer(onnx.load(str(folded)), algo_config=config)
            # The quantiser logs two INFO lines per graph node (hundreds) to its module logger.
            chatty = logging.getLogger(nbits.__name__)
            level = chatty.level
            chatty.setLevel(logging.WARNING)
            try:
                quantizer.process()
            finally:
                chatty.setLevel(level)
            made = Path(work) / "int8.onnx"
            quantizer.model.save_model_to_file(str(made), False)
            os.replace(made, target)  # atomic: a crash never leaves half a model
    except Exception as err:  # the quantiser and onnxruntime raise errors of every kind
        logger.warning("cannot make an int8 copy of %s, the float model runs: %s", source, err)
        return None
    logger.info("int8 copy of %s in %s", source, target)
    return target


def file_digest(path: Path) -> str:
    """The SHA-256 of a file's content, in hex."""
    digest = hashlib.sha256()
    with path.open("rb") as handle:
        for chunk in iter(lambda: handle.read(1 << 20), b""):
            digest.update(chunk)
    return digest.hexdigest()
