"""Is there evidence to answer? A calibrated three-way decision, not two hand-set thresholds.

A small logistic model reads three features of the retrieved passages that generalise
across questions: how much of the question's IDF-weighted words the best passage holds
(coverage), the best passage's dense similarity plus half its coverage (the evidence the
ranking orders by), and whether an equipment tag or numbered fault code the question names
occurs nowhere in the index ("ALARM:14" where the documents list alarms 1-10 is strong
evidence that they do not answer). More features (dense/lexical agreement, best-sentence
similarity, coverage of all passages together, identifiers absent from the passages) did
not separate better in cross-validation on the development questions; see
docs/retrieval.md. Its coefficients are fitted offline on the
development questions (``benchmarks/fit_abstention.py``) and shipped as data in
``abstention_model.json``; nothing is trained at run time.
"""

from __future__ import annotations

import json
import math
from dataclasses import dataclass, field
from enum import StrEnum
from importlib import resources
from pathlib import Path

FEATURES = ("top_coverage", "best_combined", "ids_missing_from_index")


class Verdict(StrEnum):
    ANSWER = "answer"
    WEAK = "weak"  # answered, marked "weak evidence — check the cited page"
    NOT_FOUND = "not_found"


@dataclass(frozen=True)
class Evidence:
    verdict: Verdict
    p_answerable: float
    features: dict[str, float] = field(default_factory=dict)
    missing: tuple[str, ...] = ()  # identifiers the question names that the passages lack
    # why the documents do not answer, when a rule found it: a kind of value asked for that
    # no passage holds, a code its table does not list
    reason: str = ""

    @property
    def answerable(self) -> bool:
        return self.verdict is not Verdict.NOT_FOUND


@dataclass(frozen=True)
class AbstentionModel:
    """P(answerable) = sigmoid(intercept + sum(coef x (feature - mean) / scale))."""

    intercept: float
    coefficients: dict[str, float]
    means: dict[str, float]
    scales: dict[str, float]
    answer_at: float  # P at or above: answer
    weak_at: float  # P at or above (below answer_at): answer marked weak; below: not found
    fitted_on: str = ""

    @classmethod
    def load(cls, path: Path | None = None) -> AbstentionModel:
        text = (path.read_text(encoding="utf-8") if path else
                resources.files("app.answer").joinpath("abstention_model.json").read_text("utf-8"))
        return cls(**json.loads(text))

    def probability(self, features: dict[str, float]) -> float:
        z = self.intercept + sum(
            weight * (features[name] - self.means[name]) / (self.scales[name] or 1.0)
            for name, weight in self.coefficients.items())
        return 1.0 / (1.0 + math.exp(-max(-60.0, min(60.0, z))))

    def decide(self, features: dict[str, float], missing: tuple[str, ...] = ()) -> Evidence:
        p = self.probability(features)
        verdict = (Verdict.ANSWER if p >= self.answer_at else
                   Verdict.WEAK if p >= self.weak_at else Verdict.NOT_FOUND)
        return Evidence(verdict, p, features, missing)
