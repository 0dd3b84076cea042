from pathlib import Path

import pytest

from app.settings import Settings


@pytest.fixture(autouse=True)
def _clean_env(monkeypatch: pytest.MonkeyPatch, tmp_path: Path) -> None:
    monkeypatch.chdir(tmp_path)  # no stray plantops.toml
    monkeypatch.delenv("PLANTOPS_CONFIG", raising=False)


def test_defaults_are_local_and_offline() -> None:
    s = Settings()
    assert s.ui.host == "127.0.0.1"
    assert all(url.startswith("http://127.0.0.1") for url in s.serving.base_urls)
    assert s.ingest.index.chroma_url is None
    # model folders are local paths (absolute, or under var/), never hub ids like org/name
    assert all(p.model_dir.is_absolute() or p.model_dir.parts[0] == "var"
               for p in s.serving.profiles.values())
    assert s.ui.concurrency > 1


def test_env_overrides_nested_values(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("PLANTOPS_DATA_DIR", "/srv/plantops")
    monkeypatch.setenv("PLANTOPS_SERVING__BASE_URLS", '["http://gpu1:8000/v1"]')
    monkeypatch.setenv("PLANTOPS_RETRIEVAL__TOP_K", "7")
    s = Settings()
    assert s.data_dir == Path("/srv/plantops")
    assert s.serving.base_urls == ["http://gpu1:8000/v1"]
    assert s.retrieval.top_k == 7


def test_toml_file_is_read_and_env_wins(monkeypatch: pytest.MonkeyPatch, tmp_path: Path) -> None:
    cfg = tmp_path / "site.toml"
    cfg.write_text('data_dir = "/data"\n[ui]\nport = 9000\n[retrieval]\ntop_k = 3\n')
    monkeypatch.setenv("PLANTOPS_CONFIG", str(cfg))
    monkeypatch.setenv("PLANTOPS_UI__PORT", "9100")
    s = Settings()
    assert (s.data_dir, s.ui.port, s.retrieval.top_k) == (Path("/data"), 9100, 3)


def test_unknown_setting_is_an_error(monkeypatch: pytest.MonkeyPatch, tmp_path: Path) -> None:
    cfg = tmp_path / "bad.toml"
    cfg.write_text("data_dri = '/x'\n")
    monkeypatch.setenv("PLANTOPS_CONFIG", str(cfg))
    with pytest.raises(ValueError, match="data_dri"):
        Settings()


def test_one_profile_field_can_be_overridden_alone(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("PLANTOPS_SERVING__PROFILES__CPU_SMALL__MODEL_DIR", "/srv/models/smol")
    monkeypatch.setenv("PLANTOPS_SERVING__PROFILE", "cpu_small")
    s = Settings()
    profile = s.serving.active_profile()
    assert str(profile.model_dir) == "/srv/models/smol"
    assert profile.served_model_name == "smollm2-135m-instruct"  # the rest stays
    assert set(s.serving.profiles) == {"cpu-small", "gpu-8b", "gpu-70b-tp4"}


def test_a_key_no_section_has_is_refused_by_its_full_name(monkeypatch: pytest.MonkeyPatch,
                                                          tmp_path: Path) -> None:
    """A setting removed in a release (ingest.ocr.columns) or mistyped (an env variable) was
    silently ignored below the top level: the admin believed it applied."""
    from pydantic import ValidationError

    from app.settings import describe_invalid

    cfg = tmp_path / "site.toml"
    cfg.write_text("[ingest.ocr]\ncolumns = false\n")
    monkeypatch.setenv("PLANTOPS_CONFIG", str(cfg))
    monkeypatch.setenv("PLANTOPS_RETRIEVAL__TOPK", "7")
    with pytest.raises(ValidationError) as caught:
        Settings()
    message = describe_invalid(caught.value)
    assert str(cfg) in message
    assert "ingest.ocr.columns: no such setting" in message
    assert "retrieval.topk: no such setting" in message
