"""An export hands the memory it used back to the operating system when its response closes."""

from __future__ import annotations

from clinic import memory


def test_the_stream_gives_memory_back_once_it_is_closed(monkeypatch):
    calls = []
    monkeypatch.setattr(memory, "give_back", lambda: calls.append(1))
    lines = memory.then_give_back(iter(["a\n", "b\n", "c\n"]))
    assert next(lines) == "a\n" and calls == []
    lines.close()  # the client went away half-way: still given back
    assert calls == [1]
    assert list(memory.then_give_back(["x"])) == ["x"] and calls == [1, 1]


def test_give_back_runs_where_there_is_glibc():
    memory.give_back()  # no error here, and a no-op where malloc_trim does not exist


def test_the_registry_export_gives_memory_back(client, login, db, monkeypatch):
    from clinic.auth.models import Role

    calls = []
    monkeypatch.setattr(memory, "give_back", lambda: calls.append(1))
    login(Role.PROVIDER)
    response = client.get("/registry/export.csv")
    assert response.status_code == 200 and "," in response.get_data(as_text=True)
    response.close()
    assert calls == [1]
