"""The process settings: one typed object, read once at the composition root.

Sources, highest first: constructor arguments, environment variables
(``PLANTOPS_`` prefix, ``__`` between nested names, e.g.
``PLANTOPS_SERVING__BASE_URLS='["http://gpu1:8000/v1"]'``), then a TOML file
(``PLANTOPS_CONFIG``, default ``./plantops.toml`` when present), then defaults
that work offline on a laptop.
"""

from __future__ import annotations

import os
import re
from pathlib import Path
from typing import Literal

from pydantic import Field, ValidationError, field_validator, model_validator
from pydantic_settings import (
    BaseSettings,
    PydanticBaseSettingsSource,
    SettingsConfigDict,
    TomlConfigSettingsSource,
)

from ingest.settings import IngestSettings, Section
from serving.settings import ServingSettings


class RetrievalSettings(Section):
    top_k: int = Field(default=5, ge=1, le=50, description="Passages given to the model.")
    candidates: int = Field(default=30, ge=1,
                            description="Candidates fetched per query from each of the dense "
                            "and the lexical (BM25) index before fusion.")
    lexical_weight: float = Field(default=1.0, ge=0,
                                  description="Weight of BM25 ranks against dense ranks in "
                                  "reciprocal-rank fusion (0: dense only).")
    coverage_weight: float = Field(
        default=1.0, ge=0,
        description="Weight, in the fusion, of ranking the candidates by the IDF-weighted "
        "share of the question's words they contain (0: off).")
    tag_boost: float = Field(default=0.05, ge=0,
                             description="Score added to passages that carry an equipment tag "
                             "or fault code named in the question.")
    rerank_depth: int = Field(
        default=10, ge=0, le=50,
        description="The best units of the fused ranking that are re-ordered by their evidence "
        "(dense similarity + rerank_coverage_weight x coverage); 0: fused order only.")
    rerank_identifier_weight: float = Field(
        default=0.5, ge=0,
        description="Added to the evidence of a top unit that carries an equipment tag or fault "
        "code the question names (the row of ALARM:10 in a code table).")
    rerank_coverage_weight: float = Field(
        default=0.5, ge=0,
        description="Weight of the IDF-weighted coverage of the question's words against "
        "the dense similarity when the top units are re-ordered.")
    sentence_cache: int = Field(
        default=20_000, ge=0,
        description="Sentence vectors a UI process keeps between questions (least recently "
        "used dropped; 61 MB at the default): the sentences an answer quotes are picked by "
        "embedding those of its first passages, and the same passages recur (0: none kept).")
    support_similarity_below: float = Field(
        default=0.76, ge=-1, le=1,
        description="A sentence of the model's answer is marked 'no cited page says this' when "
        "its closest sentence of the cited passages is less similar than this and the passages "
        "hold less than support_coverage_below of its IDF-weighted words. Fitted on the CPU "
        "model's answers to the development questions; a plant with another model refits both "
        "with benchmarks/sentence_support.py (docs/retrieval.md).")
    support_coverage_below: float = Field(
        default=0.65, ge=0, le=1.01,
        description="See support_similarity_below (1.01: similarity alone decides).")
    abstention_model: Path | None = Field(
        default=None,
        description="JSON file of the not-found decision (coefficients and the two thresholds; "
        "see docs/retrieval.md). Empty: the model shipped with the app, fitted on the "
        "development questions. A plant refits it with benchmarks/fit_abstention.py.")


class HistorySettings(Section):
    """How a history question ("what has been done on QR0218?") is matched against the work
    orders; fitted on ../shared/eval/dev.jsonl (benchmarks/fit_history.py, docs/retrieval.md)."""

    enabled: bool = Field(default=True, description="Answer history, list and count questions "
                          "from the work-order records (off: every question goes to retrieval).")
    similarity_floor: float = Field(
        default=0.30, ge=-1, le=1,
        description="A work order close in meaning must be at least this similar to the question.")
    similarity_window: float = Field(
        default=0.25, ge=0, le=2,
        description="...and at most this far below the most similar work order. (Every work "
        "order holding every word of the question's subject matches too.)")
    worded_quantile: float = Field(
        default=0.5, ge=-1, le=1,
        description="When some work orders hold every word, one close in meaning must be at "
        "least as similar as this quantile of them (-1: off).")
    nearest: int = Field(default=400, ge=10, le=5000,
                         description="Work orders read from the dense index per question.")
    meaning_listed: int = Field(
        default=50, ge=1, le=5000,
        description="Most work orders listed that match a question by meaning only (the "
        "closest); the answer says how many more were close.")


class UISettings(Section):
    host: str = Field(default="127.0.0.1", description="Address the web UI binds.")
    port: int = Field(default=7860, description="Port of the web UI.")
    concurrency: int = Field(default=16, ge=1,
                             description="Requests the UI serves at once (Gradio queue).")
    auth: Literal["auto", "login", "single-user"] = Field(
        default="auto",
        description="'login': users sign in (`plantops users add`); 'single-user': no login, "
        "everyone is an admin (a laptop); 'auto': single-user when bound to 127.0.0.1 or "
        "localhost, login otherwise.")
    max_upload_mb: float = Field(default=200, gt=0,
                                 description="Largest file an admin may upload in the UI.")
    session_idle_minutes: float = Field(
        default=60, ge=0,
        description="A signed-in session that makes no request for this long is signed out "
        "(0: never).")
    ssl_certfile: Path | None = Field(
        default=None, description="TLS certificate (PEM) for serving the UI over HTTPS.")
    ssl_keyfile: Path | None = Field(default=None, description="Its private key (PEM).")
    behind_tls_proxy: bool = Field(
        default=False,
        description="The UI is reached over HTTPS through a reverse proxy that terminates TLS: "
        "session cookies are then sent with the Secure flag only.")

    trusted_proxies: list[str] = Field(
        default_factory=lambda: ["127.0.0.1", "::1"],
        description="Addresses or networks (10.0.0.0/8) of the load balancers and reverse "
        "proxies in front of the UI. A request from one of them is taken to come from the "
        "address it appends to X-Forwarded-For (HAProxy: `option forwardfor`), so sign-in "
        "throttling counts each operator's console, not the balancer; that header from "
        "anyone else is ignored. Uvicorn's FORWARDED_ALLOW_IPS.")

    def served_over_tls(self) -> bool:
        return self.ssl_certfile is not None or self.behind_tls_proxy

    def single_user(self) -> bool:
        if self.auth == "auto":
            return self.host in LOOPBACK_HOSTS
        return self.auth == "single-user"


LOOPBACK_HOSTS = ("127.0.0.1", "localhost", "::1")


def read_secret(key: str, path: Path | None) -> str | None:
    """A password from the file a setting names (a Kubernetes or Compose secret), stripped;
    None when unset. Unreadable: said with the setting's name and what to do."""
    if path is None:
        return None
    try:
        return path.read_text(encoding="utf-8").strip()
    except OSError as exc:
        raise ValueError(f"{key} {path} cannot be read ({exc.strerror}): mount the secret "
                         "there, readable by the service account") from None


class DatabaseSettings(Section):
    """The app's records (users, sign-in sessions, audit log, incidents): a SQLite file in the
    data dir, or a PostgreSQL server that every UI replica shares."""

    url: str | None = Field(
        default=None, description="SQLAlchemy URL of a shared database, e.g. "
        "postgresql+psycopg://plantops@db.plant.local:5432/plantops (no password here: "
        "database.password_file). Unset: records.sqlite3 in the data dir.")
    password_file: Path | None = Field(
        default=None, description="File holding the database password (a Kubernetes or "
        "Compose secret, mode 0600); never on a command line.")

    @field_validator("url", mode="before")
    @classmethod
    def _empty_is_unset(cls, value: object) -> object:
        """Compose passes an unset variable as an empty string: the embedded default."""
        return None if isinstance(value, str) and not value.strip() else value

    def password(self) -> str | None:
        return read_secret("database.password_file", self.password_file) if self.url else None


class DirectorySettings(Section):
    """The plant's directory (Active Directory or OpenLDAP): people sign in with their
    directory account, their groups give the role. Local accounts (`plantops users`) still
    sign in first, so the break-glass admin never depends on the directory."""

    url: str | None = Field(
        default=None, description="ldaps://dc1.plant.local or ldap://ldap.plant.local:389 "
        "(then start_tls). Unset: local accounts only.")
    start_tls: bool = Field(default=False, description="Upgrade an ldap:// connection with "
                            "StartTLS before anything is sent (ldaps:// needs none).")
    ca_file: Path | None = Field(
        default=None, description="CA certificate(s) (PEM) that signed the directory's "
        "certificate. Certificates are always checked; unset: the system's CAs.")
    bind_dn: str | None = Field(
        default=None, description="Service account that looks people up, e.g. "
        "CN=svc-plantops,OU=Service,DC=plant,DC=local. Unset: anonymous lookups.")
    bind_password_file: Path | None = Field(
        default=None, description="File holding the service account's password (a secret, "
        "mode 0600); never on a command line.")
    user_base: str = Field(default="", description="Where people are searched, e.g. "
                           "OU=People,DC=plant,DC=local.")
    user_attribute: str = Field(
        default="uid", description="The attribute a person signs in with: uid (OpenLDAP), "
        "sAMAccountName or userPrincipalName (Active Directory).")
    user_filter: str = Field(
        default="(objectClass=person)", description="Only accounts matching it may sign in; "
        "leave disabled ones out here. AD: (&(objectCategory=person)(!(userAccountControl:"
        "1.2.840.113556.1.4.803:=2))).")
    group_base: str = Field(default="", description="Where groups are searched, e.g. "
                            "OU=Groups,DC=plant,DC=local.")
    member_attribute: str = Field(default="member", description="The group attribute that "
                                  "lists members by DN (member, uniqueMember).")
    nested_groups: Literal["walk", "in_chain"] = Field(
        default="walk", description="How groups within groups are found: 'walk' asks for "
        "the groups of each group found, up to 8 levels (any server); 'in_chain' asks "
        "Active Directory once (LDAP_MATCHING_RULE_IN_CHAIN).")
    roles: dict[str, Literal["operator", "technician", "admin"]] = Field(
        default_factory=dict, description="Group DN -> role; a person in several gets the "
        "highest, in none may not sign in.")
    timeout_s: float = Field(default=5.0, gt=0, description="Connect and answer timeout of "
                             "each directory request.")
    revalidate_s: float = Field(
        default=300.0, ge=0, description="A signed-in directory user is looked up again at "
        "the first request after this long: someone disabled or taken out of the groups "
        "loses access then, not at their next sign-in.")
    unreachable_grace_s: float = Field(
        default=3600.0, ge=0, description="While the directory does not answer, a signed-in "
        "user keeps the role last confirmed for this long (an operator mid-incident is not "
        "signed out by a directory outage); then signed out.")

    @field_validator("url", "bind_dn", mode="before")
    @classmethod
    def _empty_is_unset(cls, value: object) -> object:
        return None if isinstance(value, str) and not value.strip() else value

    def bind_password(self) -> str | None:
        return read_secret("directory.bind_password_file", self.bind_password_file)


class AuditSettings(Section):
    """What the audit log keeps (the records database; Documents tab, `plantops audit`)."""

    keep_question_text: bool = Field(
        default=True, description="Keep the text of questions, search queries and answers. "
        "Off: who asked, when, the sources shown, flags and feedback are kept, the text is "
        "not (a works council's condition at some sites).")


_COLLECTION_NAME = re.compile(r"^[a-z0-9][a-z0-9._-]{0,63}$")


class CollectionSettings(Section):
    """Who may read the documents an admin put into one collection (need to know: a
    contractor's technicians kept out of proprietary drawings, one site's documents from
    another's). Admins read every collection; a document in no collection is read by every
    signed-in user."""

    roles: list[Literal["operator", "technician", "admin"]] = Field(
        default_factory=list, description="Every user of these roles may read it.")
    groups: list[str] = Field(
        default_factory=list, description="Members of these directory groups (DNs; nested "
        "membership counts) may read it, whatever their role.")


class PlanningSettings(Section):
    """Cost inputs of `plantops plan` (planning defaults, not quotes: set the plant's own)."""

    energy_per_kwh: float = Field(default=0.25, ge=0, description="Energy price per kWh.")
    utilisation: float = Field(default=0.5, ge=0, le=1, description="Share of the year the "
                               "model servers draw their load power.")
    maintenance_per_year: float = Field(default=0.10, ge=0, description="Yearly maintenance "
                                        "and support, as a share of the hardware price.")
    staff_per_year: float = Field(default=0.0, ge=0, description="Yearly cost of the staff "
                                  "time the model servers take.")
    measured_price_per_replica: float = Field(
        default=0.0, ge=0, description="Hardware price of one replica of a measured server "
        "(--measured); 0: not priced.")
    measured_power_w_per_replica: float = Field(
        default=0.0, ge=0, description="Power draw of one replica of a measured server at load.")


# The export schema of confirmed work orders (docs/admin.md): each field a mapping may name.
# A mapping's value is one of these, or "const:TEXT" for a fixed value (SAP's notification
# type "M1").
WORK_ORDER_FIELDS = {
    "number": "the assistant's work-order number, PO-WO-00017",
    "asset": "the asset id, upper case",
    "title": "asset and symptom on one line (a CMMS short text; cut to the column's length "
             "by the CMMS)",
    "symptom": "the symptom in the operator's words",
    "codes": "fault codes named in the incident, '; '-separated",
    "documents": "what the cited pages say, each quote followed by its source, one per line",
    "citations": "the sources quoted, '; '-separated",
    "safety": "safety notices shown in the incident, verbatim with sources, one per line",
    "actions": "actions already taken, as typed",
    "long_text": "symptom, codes, documents, safety and actions as one text (a CMMS long "
                 "description)",
    "priority": "priority, one of work_orders.priorities",
    "work_type": "work type, one of work_orders.work_types",
    "drafted_by": "user who drafted it",
    "drafted_at": "when it was drafted, UTC, 2026-12-04T06:12:00Z",
    "drafted_date": "the day it was drafted, UTC, 20261204",
    "confirmed_by": "user who confirmed it",
    "confirmed_at": "when it was confirmed, UTC, ISO 8601",
    "incident": "the incident it was drafted from (its id)",
    "source": "always 'assistant'",
}
# Presets: IBM Maximo's work-order object structure (MXWO) and SAP PM's notification
# (BAPI_ALM_NOTIF_CREATE: NOTIF_TYPE and the NOTIFHEADER fields; the long text goes to
# LONGTEXTS). Field names from their public documentation, cited in docs/admin.md.
WORK_ORDER_PRESETS: dict[str, dict[str, str]] = {
    "plantops": {name: name for name in WORK_ORDER_FIELDS},
    "maximo": {"WONUM": "number", "DESCRIPTION": "title",
               "DESCRIPTION_LONGDESCRIPTION": "long_text", "ASSETNUM": "asset",
               "WORKTYPE": "work_type", "WOPRIORITY": "priority", "REPORTEDBY": "drafted_by",
               "REPORTDATE": "drafted_at", "STATUS": "const:WAPPR"},
    "sap_pm": {"NOTIF_TYPE": "const:M1", "SHORT_TEXT": "title", "EQUIPMENT": "asset",
               "PRIORITY": "priority", "REPORTEDBY": "drafted_by", "NOTIF_DATE": "drafted_date",
               "LONG_TEXT": "long_text", "REFOBJECTKEY": "number"},
}


class WorkOrderSettings(Section):
    """Work orders drafted from incidents: who confirms them, their lists, and the export the
    plant's CMMS imports (docs/admin.md)."""

    confirm_roles: list[Literal["operator", "technician", "admin"]] = Field(
        default_factory=lambda: ["technician", "admin"],
        description="Roles that confirm work orders (and see every draft); every role may "
        "draft from its own incidents.")
    priorities: list[str] = Field(
        default_factory=lambda: ["1 emergency", "2 high", "3 normal", "4 low"], min_length=1,
        description="The plant's priorities, as its CMMS writes them.")
    work_types: list[str] = Field(
        default_factory=lambda: ["corrective", "emergency", "inspection", "preventive"],
        min_length=1, description="The plant's work types, as its CMMS writes them.")
    export_dir: Path | None = Field(
        default=None, description="Folder confirmed work orders are exported to (CSV and "
        "JSON, one pair per format); default <data_dir>/exports/work-orders. Nothing is sent "
        "to any CMMS: its import job reads this folder.")
    export_as: list[str] = Field(
        default_factory=lambda: ["plantops"], min_length=1,
        description="Formats written on each export: plantops (every field), maximo, sap_pm, "
        "or a name of work_orders.mappings.")
    mappings: dict[str, dict[str, str]] = Field(
        default_factory=dict,
        description="Plant-defined export formats: name -> {column: field}, a field of the "
        "export schema (docs/admin.md) or \"const:TEXT\".")

    @field_validator("mappings")
    @classmethod
    def _known_fields(cls, value: dict[str, dict[str, str]]) -> dict[str, dict[str, str]]:
        for name, mapping in value.items():
            if not mapping:
                raise ValueError(f"mapping {name!r} names no column")
            for column, source in mapping.items():
                if not source.startswith("const:") and source not in WORK_ORDER_FIELDS:
                    raise ValueError(
                        f"mapping {name!r}: column {column!r} names the field {source!r}, "
                        f"which the export does not have (fields: "
                        f"{', '.join(WORK_ORDER_FIELDS)}; or const:TEXT)")
        return value

    @model_validator(mode="after")
    def _known_formats(self) -> WorkOrderSettings:
        known = {*WORK_ORDER_PRESETS, *self.mappings}
        unknown = [f for f in self.export_as if f not in known]
        if unknown:
            raise ValueError(f"export_as names {', '.join(map(repr, unknown))}, which is "
                             f"neither a preset ({', '.join(WORK_ORDER_PRESETS)}) nor in "
                             "work_orders.mappings")
        return self


def _config_file() -> Path:
    return Path(os.environ.get("PLANTOPS_CONFIG", "plantops.toml"))


class Settings(BaseSettings):
    model_config = SettingsConfigDict(env_prefix="PLANTOPS_", env_nested_delimiter="__",
                                      extra="forbid")

    data_dir: Path = Field(default=Path("var/data"),
                           description="Index, manifest and all state live here.")
    samples_dir: Path = Field(default=Path("samples/documents"),
                              description="Sample documents `plantops up` indexes.")
    ingest: IngestSettings = Field(default_factory=IngestSettings)
    serving: ServingSettings = Field(default_factory=ServingSettings)
    retrieval: RetrievalSettings = Field(default_factory=RetrievalSettings)
    history: HistorySettings = Field(default_factory=HistorySettings)
    ui: UISettings = Field(default_factory=UISettings)
    planning: PlanningSettings = Field(default_factory=PlanningSettings)
    database: DatabaseSettings = Field(default_factory=DatabaseSettings)
    directory: DirectorySettings = Field(default_factory=DirectorySettings)
    audit: AuditSettings = Field(default_factory=AuditSettings)
    work_orders: WorkOrderSettings = Field(default_factory=WorkOrderSettings)
    collections: dict[str, CollectionSettings] = Field(
        default_factory=dict,
        description="Name -> who may read the documents put into it (`plantops ingest "
        "--collection NAME`, or per file in the Documents tab); see docs/admin.md. A name "
        "no setting defines (removed since) is read by admins only.")

    @field_validator("collections")
    @classmethod
    def _collection_names(cls, value: dict[str, CollectionSettings]
                          ) -> dict[str, CollectionSettings]:
        for name in value:
            if not _COLLECTION_NAME.match(name):
                raise ValueError(f"collection name {name!r}: use 1-64 of a-z, 0-9, '.', "
                                 "'_', '-'")
        return value

    @classmethod
    def settings_customise_sources(
        cls, settings_cls: type[BaseSettings], init_settings: PydanticBaseSettingsSource,
        env_settings: PydanticBaseSettingsSource, dotenv_settings: PydanticBaseSettingsSource,
        file_secret_settings: PydanticBaseSettingsSource,
    ) -> tuple[PydanticBaseSettingsSource, ...]:
        toml = TomlConfigSettingsSource(settings_cls, toml_file=_config_file())
        return init_settings, env_settings, toml, file_secret_settings


def describe_invalid(exc: ValidationError) -> str:
    """A settings error as an admin reads it: each wrong key with where it is set and what
    to do (pydantic's own text names the rule, not the fix)."""
    lines = [f"the settings are not valid ({_config_file()} and PLANTOPS_* variables; every "
             "setting: docs/configuration.md):"]
    for error in exc.errors():
        key = ".".join(str(part) for part in error["loc"])
        if error["type"] == "extra_forbidden":
            lines.append(f"  {key}: no such setting (a typo, or one removed in this version: "
                         "see CHANGELOG.md); remove or rename it")
        else:
            lines.append(f"  {key}: {error['msg']} (got {error.get('input')!r})")
    return "\n".join(lines)

