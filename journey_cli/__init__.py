"""journey: place social posts in their customer journey and say how to engage.

The CLI is a thin layer over these functions:

    from journey_cli import load_model, classify_texts
    model = load_model()                      # your trained model, else the bundled one
    classify_texts(model, ["@airline my bag never arrived"])
"""

from importlib.metadata import PackageNotFoundError, version

try:
    __version__ = version("journey")
except PackageNotFoundError:  # running from a source tree that was never installed
    __version__ = "0+unknown"

from .classify import classify_chunks, classify_frame, classify_texts, result_columns
from .errors import DataError, JourneyError, ModelError, StagesError
from .evaluation import cross_validate_labelled, evaluate_model
from .explain import explain_texts
from .model import JourneyModel, load_model, save_model
from .reading import read_posts
from .rules import stage_rules
from .stages import Stages, load_stages, parse_stages
from .suggest import suggest_posts
from .training import train_model

__all__ = [
    "DataError",
    "JourneyError",
    "JourneyModel",
    "ModelError",
    "Stages",
    "StagesError",
    "classify_chunks",
    "classify_frame",
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
    "__version__",
]
