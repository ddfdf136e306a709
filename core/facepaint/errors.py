"""The one exception type the CLI turns into a one-line message."""


class FacepaintError(Exception):
    """A problem the user can fix (bad input, missing file, unknown option).

    The CLI prints ``facepaint: error: <message>`` and exits non-zero; anything
    else escaping the engine is a bug.
    """
