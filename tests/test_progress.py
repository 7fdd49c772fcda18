"""The progress helper: drawn on a terminal, silent in pipes and captures."""

from __future__ import annotations

import io

from rich.console import Console

from radiome._progress import progress


def test_progress_is_silent_when_the_console_is_not_a_terminal():
    sink = io.StringIO()
    with progress("filtering", 3, console=Console(file=sink)) as advance:
        advance()
        advance(2, total=3, description="writing", status="2 failed")
    assert sink.getvalue() == ""


def test_progress_is_silent_on_stderr_under_capture(capsys):
    with progress("reading the store") as advance:
        advance(0, total=10, description="ICC per feature")
        advance()
    assert capsys.readouterr() == ("", "")


def test_progress_draws_description_count_and_status_on_a_terminal():
    sink = io.StringIO()
    console = Console(file=sink, force_terminal=True, no_color=True, width=100)
    with progress("filtering", 3, console=console) as advance:
        advance(status="1 failed")
        advance(description="writing r.nii.gz")
    drawn = sink.getvalue()
    assert "filtering" in drawn  # the first frame
    assert "0/3" in drawn
    assert "writing r.nii.gz" in drawn  # the last frame, drawn when the block ends
    assert "2/3 1 failed" in drawn
