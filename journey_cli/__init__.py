"""journey: place social posts in their customer journey and say how to engage.

The CLI is a thin layer over these functions:

    from journey_cli import load_model, classify_texts
    model = load_model()                      # your trained model, else the bundled one
    classify_texts(model, ["@airline my bag never arrived"])
"""

from typing import TYPE_CHECKING

# The names below are imported on first use (PEP 562), so that `journey --help` and scripts that
# need one function do not pay for loading the whole library.
_WHERE = {
    "classify_chunks": "classify",
    "classify_frame": "classify",
    "classify_partition": "classify",
    "classify_results": "classify",
    "classify_table": "classify",
    "classify_texts": "classify",
    "result_columns": "classify",
    "DataError": "errors",
    "JourneyError": "errors",
    "JourneyWarning": "errors",
    "ModelError": "errors",
    "StagesError": "errors",
    "cross_validate_labelled": "evaluation",
    "evaluate_model": "evaluation",
    "explain_texts": "explain",
    "JourneyModel": "model",
    "ModelMetadata": "metadata",
    "load_model": "model_file",
    "save_model": "model_file",
    "read_posts": "reading",
    "stage_rules": "rules",
    "Stages": "stages",
    "load_stages": "stages",
    "parse_stages": "stages",
    "suggest_posts": "suggest",
    "train_model": "training",
    "ModelVersionWarning": "model_file",
    "html_report": "report",
    "text_report": "report",
    "neutralise": "writing",
    "unneutralise": "writing",
    "write_table": "writing",
    "write_xlsx": "writing",
}


if TYPE_CHECKING:  # what type checkers and editors see; at run time each name loads on first use
    from .classify import (
        classify_chunks,
        classify_frame,
        classify_partition,
        classify_results,
        classify_table,
        classify_texts,
        result_columns,
    )
    from .errors import DataError, JourneyError, JourneyWarning, ModelError, StagesError
    from .evaluation import cross_validate_labelled, evaluate_model
    from .explain import explain_texts
    from .metadata import ModelMetadata
    from .model import JourneyModel
    from .model_file import ModelVersionWarning, load_model, save_model
    from .reading import read_posts
    from .report import html_report, text_report
    from .rules import stage_rules
    from .stages import Stages, load_stages, parse_stages
    from .suggest import suggest_posts
    from .training import train_model
    from .writing import neutralise, unneutralise, write_table, write_xlsx

    __version__: str
else:
    # Only at run time: a module __getattr__ that type checkers could see would make every name,
    # misspelt ones included, a valid import typed `object`.
    def __getattr__(name: str) -> object:
        if name == "__version__":
            from importlib.metadata import PackageNotFoundError, version

            try:
                value = version("journey")
            except PackageNotFoundError:  # running from a source tree that was never installed
                value = "0+unknown"
        elif name in _WHERE:
            from importlib import import_module

            value = getattr(import_module(f".{_WHERE[name]}", __name__), name)
        else:
            raise AttributeError(f"module 'journey_cli' has no attribute {name!r}")
        globals()[name] = value  # later look-ups skip __getattr__
        return value


def __dir__() -> list[str]:
    # A set: a name already loaded is both a global and a lazy name, and must be listed once.
    return sorted({*globals(), *__all__})


__all__ = [
    "DataError",
    "JourneyError",
    "JourneyModel",
    "JourneyWarning",
    "ModelError",
    "ModelMetadata",
    "Stages",
    "StagesError",
    "classify_chunks",
    "classify_frame",
    "classify_partition",
    "classify_results",
    "classify_table",
    "classify_texts",
    "cross_validate_labelled",
    "evaluate_model",
    "explain_texts",
    "load_model",
    "load_stages",
    "parse_stages",
    "read_posts",
    "result_columns",
    "save_model",
    "stage_rules",
    "suggest_posts",
    "train_model",
    "ModelVersionWarning",
    "html_report",
    "text_report",
    "neutralise",
    "unneutralise",
    "write_table",
    "write_xlsx",
    "__version__",
]
