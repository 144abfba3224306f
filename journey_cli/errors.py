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


class JourneyWarning(UserWarning):
    """Something the user should know that does not stop the work; the CLI prints one `Warning:` line."""


class JourneyNote(JourneyWarning):
    """A choice journey made for the user, such as lines skipped above a header; the CLI prints one `Note:` line."""


# What each optional feature needs, and the extra that brings it (pyproject.toml).
_EXTRAS = {"xlsx": "openpyxl", "plot": "matplotlib", "dask": "dask[dataframe,distributed]"}


def missing_extra(feature: str, extra: str) -> DataError:
    """The error for an optional feature whose library is not installed, with how to add it.

    The advice names the library itself, which is right however journey was installed.
    """
    requirement = _EXTRAS[extra]
    return DataError(
        f"{feature} needs {requirement.split('[')[0]}, which is not installed: "
        f"pip install '{requirement}' (with pipx: pipx inject journey '{requirement}')"
    )
