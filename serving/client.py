"""The one client that talks to the model servers (OpenAI-compatible API).

Requests go to the healthy replica with the fewest requests in flight. A
replica that fails is marked down, and a background thread probes its /health
until it answers again; a request that fails before its first token is retried
once on another replica. With one address — at plant scale, the vLLM project's
router in front of the replicas — a quick failure before the first token (its
replica died) is retried once at that address, where the router picks a live
replica: the router itself does not retry a stream that broke. After the first
token there is no retry: the caller gets ``StreamInterrupted`` and must label
what it showed as incomplete.
"""

from __future__ import annotations

import threading
import time
from collections.abc import Generator, Sequence
from dataclasses import dataclass
from typing import Literal

import httpx
import openai
from langchain_openai import ChatOpenAI

from serving.errors import ModelServerBusy, ModelServerUnavailable, StreamInterrupted
from serving.settings import ServingSettings

Role = Literal["system", "user", "assistant"]
_PROBE_EVERY_S = 2.0


@dataclass(frozen=True)
class ChatMessage:
    role: Role
    content: str


@dataclass
class _Replica:
    base_url: str
    llm: ChatOpenAI
    in_flight: int = 0
    down_since: float | None = None  # None: up

    @property
    def root(self) -> str:
        return self.base_url.rstrip("/").removesuffix("/v1")

    def is_up(self) -> bool:
        return self.down_since is None


class ModelClient:
    """Streams chat completions from one of several vLLM replicas."""

    def __init__(self, settings: ServingSettings) -> None:
        self.settings = settings
        self.model_name = settings.active_profile().served_model_name
        key = settings.resolved_api_key() or "EMPTY"
        timeout = httpx.Timeout(connect=settings.connect_timeout_s,
                                read=settings.first_token_timeout_s,
                                write=settings.connect_timeout_s, pool=settings.connect_timeout_s)
        self._replicas = [
            _Replica(url, ChatOpenAI(model=self.model_name, base_url=url,
                                     api_key=key, timeout=timeout, max_retries=0,
                                     temperature=settings.temperature,
                                     max_completion_tokens=settings.max_answer_tokens,
                                     streaming=True, extra_body={
                                         "repetition_penalty":
                                             settings.active_profile().repetition_penalty}))
            for url in settings.base_urls]
        self._lock = threading.Lock()
        self._prober: threading.Thread | None = None
        self._headers = {"Authorization": f"Bearer {key}"}
        self.prompt_budget = (settings.active_profile().max_model_len
                              - settings.max_answer_tokens)

    def _pick(self, exclude: set[str]) -> _Replica | None:
        with self._lock:
            # A replica marked down is not tried again until the background probe sees it
            # answer: a hung server (SIGSTOP, a stuck GPU) would otherwise cost every
            # question the whole first-token timeout before the retrieval-only answer.
            up = [r for r in self._replicas if r.base_url not in exclude and r.is_up()]
            if not up:
                return None
            replica = min(up, key=lambda r: r.in_flight)
            replica.in_flight += 1
            return replica

    def _release(self, replica: _Replica, failed: bool) -> None:
        with self._lock:
            replica.in_flight -= 1
            if failed:
                replica.down_since = time.monotonic()
                if self._prober is None or not self._prober.is_alive():
                    self._prober = threading.Thread(target=self._probe_down_replicas,
                                                    name="replica-prober", daemon=True)
                    self._prober.start()
            else:
                replica.down_since = None

    def _probe_down_replicas(self) -> None:
        """Mark replicas up again as soon as their /health answers; exit when all are up."""
        while True:
            with self._lock:
                down = [r for r in self._replicas if not r.is_up()]
            if not down:
                return
            for replica in down:
                if self._health_answers(replica):
                    with self._lock:
                        replica.down_since = None
            time.sleep(_PROBE_EVERY_S)

    def _health_answers(self, replica: _Replica) -> bool:
        try:
            return httpx.get(replica.root + "/health",
                             timeout=self.settings.connect_timeout_s).status_code == 200
        except httpx.HTTPError:
            return False

    def any_answers(self, timeout_s: float = 1.0) -> bool:
        """Whether some replica's /health answers now (the page's "model down" banner)."""
        for replica in self._replicas:
            try:
                if httpx.get(replica.root + "/health", timeout=timeout_s).status_code == 200:
                    return True
            except httpx.HTTPError:
                continue
        return False

    def replica_status(self) -> dict[str, bool]:
        """base URL -> up, as this client currently believes."""
        with self._lock:
            return {r.base_url: r.is_up() for r in self._replicas}

    def count_prompt_tokens(self, messages: Sequence[ChatMessage]) -> int | None:
        """Prompt length by the served model's own tokenizer (vLLM /tokenize), or None
        when no replica answers."""
        body = {"model": self.model_name, "add_generation_prompt": True,
                "messages": [{"role": m.role, "content": m.content} for m in messages]}
        for replica in sorted(self._replicas, key=lambda r: not r.is_up()):
            try:
                response = httpx.post(replica.root + "/tokenize", json=body, headers=self._headers,
                                      timeout=self.settings.connect_timeout_s)
                response.raise_for_status()
                return int(response.json()["count"])
            except (httpx.HTTPError, ValueError, KeyError):
                continue
        return None

    def stream(self, messages: Sequence[ChatMessage]) -> Generator[str, None, str | None]:
        """Yield answer text pieces and return why the model stopped ("stop", or "length" at
        serving.max_answer_tokens); raise ModelServerUnavailable or StreamInterrupted."""
        payload = [(m.role, m.content) for m in messages]
        tried: set[str] = set()
        errors: list[str] = []
        busy: list[str] = []
        alone = len(self._replicas) == 1
        for attempt in range(2):
            replica = self._pick(set() if alone else tried)
            if replica is None:
                break
            tried.add(replica.base_url)
            started = False
            failed = True
            finish = None
            try:
                deadline = time.monotonic() + self.settings.total_timeout_s
                for piece in replica.llm.stream(payload):
                    text = piece.content if isinstance(piece.content, str) else ""
                    finish = piece.response_metadata.get("finish_reason") or finish
                    if text:
                        started = True
                        yield text
                    if time.monotonic() > deadline:
                        failed = False  # slow, not broken
                        raise StreamInterrupted(f"the answer took longer than "
                                                f"{self.settings.total_timeout_s:.0f} s")
                failed = False
                return finish
            except GeneratorExit:  # the caller stopped reading (a loop cut short): not a fault
                failed = False
                raise
            except (openai.APIError, httpx.HTTPError) as exc:
                if started:
                    # With one address (a router), a stream cut mid-answer is the death of
                    # the replica behind it, not of the router: marked down, the address
                    # turned every other question away for 2 s (seen in CI). A read timeout
                    # is the address itself hanging: marked down, so the next question does
                    # not wait the whole timeout too.
                    failed = not alone or isinstance(
                        exc, openai.APITimeoutError | httpx.TimeoutException)
                    raise StreamInterrupted(f"model server {replica.base_url} failed "
                                            f"mid-answer ({type(exc).__name__})") from exc
                errors.append(f"{replica.base_url}: {type(exc).__name__}")
                timed_out = isinstance(exc, openai.APITimeoutError | httpx.TimeoutException)
                if timed_out and self._health_answers(replica):
                    # Busy, not hung: its /health answers while the prompts ahead of this
                    # one are computed (a CPU server under a burst of questions). Not marked
                    # down — that would turn away the questions it is about to answer.
                    failed = False
                    busy.append(replica.base_url)
                    if alone:
                        break
                    continue
                # A timeout is not retried at the same address: a hung server would cost
                # the question its timeout twice.
                failed = not (alone and attempt == 0 and not timed_out)
            finally:
                self._release(replica, failed)
        if busy:
            raise ModelServerBusy(
                f"{', '.join(busy)} did not start the answer within "
                f"{self.settings.first_token_timeout_s:.0f} s (serving.first_token_timeout_s) "
                "but answers /health: busy with other questions")
        if not errors:
            errors = [f"{url}: down, re-checked every {_PROBE_EVERY_S:.0f} s"
                      for url, up in self.replica_status().items() if not up]
        raise ModelServerUnavailable("no model server answered (" + "; ".join(errors) + ")")

    def served_model(self, base_url: str | None = None) -> dict[str, object]:
        """What /v1/models reports for our model, or raise ModelServerUnavailable."""
        url = (base_url or self._replicas[0].base_url).rstrip("/") + "/models"
        try:
            data = httpx.get(url, headers=self._headers,
                             timeout=self.settings.connect_timeout_s).json()
        except (httpx.HTTPError, ValueError) as exc:
            raise ModelServerUnavailable(f"cannot read {url} ({exc})") from exc
        for model in data.get("data", []):
            if model.get("id") == self.model_name:
                expected = self.settings.active_profile().max_model_len
                if model.get("max_model_len") != expected:
                    raise ModelServerUnavailable(
                        f"{url} serves {self.model_name} with max_model_len "
                        f"{model.get('max_model_len')}, but profile {self.settings.profile!r} "
                        f"expects {expected}: align the profile's max_model_len with the "
                        "server's --max-model-len")
                return dict(model)
        served = [m.get("id") for m in data.get("data", [])]
        raise ModelServerUnavailable(
            f"{url} serves {served}, not {self.model_name!r}: set PLANTOPS_SERVING__PROFILE "
            "to the profile that server runs, or start the server with this profile")
