"""Twenty operators ask at once through the real app and the real vLLM CPU server.

Bounded: 20 questions, answers capped by the signed-in UI's max_answer_tokens. The
figures are printed (run with -s); the assertions are about behaviour: no errors,
and the requests overlapped instead of queueing behind each other.
"""

from benchmarks.load import run_load
from tests.e2e.conftest import PASSWORDS

USERS = 20


def test_twenty_users_at_once_get_answers_without_errors_and_overlap(
        signed_in_ui: str) -> None:
    result = run_load(signed_in_ui, USERS, auth=("op", PASSWORDS["op"]))
    print("\nload:", result.summary())
    assert result.errors == []
    assert result.unwritten == 0, result.summary()  # the model answered everyone
    assert len(result.requests) == USERS
    assert result.max_in_flight == USERS, result.summary()
    assert result.max_streaming >= 4, result.summary()  # answers were written side by side
    assert len(result.ttft_s) == USERS  # every user saw answer text stream in
