"""`plantops plan` arithmetic on hand-computed cases."""

import json
from pathlib import Path

import pytest

from app.commands.plan import parse_seconds
from app.ops.planning import Costs, Demand, LoadPoint, ServerProfile, load_measurement, plan

SERVER = ServerProfile("test", "hand-made", True, prompt_tokens=1000, answer_tokens=100,
                       points=(LoadPoint(1, 10.0, 0.5), LoadPoint(4, 32.0, 1.0)),
                       gpus_per_replica=1, price_per_replica=1000.0, power_w_per_replica=500.0)
COSTS = Costs(energy_per_kwh=0.2, utilisation=0.5, maintenance_per_year=0.1)


def test_the_curve_is_linear_between_points_and_saturated_beyond() -> None:
    assert SERVER.at(1) == (10.0, 0.5, False)
    total, ttft, extrapolated = SERVER.at(2)  # a third of the way from 1 to 4
    assert total == pytest.approx(10 + 22 / 3) and ttft == pytest.approx(0.5 + 0.5 / 3)
    assert not extrapolated
    assert SERVER.at(8) == (32.0, 2.0, True)  # no more tokens/s; the queue doubles TTFT


def test_fewest_replicas_that_meet_both_targets_and_their_cost() -> None:
    # 1 replica: 8 streams share 32 tokens/s = 4 each < 7; 2 replicas: 4 each way, 8 tokens/s
    # per user and TTFT 1.0 s: both met
    result = plan(SERVER, Demand(8, 1000, 100, ttft_p95_s=1.0, min_tokens_per_s=7), COSTS)
    assert (result.replicas, result.gpus) == (2, 2)
    assert result.tokens_per_s_per_user == pytest.approx(8.0)
    # hardware 2000; energy 2 x 0.5 kW x 8760 h x 0.5 = 4380 kWh x 0.2 = 876/year;
    # maintenance 200/year
    assert result.tco == {3: pytest.approx(2000 + 3 * 1076), 5: pytest.approx(2000 + 5 * 1076)}


def test_longer_prompts_lengthen_the_first_token_and_need_more_replicas() -> None:
    # 2000-token prompts double TTFT: 2 replicas give 2.0 s, 4 give 1.33 s, 8 give 1.0 s
    result = plan(SERVER, Demand(8, 2000, 100, 1.0, 7), COSTS)
    assert result.replicas == 8 and result.ttft_p95_s == pytest.approx(1.0)
    assert any("TTFT scaled" in n for n in result.notes)


def test_a_target_no_replica_count_reaches_is_said() -> None:
    result = plan(SERVER, Demand(8, 1000, 100, 1.0, min_tokens_per_s=50), COSTS, max_replicas=8)
    assert result.replicas is None and result.tco == {}
    assert "miss the targets" in result.notes[-1]


def test_a_measurement_file_becomes_a_profile(tmp_path: Path) -> None:
    out = tmp_path / "m.json"
    out.write_text(json.dumps({"model": "smollm2", "prompt_tokens": 1500, "answer_tokens": 64,
                               "hardware": {"gpus": 0, "cpu_model": "x"},
                               "points": [{"concurrency": 1, "tokens_per_s": 30.0,
                                           "ttft_p95_s": 0.8}]}))
    profile = load_measurement(out, price_per_replica=2500.0)
    assert profile.measured and profile.points == (LoadPoint(1, 30.0, 0.8),)
    assert profile.gpus_per_replica == 0 and profile.price_per_replica == 2500.0


def test_durations_are_read_as_people_write_them() -> None:
    assert parse_seconds("3s") == 3.0 and parse_seconds("1500ms") == 1.5
    assert parse_seconds("2") == 2.0


def test_the_chart_is_one_self_contained_page() -> None:
    from app.commands.plan import chart_html

    met = plan(SERVER, Demand(8, 1000, 100, 1.0, 7), COSTS)
    missed = plan(SERVER, Demand(8, 1000, 100, 1.0, 50), COSTS, max_replicas=2)
    page = chart_html([met, missed], Demand(8, 1000, 100, 1.0, 7))
    assert "test: 2 replica(s), 7,380" in page and "does not meet the targets" in page
    assert "<script" not in page and "http" not in page  # nothing to fetch, nothing to run


def test_the_plan_keeps_the_peak_with_one_replica_down() -> None:
    from app.ops.planning import REFERENCE_PROFILES, Costs, Demand, plan, ui_replicas

    assert ui_replicas(Demand(10, 256, 256, 3.0, 12.0, answers_per_ui=16)) == 2  # never one
    assert ui_replicas(Demand(40, 256, 256, 3.0, 12.0, answers_per_ui=16)) == 4  # 3 + 1
    one = plan(REFERENCE_PROFILES[0], Demand(4, 256, 256, 3.0, 12.0), Costs())
    assert (one.replicas, one.spare_replicas) == (1, 1)  # a lone replica needs a spare
