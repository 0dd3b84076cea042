"""A shift's handover, from the audit log: what was asked in a time window and how each
answer ended, the questions the documents did not answer, the answers marked doubtful and the
safety hazards shown — what the next shift needs and today is written from memory.

Built from what was recorded, never written by a model: every line is an audit row (its id
and time), so a reader can look any of them up (`plantops audit export`).
"""

from __future__ import annotations

import re
import time
from collections.abc import Collection, Mapping
from dataclasses import asdict, dataclass, field, replace
from datetime import UTC, datetime

from app.records.audit import SAFETY_FLAG, WITHHELD, AuditLog
from app.records.incidents import IncidentStore
from app.records.work_orders import DraftStore, WorkOrderDraft

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
    safety: list[str] = field(default_factory=list)  # sources of the safety notices shown
    withheld: int = 0  # sources left out: documents the reader of the handover may not read


@dataclass(frozen=True)
class OrderLine:
    """A work order drafted or confirmed in the window."""

    number: str  # PO-WO-00017
    asset: str
    title: str
    status: str  # draft | confirmed
    by: str  # who drafted it (drafted) or confirmed it (confirmed)
    time_utc: str
    incident: int | None


@dataclass(frozen=True)
class IncidentLine:
    """An incident worked on in the window; closed once a work order drafted from it is
    confirmed (that number), else still open."""

    id: int
    user: str
    title: str
    opened_utc: str
    closed_by: str = ""


@dataclass
class Handover:
    start_utc: str
    end_utc: str
    asked: list[Asked] = field(default_factory=list)
    # each asset asked about: how many work orders the plant's records hold on it (a failure
    # asked about again and again, and its history, is what the next shift should know)
    on_record: dict[str, int] = field(default_factory=dict)
    incidents: list[IncidentLine] = field(default_factory=list)
    drafted: list[OrderLine] = field(default_factory=list)
    confirmed: list[OrderLine] = field(default_factory=list)
    area: tuple[str, ...] = ()  # the assets it is limited to (upper case), if any

    @property
    def assets(self) -> list[tuple[str, int, int]]:
        """(asset, times asked this shift, work orders on record), most asked first; the
        assets of work orders drafted in the window count as asked about."""
        asked: dict[str, int] = {}
        for item in self.asked:
            for asset in item.assets:
                asked[asset] = asked.get(asset, 0) + 1
        for order in self.drafted:
            key = order.asset.lower().replace("-", "")
            if key and key not in asked:
                asked[key] = 0
        return sorted(((a, n, self.on_record.get(a, 0)) for a, n in asked.items()),
                      key=lambda row: (-row[1], -row[2], row[0]))

    @property
    def outcomes(self) -> dict[str, int]:
        counts: dict[str, int] = {}
        for item in self.asked:
            counts[item.outcome] = counts.get(item.outcome, 0) + 1
        return counts

    def readable_by(self, hidden: Collection[str]) -> Handover:
        """The handover as a reader who may not read the ``hidden`` files sees it: their
        pages left out of each answer's sources and safety notices (counted, and said), and
        what the checks flagged in such an answer (the model's words about those pages) not
        shown. The questions stay: they are the askers' words, and the shift's record."""
        if not hidden:
            return self
        barred = set(hidden)

        def hidden_source(label: str) -> bool:
            where = re.sub(r"^\[\d+\]\s*", "", label)  # a notice is "[2] file, page 3"
            return any(where == f or where.startswith(f + ", ") for f in barred)

        asked = []
        for a in self.asked:
            kept = [s for s in a.sources if not hidden_source(s)]
            safety = [s if not hidden_source(s) else WITHHELD_SOURCE for s in a.safety]
            withheld = len(a.sources) - len(kept)
            touched = withheld or WITHHELD_SOURCE in safety
            asked.append(replace(a, sources=kept, safety=safety, withheld=withheld,
                                 doubts=[WITHHELD_CHECKS] if touched and a.doubts
                                 else a.doubts))
        return replace(self, asked=asked)

    def to_json(self) -> dict[str, object]:
        return {"start_utc": self.start_utc, "end_utc": self.end_utc, "area": list(self.area),
                "outcomes": self.outcomes, "asked": [asdict(a) for a in self.asked],
                "assets": [{"asset": a, "asked": n, "work_orders_on_record": w}
                           for a, n, w in self.assets]}

    def to_markdown(self) -> str:
        """The handover as Markdown: counts first, then what needs the next shift's eyes
        (not found, doubtful, hazards, rated unhelpful), then every question in order."""
        area = f" — {', '.join(self.area)}" if self.area else ""
        head = [f"# Shift handover {self.start_utc} – {self.end_utc} (UTC){area}", ""]
        if not (self.asked or self.incidents or self.drafted or self.confirmed):
            return "\n".join([*head, "Nothing was asked in this window, and no work order "
                              "was drafted or confirmed in it."]) + "\n"
        counts = ", ".join(f"{n} {outcome}" for outcome, n in sorted(
            self.outcomes.items(), key=lambda item: -item[1]))
        users = sorted({a.user for a in self.asked})
        lines = [*head, f"{len(self.asked)} question{'s' if len(self.asked) != 1 else ''} "
                 f"from {len(users)} "
                 f"user{'s' if len(users) != 1 else ''} ({', '.join(users)}): {counts}."
                 if self.asked else "No question was asked in this window.", ""]
        if self.incidents:
            still = [i for i in self.incidents if not i.closed_by]
            lines += [f"## Incidents ({len(still)} still open)", ""]
            lines += [f"- incident {i.id} ({i.user}, opened {i.opened_utc}): "
                      f"“{_one_line(i.title)}” — "
                      + (f"closed by work order {i.closed_by}" if i.closed_by else "**open**")
                      for i in self.incidents]
            lines.append("")
        notices = [(a, s) for a in self.asked for s in a.safety]
        if notices:
            lines += ["## Safety notices shown", ""]
            lines += [f"- {a.time_utc} to {a.user}, with “{_one_line(a.question, 80)}”: the "
                      f"notice of {s} (audit row {a.row})" for a, s in notices]
            lines.append("")
        if self.drafted or self.confirmed:
            lines += ["## Work orders", ""]
            lines += [f"- {o.time_utc} {o.number} drafted by {o.by}: {_one_line(o.title)}"
                      + (f" (incident {o.incident})" if o.incident else "")
                      + (" — still a draft" if o.status == "draft" else "")
                      for o in self.drafted]
            lines += [f"- {o.time_utc} {o.number} confirmed by {o.by}: {_one_line(o.title)}"
                      for o in self.confirmed]
            lines.append("")
        attention = [a for a in self.asked if a.outcome != "answered" or a.doubts
                     or a.hazards or a.feedback == "down"]
        if attention:
            lines += ["## Needs a look", ""]
            for a in attention:
                why = [a.outcome] if a.outcome != "answered" else []
                why += [f"flagged: {_doubts(a.doubts)}"] if a.doubts else []
                why += [f"hazard: {'; '.join(a.hazards)}"] if a.hazards else []
                why += ["rated not helpful"] if a.feedback == "down" else []
                lines.append(f"- {a.time_utc} {a.user}: “{_one_line(a.question)}” — "
                             f"{', '.join(why)} (audit row {a.row})")
            lines.append("")
        if self.assets:
            lines += ["## Assets asked about", ""]
            lines += [f"- {a.upper()}: " + (f"asked {n} time{'s' if n != 1 else ''} this "
                                             "shift; " if n else "a work order drafted; ")
                      + f"{w} work order{'s' if w != 1 else ''} on record (`plantops history "
                      f"{a.upper()}`)" for a, n, w in self.assets]
            lines.append("")
        if not self.asked:
            return "\n".join(lines) + "\n"
        lines += ["## Every question", "", "| time (UTC) | user | question | outcome | sources |",
                  "|---|---|---|---|---|"]
        lines += [f"| {a.time_utc} | {a.user} | {_cell(a.question)} | {a.outcome} | "
                  f"{_cell(_sources(a))} |" for a in self.asked]
        return "\n".join(lines) + "\n"


_SENTENCE_FLAG = "no cited page says"
WITHHELD_SOURCE = "a document you may not read"
WITHHELD_CHECKS = "not shown (the answer cites a document you may not read)"


def _sources(asked: Asked) -> str:
    shown = "; ".join(asked.sources[:3])
    if asked.withheld:
        shown += ("; " if shown else "") + (
            f"{asked.withheld} document page{'s' if asked.withheld != 1 else ''} you may not "
            "read")
    return shown or "—"


def _doubts(doubts: list[str]) -> str:
    """What the checks flagged, short: each fact as flagged ("number 1000 lb"), the model's
    sentences no cited page says counted (the audit row holds them whole)."""
    facts = [d for d in doubts if not d.startswith(_SENTENCE_FLAG)]
    sentences = len(doubts) - len(facts)
    counted = [f"{sentences} sentence{'s' if sentences != 1 else ''} no cited page says"
               ] if sentences else []
    return "; ".join([*facts, *counted])


def _one_line(text: str, limit: int = 160) -> str:
    text = " ".join(text.split())
    return text if len(text) <= limit else text[:limit - 1] + "…"


def _cell(text: str) -> str:
    return _one_line(text).replace("|", "\\|")


def parse_time(value: str) -> float:
    """Epoch seconds of "YYYY-MM-DD", "YYYY-MM-DD HH:MM" or "… HH:MM:SS" (UTC, as the audit
    log's times)."""
    for form in ("%Y-%m-%d %H:%M", "%Y-%m-%d %H:%M:%S", "%Y-%m-%dT%H:%M", "%Y-%m-%dT%H:%M:%S",
                 "%Y-%m-%d"):
        try:
            return datetime.strptime(value.strip(), form).replace(tzinfo=UTC).timestamp()
        except ValueError:
            continue
    raise HandoverError(f"“{value}” is not a time: write it as 2026-12-03 06:00 (UTC), "
                        "or a day as 2026-12-03")


def handover(log: AuditLog, start: float, end: float,
             on_record: Mapping[str, int] | None = None,
             work_orders: DraftStore | None = None,
             incidents: IncidentStore | None = None,
             area: Collection[str] = ()) -> Handover:
    """The questions asked in [start, end) (epoch seconds), oldest first; with ``on_record``
    (work orders per asset id, lower case: the records' assets), the assets they name; with
    the stores, the work orders drafted and confirmed and the incidents worked on. ``area``:
    asset ids to limit it to (an area's machines): questions and incidents that name one,
    work orders on one."""
    if end <= start:
        raise HandoverError("the window ends before it starts: give --from before --to")
    known = on_record or {}
    shown = Handover(_utc(start), _utc(end), on_record=dict(known))
    if work_orders is not None:
        shown.drafted = [_line(o, o.author, o.created)
                         for o in work_orders.drafted_between(start, end)]
        shown.confirmed = [_line(o, o.confirmed_by or "", o.confirmed_at or 0)
                           for o in work_orders.confirmed_between(start, end)]
    if incidents is not None:
        closing = {o.incident: o.number for o in (work_orders.all_confirmed() if work_orders
                                                   else []) if o.incident is not None}
        shown.incidents = [IncidentLine(i, user, title, _utc(created), closing.get(i, ""))
                           for i, user, title, created in incidents.active_between(start, end)]
    for row in reversed(log.rows(since=start, before=end)):
        if row["action"] != "ask":
            continue
        flags = [f for f in str(row["flags"] or "").split("; ") if f]
        hazards = [f for f in flags if f.startswith("[")]
        safety = [f.removeprefix(SAFETY_FLAG).strip() for f in flags
                  if f.startswith(SAFETY_FLAG)]
        doubts = [f for f in flags if f != _WEAK and f not in hazards
                  and not f.startswith(SAFETY_FLAG)]
        outcome = _OUTCOME.get(str(row["status"]), str(row["status"]))
        if outcome == "answered" and _WEAK in flags:
            outcome = _WEAK
        question = str(row["question"] or "")
        shown.asked.append(Asked(
            int(str(row["id"])), str(row["time_utc"]), str(row["user"]),
            question if question != WITHHELD else "(question not kept)", outcome,
            [s for s in str(row["cited"] or "").split("; ") if s], doubts, hazards,
            str(row["feedback"] or ""), _assets_named(question, known), safety))
    return _within(shown, area) if area else shown


def _key(asset: str) -> str:
    return asset.strip().lower().replace("-", "")


def _within(shown: Handover, area: Collection[str]) -> Handover:
    """``shown`` limited to the assets of ``area``."""
    wanted = {_key(a): 0 for a in area if _key(a)}
    shown.area = tuple(a.upper() for a in wanted)
    shown.asked = [a for a in shown.asked if _assets_named(a.question, wanted)]
    shown.incidents = [i for i in shown.incidents if _assets_named(i.title, wanted)]
    shown.drafted = [o for o in shown.drafted if _key(o.asset) in wanted]
    shown.confirmed = [o for o in shown.confirmed if _key(o.asset) in wanted]
    return shown


def _line(order: WorkOrderDraft, by: str, when: float) -> OrderLine:
    return OrderLine(order.number, order.fields.asset, order.fields.title, order.status, by,
                     _utc(when), order.incident)


def _assets_named(question: str, known: Mapping[str, int]) -> list[str]:
    """The asset ids of the records that ``question`` names ("QR0218", "qr-0218")."""
    words = {w.replace("-", "") for w in re.findall(r"[a-z0-9][a-z0-9-]*", question.lower())}
    return sorted(w for w in words if w in known)


def _utc(epoch: float) -> str:
    return time.strftime("%Y-%m-%d %H:%M", time.gmtime(epoch))
