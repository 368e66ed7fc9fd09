"""Durable batch jobs: a SQLite store, input validation, a resumable runner, archives and the server's manager.

``glmtts.jobs.manager`` (imported by the server) and ``glmtts.cli.batch`` / ``glmtts.cli.infer`` build on
:mod:`~glmtts.jobs.store`, :mod:`~glmtts.jobs.input`, :mod:`~glmtts.jobs.runner` and :mod:`~glmtts.jobs.archive`.
"""
