"""docs/rulebook.md is generated from the rulebook (`manage.py rulebook --write`): the committed
file must be what the code generates, so the documentation cannot disagree with the code."""

import pytest
from django.core.management import call_command
from django.core.management.base import CommandError

from production.lifecycle import RULES, STEP_LABELS
from production.management.commands.rulebook import render_rulebook, rulebook_path


def test_the_committed_rulebook_is_what_the_code_generates():
    committed = rulebook_path().read_text(encoding="utf-8")
    assert committed == render_rulebook(), (
        "docs/rulebook.md is out of date: run `python manage.py rulebook --write` and commit it."
    )


def test_the_rulebook_names_every_move_and_step_with_its_words():
    text = render_rulebook()
    for moves in RULES.values():
        for move in moves:
            assert f"| {move.label} |" in text
            assert f"| {move.message} |" in text
    for label in STEP_LABELS.values():
        assert f"| {label} |" in text
    assert "“Release the hold first: the order is on hold.”" in text
    assert "“priority cannot change once the order is canceled”" in text


def test_the_check_fails_on_a_stale_file_and_write_fixes_it(settings, tmp_path, capsys):
    settings.BASE_DIR = tmp_path
    (tmp_path / "docs").mkdir()
    (tmp_path / "docs" / "rulebook.md").write_text("# An old rulebook\n", encoding="utf-8")
    with pytest.raises(CommandError, match="out of date"):
        call_command("rulebook", "--check")
    call_command("rulebook", "--write")
    call_command("rulebook", "--check")
    assert (tmp_path / "docs" / "rulebook.md").read_text(encoding="utf-8") == render_rulebook()
    capsys.readouterr()
    call_command("rulebook")
    assert capsys.readouterr().out == render_rulebook()
