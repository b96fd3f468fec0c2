"""The ``twelve`` command line: one module per command group, one error handler in ``main``."""
