"""``branchbot bank import``: validates first, imports nothing on errors unless --skip-bad."""

from __future__ import annotations

from pathlib import Path

import pytest

from bot.cli import main
from tests.support.learning import count

BANKS = Path(__file__).parent / "banks"


def cli_database(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> str:
    url = f"sqlite:///{tmp_path}/cli.db"
    monkeypatch.setenv("BRANCHBOT_DATABASE_URL", url)
    monkeypatch.setenv("BRANCHBOT_DEFAULT_LOCALE", "en")
    return url


def test_bank_import(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    url = cli_database(tmp_path, monkeypatch)
    assert main(["bank", "import", str(BANKS / "broken.gift")]) == 1
    err = capsys.readouterr().err
    assert "broken.gift:3: numeric and matching" in err and "nothing imported" in err
    assert count(url) == 0
    assert main(["bank", "import", str(BANKS / "broken.gift"), "--skip-bad"]) == 0
    assert "1 question added, 0 updated, 0 levels, 0 lessons" in capsys.readouterr().out
    assert main(["bank", "import", str(BANKS / "good.gift"), "--bank", "g"]) == 0
    assert main(["bank", "import", str(BANKS / "good.gift"), "--bank", "g"]) == 0
    assert "0 questions added, 4 updated" in capsys.readouterr().out
    assert count(url) == 5
    assert main(["bank", "import", str(tmp_path / "missing.csv")]) == 2


@pytest.mark.parametrize(
    ("name", "data"),
    [
        ("broken.yaml", b"questions: [a, b"),
        ("report.pdf", b"%PDF-1.7\n%\xe2\xe3\xcf\xd3\n"),
        ("report.csv", b"%PDF-1.7\n%\xe2\xe3\xcf\xd3\n"),
    ],
)
def test_skip_bad_with_nothing_readable_fails(
    name: str,
    data: bytes,
    tmp_path: Path,
    monkeypatch: pytest.MonkeyPatch,
    capsys: pytest.CaptureFixture[str],
) -> None:
    url = cli_database(tmp_path, monkeypatch)
    (tmp_path / name).write_bytes(data)
    for extra in ([], ["--skip-bad"]):
        assert main(["bank", "import", str(tmp_path / name), *extra]) == 1
        out, err = capsys.readouterr()
        assert f"{name}:" in err and "Traceback" not in err
        assert f"nothing could be read from {name}; nothing imported" in err, err
        assert "--skip-bad imports the rest" not in err and "added" not in out
    assert count(url) == 0


def test_an_empty_bank_fails(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    cli_database(tmp_path, monkeypatch)
    (tmp_path / "empty.yaml").write_text("questions: []\n")
    assert main(["bank", "import", str(tmp_path / "empty.yaml"), "--skip-bad"]) == 1
    assert "empty.yaml has no questions, levels or lessons" in capsys.readouterr().err


def test_counts_use_plural_forms(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    cli_database(tmp_path, monkeypatch)
    one = tmp_path / "one.yaml"
    one.write_text(
        "levels:\n  - {number: 1, title: Start, category: c}\n"
        "lessons:\n  - {id: l1, title: L, text: T, category: c}\n"
        "questions:\n  - {id: a, text: One, answer: true, category: c}\n"
        "  - {id: b, text: Two, answer: true, category: c}\n"
    )
    assert main(["bank", "import", str(one)]) == 0
    out = capsys.readouterr().out
    assert "bank default: 2 questions added, 0 updated, 1 level, 1 lesson" in out, out
    one.write_text("questions:\n  - {id: a, text: One, answer: true}\n  - {text: ''}\n")
    assert main(["bank", "import", str(one)]) == 1
    err = capsys.readouterr().err
    assert "one.yaml:3: text is missing" in err
    assert "1 error, nothing imported (--skip-bad imports the rest)" in err, err
    assert main(["bank", "import", str(one), "--skip-bad"]) == 0
    out = capsys.readouterr().out
    assert "0 questions added, 1 updated, 0 levels, 0 lessons" in out, out
    assert "1 question of this bank is not in the file (kept)" in out, out


def test_the_cli_speaks_one_language_whatever_the_chat_locale(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    """The parsers' lines are English, so the CLI's own lines are too, with default_locale zh."""
    cli_database(tmp_path, monkeypatch)
    monkeypatch.setenv("BRANCHBOT_DEFAULT_LOCALE", "zh")
    (tmp_path / "flat.yaml").write_text("questions: []\n")
    bad = "questions:\n  - {text: ''}\n  - {text: Ok?, answer: true}\n"
    (tmp_path / "bad.yaml").write_text(bad)
    (tmp_path / "good.yaml").write_text("questions:\n  - {text: Ok?, answer: true}\n")
    assert main(["bank", "import", str(tmp_path / "flat.yaml")]) == 1
    assert main(["bank", "import", str(tmp_path / "bad.yaml")]) == 1
    assert main(["bank", "import", str(tmp_path / "good.yaml")]) == 0
    assert main(["bank", "import", str(tmp_path / "missing.yaml")]) == 2
    out, err = capsys.readouterr()
    assert "flat.yaml has no questions, levels or lessons; nothing imported" in err, err
    assert "bad.yaml:2: text is missing" in err and "1 error, nothing imported" in err, err
    assert "bank default: 1 question added" in out, out
    assert not [char for char in out + err if "\u3000" <= char <= "\u9fff" or char >= "\uff00"]
