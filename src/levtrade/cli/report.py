"""``levtrade report RESULTS_DIR``: regenerate the HTML report from a saved results directory.

The directory is what ``levtrade backtest`` exports (``summary.json``, ``trades``, ``series``,
``prices``, the margin analyzers' tables in ``analyzers/``, ...;
:mod:`levtrade.report.files`), so the regenerated page has the same Margin table and
margin-call markers. The report goes to ``RESULTS_DIR/report.html`` unless ``--output`` names
another file. Errors are one line on stderr and exit code 1.
"""

from __future__ import annotations

import json
from pathlib import Path
from typing import Annotated

import typer

from levtrade.cli.failure import fail
from levtrade.errors import LevtradeError
from levtrade.report.files import check_output_file, load_results
from levtrade.report.html import write_report

ResultsArgument = Annotated[
    Path, typer.Argument(help="Results directory written by levtrade backtest.", show_default=False)
]
OutputOption = Annotated[
    Path | None,
    typer.Option("--output", "-o", help="Report file (default: RESULTS_DIR/report.html)."),
]
JsonFlag = Annotated[bool, typer.Option("--json", help='Print {"report": path} as JSON.')]
ForceFlag = Annotated[
    bool,
    typer.Option(
        "--force", help="Overwrite --output even when it is not an earlier levtrade report."
    ),
]


def report(
    results: ResultsArgument,
    output: OutputOption = None,
    force: ForceFlag = False,
    as_json: JsonFlag = False,
) -> None:
    """Regenerate the HTML report (Plotly charts, one self-contained file) from saved results."""
    target = output.expanduser() if output is not None else results / "report.html"
    try:
        bundle = load_results(results)
        check_output_file(target, "output", force=force)
        write_report(bundle, target)
    except LevtradeError as exc:
        fail(exc)
    except OSError as exc:
        fail(f"cannot write {target}: {exc.strerror or exc}")
    except (KeyError, TypeError, ValueError, IndexError, AttributeError) as exc:
        # a results directory changed by hand in a way the checks above do not catch
        fail(
            f"results: {results} does not hold what levtrade writes and cannot be rendered "
            f"({type(exc).__name__}: {exc}); write it again with levtrade backtest"
        )
    if as_json:
        typer.echo(json.dumps({"report": str(target)}))
    else:
        typer.echo(f"Report: {target}")
