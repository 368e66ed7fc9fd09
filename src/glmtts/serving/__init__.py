"""Serving: settings, the server's composition, metrics, memory control and the HTTP API (FastAPI).

``glmtts.serving.api.app.create_app(settings)`` builds the FastAPI app over
:func:`glmtts.serving.composition.build_services`; the synthesis itself lives in :mod:`glmtts.synthesis`,
shared with the CLI, batch jobs and the public Python API.
"""
