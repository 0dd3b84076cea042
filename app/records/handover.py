"""A shift's handover, from the audit log: what was asked in a time window and how each
answer ended, the questions the documents did not answer, the answers marked doubtful and the
safety hazards shown — what the next shift needs and today is written from memory.

Built from what was recorded, never written by a model: every line is an audit row (its id
and time), so a reader can look any of them up (`plantops audit export`).
"""

from __future__ import annotations

import re
import time
from collections.abc import Mapping
from dataclasses import asdict, dataclass, field
from datetime import UTC, datetime

from app.records.audit import WITHHELD, AuditLog

# How an answer ended, in an operator's words, from the audit row's status and flags.
_OUTCOME = {"complete": "answered", "abstained": "not found", "incomplete": "incomplete",
            "model_unavailable": "no written answer", "stopped": "stopped"}
_WEAK = "weak evidence"


class HandoverError(ValueError):
    """A window that cannot be read ("2026-02-30", or an end before its start)."""


@dataclass(frozen=True)
class Asked:
    """One question of the shift and how its answer ended."""

    row: int  # the audit row: `plantops audit export` has it whole
    time_utc: str
    user: str
    question: str
    outcome: str  # answered | weak evidence | not found | incomplete | no written answer …
    sources: list[str]  # the pages or records the answer cited, best first
    doubts: list[str]  # what the checks flagged (facts and sentences no cited page holds)
    hazards: list[str]  # hazards the cited passages carry ("[2] addresses an AI" …)
    feedback: str = ""
    assets: list[str] = field(default_factory=list)  # asset ids it names that the records know


@dataclass
class Handover:
    start_utc: str
    end_utc: str
    asked: list[Asked] = field(default_factory=list)
    # each asset asked about: how many work orders the plant's records hold on it (a failure
    # asked about again and again, and its history, is what the next shift should know)
    on_record: dict[str, int] = field(default_factory=dict)

    @property
    def assets(self) -> list[tuple[str, int, int]]:
        """(asset, times asked this shift, work orders on record), most asked first."""
        asked: dict[str, int] = {}
        for item in self.asked:
            for asset in item.assets:
                asked[asset] = asked.get(asset, 0) + 1
        return sorted(((a, n, self.on_record.get(a, 0)) for a, n in asked.items()),
                      key=lambda row: (-row[1], -row[2], row[0]))

    @property
    def outcomes(self) -> dict[str, int]:
        counts: dict[str, int] = {}
        for item in self.asked:
            counts[item.outcome] = counts.get(item.outcome, 0) + 1
        return counts

    def to_json(self) -> dict[str, object]:
        return {"start_utc": self.start_utc, "end_utc": self.end_utc,
                "outcomes": self.outcomes, "asked": [asdict(a) for a in self.asked],
                "assets": [{"asset": a, "asked": n, "work_orders_on_record": w}
                           for a, n, w in self.assets]}

    def to_markdown(self) -> str:
        """The handover as Markdown: counts first, then what needs the next shift's eyes
        (not found, doubtful, hazards, rated unhelpful), then every question in order."""
        head = [f"# Shift handover {self.start_utc} – {self.end_utc} (UTC)", ""]
        if not self.asked:
            return "\n".join([*head, "Nothing was asked in this window."]) + "\n"
        counts = ", ".join(f"{n} {outcome}" for outcome, n in sorted(
            self.outcomes.items(), key=lambda item: -item[1]))
        users = sorted({a.user for a in self.asked})
        lines = [*head, f"{len(self.asked)} questions from {len(users)} "
                 f"user{'s' if len(users) != 1 else ''} ({', '.join(users)}): {counts}.", ""]
        attention = [a for a in self.asked if a.outcome != "answered" or a.doubts
                     or a.hazards or a.feedback == "down"]
        if attention:
            lines += ["## Needs a look", ""]
            for a in attention:
                why = [a.outcome] if a.outcome != "answered" else []
                why += [f"flagged: {'; '.join(a.doubts)}"] if a.doubts else []
                why += [f"hazard: {'; '.join(a.hazards)}"] if a.hazards else []
                why += ["rated not helpful"] if a.feedback == "down" else []
                lines.append(f"- {a.time_utc} {a.user}: “{_one_line(a.question)}” — "
                             f"{', '.join(why)} (audit row {a.row})")
            lines.append("")
        if self.assets:
            lines += ["## Assets asked about", ""]
            lines += [f"- {a.upper()}: asked {n} time{'s' if n != 1 else ''} this shift; "
                      f"{w} work order{'s' if w != 1 else ''} on record (`plantops history "
                      f"{a.upper()}`)" for a, n, w in self.assets]
            lines.append("")
        lines += ["## Every question", "", "| time (UTC) | user | question | outcome | sources |",
                  "|---|---|---|---|---|"]
        lines += [f"| {a.time_utc} | {a.user} | {_cell(a.question)} | {a.outcome} | "
                  f"{_cell('; '.join(a.sources[:3]) or '—')} |" for a in self.asked]
        return "\n".join(lines) + "\n"


def _one_line(text: str, limit: int = 160) -> str:
    text = " ".join(text.split())
    return text if len(text) <= limit else text[:limit - 1] + "…"


def _cell(text: str) -> str:
    return _one_line(text).replace("|", "\\|")


def parse_time(value: str) -> float:
    """Epoch seconds of "YYYY-MM-DD" or "YYYY-MM-DD HH:MM" (UTC, as the audit log's times)."""
    for form in ("%Y-%m-%d %H:%M", "%Y-%m-%dT%H:%M", "%Y-%m-%d"):
        try:
            return datetime.strptime(value.strip(), form).replace(tzinfo=UTC).timestamp()
        except ValueError:
            continue
    raise HandoverError(f"“{value}” is not a time: write it as 2026-12-03 06:00 (UTC), "
                        "or a day as 2026-12-03")


def handover(log: AuditLog, start: float, end: float,
             on_record: Mapping[str, int] | None = None) -> Handover:
    """The questions asked in [start, end) (epoch seconds), oldest first; with ``on_record``
    (work orders per asset id, lower case: the records' assets), the assets they name."""
    if end <= start:
        raise HandoverError("the window ends before it starts: give --from before --to")
    known = on_record or {}
    shown = Handover(_utc(start), _utc(end), on_record=dict(known))
    for row in reversed(log.rows(since=start, before=end)):
        if row["action"] != "ask":
            continue
        flags = [f for f in str(row["flags"] or "").split("; ") if f]
        hazards = [f for f in flags if f.startswith("[")]
        doubts = [f for f in flags if f != _WEAK and f not in hazards]
        outcome = _OUTCOME.get(str(row["status"]), str(row["status"]))
        if outcome == "answered" and _WEAK in flags:
            outcome = _WEAK
        question = str(row["question"] or "")
        shown.asked.append(Asked(
            int(str(row["id"])), str(row["time_utc"]), str(row["user"]),
            question if question != WITHHELD else "(question not kept)", outcome,
            [s for s in str(row["cited"] or "").split("; ") if s], doubts, hazards,
            str(row["feedback"] or ""), _assets_named(question, known)))
    return shown


def _assets_named(question: str, known: Mapping[str, int]) -> list[str]:
    """The asset ids of the records that ``question`` names ("QR0218", "qr-0218")."""
    words = {w.replace("-", "") for w in re.findall(r"[a-z0-9][a-z0-9-]*", question.lower())}
    return sorted(w for w in words if w in known)


def _utc(epoch: float) -> str:
    return time.strftime("%Y-%m-%d %H:%M", time.gmtime(epoch))
