"""The GLM-TTS engine (``glm``): zero-shot voice cloning with the official ``zai-org/GLM-TTS`` checkpoints.

Stages (each a small module with its own documented API): ``tokenizer`` (text -> ids), ``speech_tokenizer``
(prompt audio -> speech tokens), ``speaker`` (prompt audio -> CAMPPlus embedding), ``mel`` (prompt mel),
``llm`` + ``sampling`` (text -> speech tokens), ``token2wav`` (speech tokens -> waveform via the flow DiT
and the HiFT vocoder; ``token2wav_stream`` block by block), ``voice`` (prompt features), ``history``
(prompt history and its pruning), ``synthesis`` (seeding, one-shot or streamed rendering per segment),
``pipeline`` (text -> segments; loading) and ``engine`` (the :class:`~glmtts.engines.base.Engine`
implementation). Tests write a seeded tiny random-weight checkpoint in the official layout with
``python -m tests.support.glm.make_tiny DIR``.

Nothing heavy is imported here: torch, transformers and onnxruntime load when the engine loads.
"""
