"""HTTP API of the server (FastAPI): routes, schemas and the one error handler."""
