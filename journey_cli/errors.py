"""The exceptions journey raises for problems a user can fix.

The CLI prints their message as one `Error: ...` line and exits 1, so every message says what is
wrong and, where it can, how to fix it.
"""


class JourneyError(Exception):
    """A problem with the user's input, files or model, explained in the message."""


class StagesError(JourneyError):
    """The stages YAML is unreadable or does not follow the schema."""


class DataError(JourneyError):
    """An input CSV cannot be read, or lacks what the command needs."""


class ModelError(JourneyError):
    """A model file is missing, unreadable, untrusted or does not fit the stages in use."""
