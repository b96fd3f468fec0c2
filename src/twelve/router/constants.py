"""Values the router's C modules and their Python twins both use, kept here alone.

The build writes them into ``_constants.h`` for the C (``native.constants_header``), so the two
can never disagree; the Python reads them from here. Nothing of twelve is imported: ``native``
reads this module before the compiled modules may be.
"""

from __future__ import annotations

from typing import Final

# A longer value in a log field is cut there and ends in "...".
MAX_LOGGED: Final = 2048

# Response headers that belong to one connection, lowercase: they never cross the proxy, and a
# response head holding one is re-framed rather than passed on as it came.
RESPONSE_HOP_BY_HOP: Final = (
    b"transfer-encoding",
    b"upgrade",
    b"connection",
    b"keep-alive",
    b"proxy-connection",
    b"te",
    b"trailer",
)


def c_header() -> str:
    """These values as C preprocessor definitions (the text of ``_constants.h``)."""
    names = ", ".join(f'{{"{name.decode()}", {len(name)}}}' for name in RESPONSE_HOP_BY_HOP)
    return (
        "/* Written by twelve.router.native from twelve/router/constants.py. */\n"
        "#ifndef TWELVE_CONSTANTS_H\n"
        "#define TWELVE_CONSTANTS_H\n"
        f"#define MAX_LOGGED {MAX_LOGGED}\n"
        f"#define RESPONSE_HOP_BY_HOP {names}\n"
        "#endif\n"
    )
