"""Week labels in files and forms: ASCII or full-width digits only."""
from __future__ import annotations

from datetime import date

import pytest

from cogrow.core.weeks import parse_iso_label


def test_ascii_and_full_width_week_labels_name_the_same_monday():
    assert parse_iso_label("2026-W53") == date(2026, 12, 28)
    assert parse_iso_label("２０２６-Ｗ５３") == date(2026, 12, 28)
    assert parse_iso_label(" 2027W1 ") == date(2027, 1, 4)


@pytest.mark.parametrize("label", ["2026-W١٢", "2026-W²", "٢٠٢٦-W12", "2026-W", "2026-W123", "26-W12"])
def test_other_scripts_digits_and_malformed_labels_are_not_weeks(label):
    with pytest.raises(ValueError):
        parse_iso_label(label)
