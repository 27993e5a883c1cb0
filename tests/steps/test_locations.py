"""Files for people at a location every worker can write (tasks/files.py): a local path, a
file:// URL or any fsspec URL. The remote case runs against fsspec's in-memory filesystem
(a real fsspec backend; object stores behave alike for what is checked here)."""

from __future__ import annotations

import fsspec
import pytest

from tasks.export import stream_to_csv, stream_to_parquet
from tasks.files import atomic_path, is_url, join, local_path, shown


@pytest.fixture
def memory():
    fs = fsspec.filesystem("memory")
    if fs.exists("/leads"):
        fs.rm("/leads", recursive=True)
    yield fs
    if fs.exists("/leads"):
        fs.rm("/leads", recursive=True)


def test_a_remote_file_appears_whole_under_its_name(memory, frames_rows):
    url = "memory://leads/exports/run.parquet"
    summary = stream_to_parquet([frames_rows(3), frames_rows(2, start=3)], url)
    assert summary.rows_out == 5 and summary.path == url
    assert memory.ls("/leads/exports", detail=False) == ["/leads/exports/run.parquet"]
    assert memory.size("/leads/exports/run.parquet") == summary.bytes > 0


def test_a_failed_write_leaves_nothing_remote(memory, frames_rows):
    def pages():
        yield frames_rows(2)
        raise RuntimeError("RingCX went away")

    with pytest.raises(RuntimeError, match="went away"):
        stream_to_csv(pages(), "memory://leads/exports/broken.csv")
    assert not memory.exists("/leads/exports/broken.csv")
    leftovers = memory.ls("/leads/exports", detail=False) if memory.exists("/leads/exports") else []
    assert leftovers == []  # no partial object either


def test_file_urls_are_local_paths_with_the_local_guarantees(tmp_path, frames_rows):
    url = f"file://{tmp_path}/out/x.csv"
    assert not is_url(url) and local_path(url) == tmp_path / "out" / "x.csv"
    stream_to_csv([frames_rows(1)], url)
    assert (tmp_path / "out" / "x.csv").read_text().count("\n") == 2
    assert [p.name for p in (tmp_path / "out").iterdir()] == ["x.csv"]


def test_locations_join_and_hide_credentials(tmp_path):
    assert join("s3://bucket/leads/", "a.parquet") == "s3://bucket/leads/a.parquet"
    assert join(str(tmp_path), "a.parquet") == str(tmp_path / "a.parquet")
    assert shown("s3://key:secret@bucket/x") == "s3://***@bucket/x"
    assert shown("sftp://ops:hunter2@host:22/x") == "sftp://***@host:22/x"
    assert shown("az://c/x.csv?sig=abc&se=2027") == "az://c/x.csv?***"
    assert shown("/plain/path") == "/plain/path" and shown("s3://bucket/x") == "s3://bucket/x"


def test_create_once_files_stay_local():
    with (
        pytest.raises(ValueError, match="kept on a local path"),
        atomic_path("memory://x", once=True),
    ):
        pass


def test_a_location_this_worker_cannot_write_is_refused_up_front(monkeypatch):
    from pydantic import ValidationError

    from tasks.files import check_location
    from tasks.runtime import Places

    with pytest.raises(ValueError, match=r"nosuch:// URLs .*Protocol not known"):
        check_location("nosuch://bucket/x.parquet")
    check_location("memory://fine/x.parquet")
    check_location("/a/local/path")
    monkeypatch.setenv("LEADS_EXPORTS_DIR", "nosuch://key:secret@bucket/exports")
    with pytest.raises(ValidationError, match="nosuch://\\*\\*\\*@bucket") as refused:
        Places()
    assert "secret" not in str(refused.value)


def test_budgets_and_tokens_are_shared_through_postgresql_only():
    from pydantic import ValidationError

    from tasks.runtime import Places

    for url in ("sqlite:///budgets.db", "mysql://u:p@h/db", "budgets.db"):
        with pytest.raises(ValidationError, match="must be a PostgreSQL URL") as refused:
            Places(budget_url=url)
        assert ":p@" not in str(refused.value)
    assert Places(budget_url="postgresql+psycopg://u@h/db").budget_url
