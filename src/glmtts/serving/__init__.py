"""Serving: settings, lifecycle, the model-owning worker, the TTS service, metrics and the HTTP API.

``glmtts.serving.api.app.create_app(settings)`` builds the FastAPI app; the non-HTTP pieces
(:mod:`~glmtts.serving.worker`, :mod:`~glmtts.serving.service`, :mod:`~glmtts.serving.services`) import
without FastAPI so the UI and the jobs runner can use them directly.
"""
