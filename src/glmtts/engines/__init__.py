"""TTS engines behind one contract (see :mod:`glmtts.engines.base`)."""
