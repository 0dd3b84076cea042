"""Capacity and total cost of ownership from measured serving figures (`plantops plan`).

A server profile is a load curve: at each number of concurrent streams, the aggregate tokens/s
the server wrote and the p95 time to first token, for a stated prompt and answer size. The
plan for a plant's peak finds the fewest replicas whose per-replica share of the peak stays
within both targets (per-user tokens/s and p95 TTFT), then prices them over 3 and 5 years.

Assumptions, stated in the output too: between measured concurrencies the curve is linear;
beyond the last one the server is saturated (aggregate tokens/s flat, TTFT growing with the
queue, in proportion to concurrency); TTFT scales with the prompt's length (prefill is about
linear in it) when the plant's prompts differ from the measured ones.
"""

from __future__ import annotations

import json
import math
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

HOURS_PER_YEAR = 8760


@dataclass(frozen=True)
class LoadPoint:
    concurrency: int
    tokens_per_s: float  # aggregate, all streams together
    ttft_p95_s: float


@dataclass(frozen=True)
class ServerProfile:
    name: str
    source: str  # a measurement file, or the public figures it was taken from
    measured: bool
    prompt_tokens: int  # the load the points were measured at
    answer_tokens: int
    points: tuple[LoadPoint, ...]
    gpus_per_replica: int = 0  # 0: CPU only
    price_per_replica: float = 0.0  # hardware, in the currency of the energy price
    power_w_per_replica: float = 0.0  # at load

    def at(self, concurrency: int) -> tuple[float, float, bool]:
        """(aggregate tokens/s, p95 TTFT s, extrapolated) at ``concurrency`` streams."""
        points = sorted(self.points, key=lambda p: p.concurrency)
        if concurrency <= points[0].concurrency:
            first = points[0]
            return first.tokens_per_s * concurrency / first.concurrency, first.ttft_p95_s, False
        for low, high in zip(points, points[1:], strict=False):
            if concurrency <= high.concurrency:
                share = (concurrency - low.concurrency) / (high.concurrency - low.concurrency)
                return (low.tokens_per_s + share * (high.tokens_per_s - low.tokens_per_s),
                        low.ttft_p95_s + share * (high.ttft_p95_s - low.ttft_p95_s), False)
        last = points[-1]  # saturated: no more tokens/s, the queue adds waiting
        return last.tokens_per_s, last.ttft_p95_s * concurrency / last.concurrency, True


@dataclass(frozen=True)
class Demand:
    peak_concurrent: int
    prompt_tokens: int
    answer_tokens: int
    ttft_p95_s: float
    min_tokens_per_s: float  # per user, while their answer streams
    operators: int = 0  # for the per-operator cost only
    answers_per_ui: int = 16  # answers one UI replica streams at once (ui.concurrency)


@dataclass(frozen=True)
class Costs:
    energy_per_kwh: float = 0.25
    utilisation: float = 0.5  # share of the year the servers draw their load power
    maintenance_per_year: float = 0.10  # share of the hardware price
    staff_per_year: float = 0.0  # the share of an admin's time, priced


@dataclass(frozen=True)
class Plan:
    profile: str
    source: str
    measured: bool
    replicas: int | None  # None: no number of replicas meets the targets
    gpus: int
    ttft_p95_s: float
    tokens_per_s_per_user: float
    extrapolated: bool
    tco: dict[int, float] = field(default_factory=dict)  # years -> total cost
    notes: tuple[str, ...] = ()
    ui_replicas: int = 2
    spare_replicas: int = 0  # model replicas to add so the targets hold with one down

    def as_json(self) -> dict[str, Any]:
        return {**self.__dict__, "tco": {str(y): round(c, 2) for y, c in self.tco.items()},
                "notes": list(self.notes)}


def _load(profile: ServerProfile, demand: Demand, replicas: int) -> tuple[float, float, bool]:
    """(per-user tokens/s, p95 TTFT s, extrapolated) with the peak spread over replicas."""
    per_replica = math.ceil(demand.peak_concurrent / replicas)
    total, ttft, extrapolated = profile.at(per_replica)
    return (total / per_replica,
            ttft * demand.prompt_tokens / profile.prompt_tokens, extrapolated)


def total_cost(profile: ServerProfile, replicas: int, costs: Costs, years: int) -> float:
    hardware = replicas * profile.price_per_replica
    energy_kwh = (replicas * profile.power_w_per_replica / 1000 * HOURS_PER_YEAR
                  * costs.utilisation)
    yearly = (energy_kwh * costs.energy_per_kwh + hardware * costs.maintenance_per_year
              + costs.staff_per_year)
    return hardware + years * yearly


def ui_replicas(demand: Demand) -> int:
    """UI replicas for the peak with one of them down (N+1): each streams up to
    ``answers_per_ui`` answers at once; never fewer than two (one node's death)."""
    return max(2, math.ceil(demand.peak_concurrent / demand.answers_per_ui) + 1)


def plan(profile: ServerProfile, demand: Demand, costs: Costs,
         max_replicas: int = 256) -> Plan:
    """The fewest replicas that meet both targets at the peak, and what they cost."""
    notes = []
    if demand.prompt_tokens != profile.prompt_tokens:
        notes.append(f"TTFT scaled from {profile.prompt_tokens}- to {demand.prompt_tokens}-token "
                     "prompts")
    if demand.answer_tokens != profile.answer_tokens:
        notes.append(f"measured with {profile.answer_tokens}-token answers (tokens/s include "
                     "the prefill, which longer answers amortise)")
    if not profile.measured:
        notes.append("reference figures, not measured here: a measurement "
                     "(benchmarks.serving --json) always wins")
    for replicas in range(1, max_replicas + 1):
        per_user, ttft, extrapolated = _load(profile, demand, replicas)
        if per_user >= demand.min_tokens_per_s and ttft <= demand.ttft_p95_s:
            if extrapolated:
                notes.append("beyond the measured concurrency: saturation assumed")
            spare = 1 if replicas == 1 or _load(profile, demand, replicas - 1)[1] \
                > demand.ttft_p95_s else 0  # one down: do the others still meet the target?
            return Plan(profile.name, profile.source, profile.measured, replicas,
                        replicas * profile.gpus_per_replica, ttft, per_user, extrapolated,
                        {y: total_cost(profile, replicas, costs, y) for y in (3, 5)},
                        tuple(notes), ui_replicas(demand), spare)
    per_user, ttft, extrapolated = _load(profile, demand, max_replicas)
    notes.append(f"even {max_replicas} replicas miss the targets (one stream alone: "
                 f"{profile.at(1)[0]:.1f} tokens/s, TTFT "
                 f"{profile.at(1)[1] * demand.prompt_tokens / profile.prompt_tokens:.2f} s)")
    return Plan(profile.name, profile.source, profile.measured, None, 0, ttft, per_user,
                extrapolated, {}, tuple(notes), ui_replicas(demand))


def load_measurement(path: Path, price_per_replica: float = 0.0,
                     power_w_per_replica: float = 0.0) -> ServerProfile:
    """A profile from the JSON `python -m benchmarks.serving --json OUT` writes."""
    data = json.loads(path.read_text(encoding="utf-8"))
    hardware = data.get("hardware", {})
    return ServerProfile(
        name=f"measured: {data.get('model', path.stem)}", source=str(path), measured=True,
        prompt_tokens=int(data["prompt_tokens"]), answer_tokens=int(data["answer_tokens"]),
        points=tuple(LoadPoint(int(p["concurrency"]), float(p["tokens_per_s"]),
                               float(p["ttft_p95_s"])) for p in data["points"]),
        gpus_per_replica=int(hardware.get("gpus", 0)),
        price_per_replica=price_per_replica, power_w_per_replica=power_w_per_replica)


# Public figures for profiles a plant has not measured yet. Prices and power are planning
# defaults (overridable), not quotes.
REFERENCE_PROFILES = (
    ServerProfile(
        name="gpu-8b (reference)",
        source="InferenceBench concurrency-sweep recipe: Llama-3.1-8B-Instruct fp16, vLLM "
               "0.21.0, 1x H100-80GB, 'chatbot-short' load (yobitelcomm.github.io/bench/"
               "recipes/concurrency-sweep/, 2026-05-16); p99 TTFT used as p95; its prompt "
               "size is not stated, taken as 256 tokens",
        measured=False, prompt_tokens=256, answer_tokens=256,
        points=(LoadPoint(1, 122.2, 0.015), LoadPoint(4, 580.3, 0.032),
                LoadPoint(16, 1384.2, 0.065), LoadPoint(64, 1312.3, 0.465)),
        gpus_per_replica=1, price_per_replica=35000.0, power_w_per_replica=1100.0),
)
