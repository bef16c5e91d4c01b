"""flask commands: seed, users, award, votes, results, audit, remind, purge, demo, backup,
restore, mail. Each calls the same services as the pages.

A module per area: `accounts` (users), `awards` (seed, award, remind, demo), `votes`,
`results`, `data` (audit, purge, backup, restore), `mail` (the outbox's sender); `refusals`
holds what they share.
"""

from flask import Flask

from judging.cli import accounts, awards, data, mail, results, votes


def register(app: Flask) -> None:
    app.cli.add_command(data.backup_command)
    app.cli.add_command(data.restore_command)
    app.cli.add_command(awards.seed_command)
    app.cli.add_command(accounts.users)
    app.cli.add_command(awards.award)
    app.cli.add_command(votes.votes)
    app.cli.add_command(results.results_command)
    app.cli.add_command(awards.demo_command)
    app.cli.add_command(data.audit)
    app.cli.add_command(awards.remind_command)
    app.cli.add_command(data.purge_command)
    app.cli.add_command(mail.mail)
