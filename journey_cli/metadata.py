"""What a model file records about its model: when, from what and how it was trained, and how well it scored.

`train_model` writes a `ModelMetadata`; the model file keeps it as JSON; everything else reads its
fields by name, so a misspelt key is a type error, not a silent `None`. A file from a later
journey may carry fields this one does not know: they are kept, not refused. Which kind of model it
is (fast or accurate) is not recorded here: the weights say it (`JourneyModel.kind`).
"""

from __future__ import annotations

from pydantic import BaseModel, ConfigDict


class _Record(BaseModel):
    model_config = ConfigDict(extra="allow")


class StageScores(_Record):
    precision: float
    recall: float
    f1: float
    support: int


class FrameworkScores(_Record):
    """One framework's cross-validated scores, and the decision settings chosen with them."""

    per_stage: dict[str, StageScores]
    macro_f1: float
    weighted_f1: float
    accuracy: float
    rows: int
    threshold: float  # below this confidence a post is `none`
    temperature: float  # the calibration's
    ece: float  # expected calibration error after it


class CrossValidation(_Record):
    folds: int
    scores: dict[str, FrameworkScores]
    joint_decoding: dict[str, float]  # mean macro-F1 of `joint` and `independent` decoding


class TrainingData(_Record):
    rows: int
    labelled_rows: dict[str, int]  # per framework
    sha256: str  # of the labelled posts, as `training.data_fingerprint` computes it
    corpus_rows: int = 0  # of them, journey's corpus's, trained on with the team's
    team_weight: float | None = None  # with a corpus: how many corpus posts each team post counted as
    team_posts: list[str] = []  # `training.post_hash` of each of the team's posts, to compare models fairly later


class ModelMetadata(_Record):
    created: str  # ISO 8601, UTC
    stages_fingerprint: str
    stage_ids: dict[str, list[str]]
    versions: dict[str, str]  # python, journey, scikit-learn, numpy, scipy, skops
    training_data: TrainingData
    cv: CrossValidation
    thresholds: dict[str, float]
    temperatures: dict[str, float]
    joint: bool  # frameworks decided together, within the crosswalk
    # Models trained before journey recorded these: their probabilities kept the labelled posts' mix,
    # and they read English.
    mix: dict[str, dict[str, float]] = {}  # the stream mix the probabilities were moved to
    language: str = "en"  # the language the model reads
    sentence_weight: float | None = None  # accurate models: the sentence vectors' share of the decision

    def as_json(self) -> dict[str, object]:
        """The metadata as plain JSON data, as the model file and `journey model --json` hold it."""
        return self.model_dump(mode="json", exclude_none=True)
