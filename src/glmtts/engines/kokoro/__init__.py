"""The embedded default engine: Kokoro-82M int8 (ONNX) for Mandarin and English; see :mod:`.engine`."""
