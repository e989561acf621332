"""Public numbers: one prefix per kind, typed with or without it, refused with the kind found."""

from __future__ import annotations

import pytest

from bot.numbers import NOTICE, SCHEDULE, BadNumber, Kind


def test_a_number_is_read_with_or_without_its_prefix() -> None:
    for typed in ("S2", "s2", "2", "#2", "#S2", " S2 ", "Ｓ２"):
        assert SCHEDULE.digits(typed) == 2, typed
    assert NOTICE.format(12) == "N12" and SCHEDULE.example() == "S2"


def test_a_number_of_another_kind_names_that_kind() -> None:
    with pytest.raises(BadNumber) as error:
        NOTICE.digits("S2")
    assert error.value.found is SCHEDULE


@pytest.mark.parametrize(
    "typed", ["abc", "", "#", "S", "2x", "S-2", "1" * 13, "X2", "2\x00", "\ud800", "٣"]
)
def test_what_is_no_number_is_refused(typed: str) -> None:
    with pytest.raises(BadNumber) as error:
        NOTICE.digits(typed)
    assert error.value.found is None


def test_two_kinds_cannot_share_a_prefix() -> None:
    with pytest.raises(ValueError, match="taken"):
        Kind("s", "another schedule")
