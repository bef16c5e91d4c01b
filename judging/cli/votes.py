"""flask votes: the vote's rules, opening and closing it, and printed access codes."""

import click
from flask.cli import AppGroup

from judging.cli.refusals import award_or_fail, or_fail, run_transition
from judging.extensions import db
from judging.services import voting

votes = AppGroup("votes", help="The vote: open and close it, and print access codes.")


@votes.command("open")
@click.argument("slug")
def votes_open_command(slug: str) -> None:
    """Open the vote (after scoring has closed)."""
    run_transition(slug, "open_voting")


@votes.command("close")
@click.argument("slug")
def votes_close_command(slug: str) -> None:
    """Close the vote: no more ballots are accepted."""
    run_transition(slug, "close_voting")


def _top_n(value: str) -> int | None:
    """'all' -> None, 'top:N' -> N."""
    if value == "all":
        return None
    kind, _, n = value.partition(":")
    if kind != "top" or not n.isdigit() or int(n) < 1:
        raise click.BadParameter(
            "give 'all' or 'top:N' with N a whole number from 1, e.g. top:5",
            param_hint="'--shortlist'",
        )
    return int(n)


@votes.command("rules")
@click.argument("slug")
@click.option(
    "--vote-weight",
    type=click.IntRange(0, 100),
    required=True,
    help="The vote's weight in percent (the jury's is the rest of 100).",
)
@click.option(
    "--shortlist",
    default=None,
    help="all (every nominee in the running) or top:N (the jury's top N). Default: unchanged.",
)
@click.option(
    "--online/--no-online",
    default=None,
    help="Also an online public vote by verified email address. Default: unchanged.",
)
def votes_rules_command(slug: str, vote_weight: int, shortlist: str | None, online) -> None:
    """Declare the vote's rules, before voting opens (refused from then on)."""
    top_n = None if shortlist is None else _top_n(shortlist)
    found = award_or_fail(slug)
    with or_fail():
        changed = voting.set_rules(
            found,
            vote_top_n=found.vote_top_n if shortlist is None else top_n,
            vote_weight=vote_weight,
            online_vote=found.online_vote if online is None else online,
            actor=None,
        )
    db.session.commit()
    top = (
        f"the jury's top {found.vote_top_n}" if found.vote_top_n else "all nominees in the running"
    )
    click.echo(
        f"{found.slug}: {'saved' if changed else 'nothing changed'}: jury {found.jury_weight} %, "
        f"vote {found.vote_weight} %; on the ballot: {top} ({len(voting.shortlist(found))}); "
        f"online vote {'on' if found.online_vote else 'off'}"
    )


@votes.command("codes")
@click.argument("slug")
@click.option("--count", type=int, required=True, help="How many one-time access codes.")
def votes_codes_command(slug: str, count: int) -> None:
    """Print COUNT new one-time access codes, one per line (only their hashes are kept)."""
    found = award_or_fail(slug)
    with or_fail():
        codes = voting.generate_codes(found, count, actor=None)
    db.session.commit()
    for code in codes:
        click.echo(code)
