"""glmtts: an always-warm zero-shot text-to-speech runtime.

Importing this package has no side effects: it touches no device, reads no environment variable and
configures no logging. Engines and services are built from explicit configuration objects.
"""

__version__ = "0.1.0"

__all__ = ["__version__"]
