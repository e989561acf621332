"""Every bank format with a good and a broken file; the normaliser; stable keys."""

from __future__ import annotations

from pathlib import Path

from openpyxl import Workbook

from store.banks import load, normalize, parse_file, question_key

BANKS = Path(__file__).parent / "banks"


def test_normalize_folds_case_width_spaces_and_punctuation() -> None:
    assert normalize("Ｄｅｗｅｙ  Decimal!") == normalize("dewey-decimal") == "deweydecimal"
    assert normalize("《目录》。") == "目录"
    assert question_key("b", "What?  IS it") == question_key("b", "what is it")


def test_yaml_questions_levels_and_lessons() -> None:
    bank = load(BANKS / "library.yaml")
    assert bank.errors == [] and bank.name == "library-basics"
    kinds = {q.key: (q.kind, q.answers) for q in bank.questions}
    assert kinds == {
        "cat-1": ("single", [0]),
        "cat-2": (
            "fill",
            [
                "Catalogue",
                "Catalog",
                "Online Public Access Catalogue",
                "Online Public Access Catalog",
            ],
        ),
        "rules-1": ("truefalse", [1]),
        "rules-2": ("multiple", [0, 2]),
    }
    assert bank.questions[0].feedback[1].startswith("Colour")
    assert [(lv.number, lv.pass_mark) for lv in bank.levels] == [(1, 50), (2, 100)]
    assert bank.lessons[0].key == "opac" and bank.lessons[0].questions == 2


def test_yaml_errors_carry_lines(tmp_path: Path) -> None:
    path = tmp_path / "bad.yaml"
    path.write_text(
        "questions:\n  - text: ok\n    options: [a, b]\n    answer: A\n"
        "  - text: no answer\n    options: [a, b]\n"
        "levels:\n  - number: 2\n    title: T\n    category: c\n"
    )
    errors = [str(e) for e in load(path).errors]
    assert "bad.yaml:5: the answer is missing" in errors
    assert any("numbered 1, 2, 3" in e for e in errors)
    path.write_text("questions: [\n")
    assert "not valid YAML" in str(load(path).errors[0])


def test_aiken_good_and_broken() -> None:
    good = load(BANKS / "good.txt")
    assert good.errors == []
    first = good.questions[0]
    assert (first.options, first.answers) == (["Berlin", "Paris", "Rome"], [1])
    broken = [str(e) for e in load(BANKS / "broken.txt").errors]
    assert broken == [
        "broken.txt:1: answer 'D' must be option letters among A–B",
        "broken.txt:6: question has no ANSWER line",
    ]


def test_gift_kinds_feedback_and_category() -> None:
    bank = load(BANKS / "good.gift")
    assert bank.errors == []
    by_key = {q.key: q for q in bank.questions}
    dewey = by_key["dewey"]
    assert (dewey.kind, dewey.answers, dewey.category) == ("single", [0], "catalogue")
    assert dewey.feedback[1] == "Only for picture books." and dewey.explanation.startswith("Dewey")
    assert (by_key["late"].kind, by_key["late"].answers) == ("truefalse", [0])
    assert (by_key["opac"].kind, by_key["opac"].answers) == ("fill", ["Catalogue", "Catalog"])
    assert (by_key["both"].kind, by_key["both"].answers) == ("multiple", [0, 1])


def test_gift_broken() -> None:
    bank = load(BANKS / "broken.gift")
    assert [q.key for q in bank.questions] == ["ok"]
    assert [str(e) for e in bank.errors] == [
        "broken.gift:3: numeric and matching questions are not supported",
        "broken.gift:5: no answer block {…}",
    ]


def test_csv_good_and_broken() -> None:
    good = load(BANKS / "good.csv")
    assert good.errors == []
    assert [(q.key, q.kind) for q in good.questions] == [
        ("q1", "single"),
        ("q2", "fill"),
        ("q3", "truefalse"),
    ]
    broken = [str(e) for e in load(BANKS / "broken.csv").errors]
    assert broken == [
        "broken.csv:2: the answer is missing",
        "broken.csv:4: answer 'E' must be option letters among A–B",
    ]


def test_xlsx_good_and_broken(tmp_path: Path) -> None:
    book = Workbook()
    sheet = book.active
    assert sheet is not None
    sheet.append(["question", "A", "B", "C", "answer", "category", "difficulty"])
    sheet.append(["Which floor has maps?", "1", "2", "3", "C", "places", 2])
    sheet.append(["Same twice", "x", "y", None, "A", "", None])
    sheet.append(["Same  twice!", "x", "y", None, "B", "", None])
    sheet.append(["Too hard", "x", "y", None, "A", "", 9])
    path = tmp_path / "bank.xlsx"
    book.save(path)
    bank = load(path)
    assert [q.text for q in bank.questions] == ["Which floor has maps?", "Same twice"]
    assert [str(e) for e in bank.errors] == [
        "bank.xlsx:5: difficulty 9 must be from 1 to 5",
        "bank.xlsx:4: same question (or id) as line 3",
    ]
    (tmp_path / "junk.xlsx").write_bytes(b"not a zip")
    assert "not a readable .xlsx" in str(load(tmp_path / "junk.xlsx").errors[0])


def test_unknown_format(tmp_path: Path) -> None:
    (tmp_path / "q.doc").write_text("x")
    assert "unknown format" in str(load(tmp_path / "q.doc").errors[0])


def test_gbk_csv_is_read_as_gb18030() -> None:
    text = "id,question,A,B,C,D,answer\nq1,图书馆几点开门？,八点,九点,,,B\n"
    bank = parse_file("题库.csv", text.encode("gbk"))
    assert bank.errors == []
    assert [(q.text, q.options) for q in bank.questions] == [("图书馆几点开门？", ["八点", "九点"])]


def test_gift_true_false_keeps_both_feedbacks() -> None:
    bank = parse_file("tf.gift", b"::tf:: Books can be renewed online.{T#No, they can.#Yes!}\n")
    assert bank.errors == []
    assert bank.questions[0].feedback == ["Yes!", "No, they can."]
