"""flask results: an award's ranking as a table, JSON or CSV, or the published one verified."""

import json

import click

from judging.cli.refusals import award_or_fail, or_fail
from judging.models import Award
from judging.scoring import ranking
from judging.services import publication, results


@click.command("results")
@click.argument("slug")
@click.option(
    "--format",
    "fmt",
    type=click.Choice(["table", "json", "csv"]),
    default="table",
    show_default=True,
)
@click.option(
    "--method",
    type=click.Choice(ranking.METHODS),
    default=None,
    help="How to aggregate (default: the award's own method).",
)
@click.option(
    "--verify",
    is_flag=True,
    help="Recompute the published results from the stored scores and compare the digests.",
)
def results_command(slug: str, fmt: str, method: str | None, verify: bool) -> None:
    """Print the award's ranking with its statistics and flags (or --verify the published).

    With a vote the ranking is the final one, jury and vote combined as published, and each
    nominee also shows its jury-only rank and score."""
    found = award_or_fail(slug)
    if verify:
        _verify(found)
        return
    document = results.ranking_document(found, method)
    if fmt == "json":
        click.echo(json.dumps(document, indent=2, ensure_ascii=False))
    elif fmt == "csv":
        click.echo(results.as_csv(document), nl=False)
    else:
        click.echo(results.as_table(document), nl=False)


def _verify(found: Award) -> None:
    with or_fail():
        check = publication.verify(found)
    click.echo(f"published:  sha256:{check.stored}")
    click.echo(f"sealed:     sha256:{check.sealed}" if check.sealed else "sealed:     none found")
    click.echo(f"recomputed: sha256:{check.recomputed}")
    for note in check.notes:
        click.echo(f"  {note}")
    if not check.ok:
        for line in check.differences:
            click.echo(f"  - {line}", err=True)
        raise click.ClickException(
            "the published results do NOT match the stored scores and the audit chain"
        )
    click.echo("OK: the published results match the stored scores and the audit chain")
