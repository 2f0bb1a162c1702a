"""The ``dossiermail`` command line: every user action is a subcommand.

Expected mistakes (missing path, bad rules, unreachable database, wrong arguments) end with one line
on stderr, ``dossiermail: error: …``, and a non-zero exit code, never a traceback.
"""

from __future__ import annotations

import os
import sys
from pathlib import Path
from typing import Annotated, NoReturn

import typer

from dossiermail import __version__
from dossiermail.commands.common import CliError, err, out

app = typer.Typer(
    name="dossiermail",
    help="Turns a syndic's mail into dossier timelines for the co-owners' extranet.",
    no_args_is_help=True,
    add_completion=False,
    pretty_exceptions_enable=False,
)
rules_app = typer.Typer(help="Check the YAML rules under rules/.", no_args_is_help=True)
export_app = typer.Typer(help="Export stored data for scripts.", no_args_is_help=True)
quarantine_app = typer.Typer(help="Messages kept but not processed, with why.", no_args_is_help=True)
app.add_typer(rules_app, name="rules")
app.add_typer(export_app, name="export")
app.add_typer(quarantine_app, name="quarantine")
review_app = typer.Typer(help="The review queue: messages routing was unsure about.", no_args_is_help=True)
dossier_app = typer.Typer(help="Dossiers corrected by hand, every change logged.", no_args_is_help=True)
app.add_typer(review_app, name="review")
app.add_typer(dossier_app, name="dossier")
access_app = typer.Typer(help="Signed links to the extranet: grant, revoke, list.", no_args_is_help=True)
app.add_typer(access_app, name="access")

DbOption = Annotated[
    str | None,
    typer.Option("--db", help="Database URL (default: $DOSSIERMAIL_DB or sqlite:///var/dossiermail.db)."),
]
RulesOption = Annotated[Path | None, typer.Option("--rules", help="Rules directory (default: ./rules).")]
QuietOption = Annotated[bool, typer.Option("--quiet", "-q", help="No progress bar.")]
JsonOption = Annotated[bool, typer.Option("--json", help="Machine-readable JSON output.")]


def _version(value: bool) -> None:
    if value:
        out.print(f"dossiermail {__version__}")
        raise typer.Exit()


@app.callback()
def _root(
    version: Annotated[
        bool, typer.Option("--version", callback=_version, is_eager=True, help="Show the version.")
    ] = False,
) -> None:
    """Turns a syndic's mail into dossier timelines for the co-owners' extranet."""


@app.command("import")
def import_(  # noqa: PLR0913, PLR0917 - one parameter per CLI argument or option
    paths: Annotated[list[Path], typer.Argument(help=".eml files, folders, mbox files, Maildirs.")],
    rules: RulesOption = None,
    building: Annotated[
        str | None, typer.Option("--building", help="Import the archive as this building's.")
    ] = None,
    auto_dossiers: Annotated[
        bool,
        typer.Option("--auto-dossiers", help="Open a dossier 'à qualifier' for unmatched conversations."),
    ] = False,
    db: DbOption = None,
    quiet: QuietOption = False,
    as_json: JsonOption = False,
    jobs: Annotated[
        int | None,
        typer.Option(
            "--jobs",
            "-j",
            help="Processes: 1 parses here; N parses on N-1 workers meanwhile "
            "(default: CPUs, at most 2; $DOSSIERMAIL_IMPORT_JOBS).",
        ),
    ] = None,
) -> None:
    """Import mail archives, route every message, and print a summary."""
    from dossiermail.commands.importing import import_command

    import_command(paths, rules, building, auto_dossiers, db, quiet=quiet, as_json=as_json, jobs=jobs)


@rules_app.command("check")
def rules_check(
    directory: Annotated[Path, typer.Argument(help="Rules directory.")] = Path("rules"),
) -> None:
    """Validate the rules; print each problem as file:line: message."""
    from dossiermail.rules import check_rules

    problems = check_rules(directory)
    for problem in problems:
        err.print(str(problem), markup=False)
    if problems:
        raise typer.Exit(1)
    out.print(f"{directory}: OK", markup=False)


@app.command()
def explain(
    message: Annotated[
        str, typer.Argument(help="A message file (.eml), or a stored message key (or 8+ hex prefix).")
    ],
    rules: RulesOption = None,
    db: DbOption = None,
    as_json: JsonOption = False,
) -> None:
    """Show where a message goes and every piece of evidence; a file is routed now, stores nothing."""
    from dossiermail.commands.explaining import explain_command

    explain_command(message, rules, db, as_json=as_json)


@export_app.command("messages")
def export_messages(
    format_: Annotated[str, typer.Option("--format", help="Output format: jsonl.")] = "jsonl",
    db: DbOption = None,
) -> None:
    """Print one JSON object per stored message: id, source, building, dossier, outcome, date."""
    from dossiermail.commands.exporting import export_messages_command

    if format_ != "jsonl":
        raise CliError(f"unknown export format {format_!r} (supported: jsonl)")
    export_messages_command(db)


@app.command()
def publish(
    out_dir: Annotated[Path, typer.Option("--out", help="Folder to write the extranet to.")],
    building: Annotated[
        list[str] | None, typer.Option("--building", help="Only this building (repeatable).")
    ] = None,
    audience: Annotated[
        list[str] | None,
        typer.Option(
            "--audience",
            help="Only this audience: syndic, conseil_syndical, coproprietaires or lot:<n> (repeatable).",
        ),
    ] = None,
    rules: RulesOption = None,
    db: DbOption = None,
) -> None:
    """Write the static extranet: per building and audience, redacted pages; only changes are rewritten."""
    from dossiermail.commands.publishing import publish_command

    publish_command(out_dir, building or None, audience or None, rules, db)


@quarantine_app.command("list")
def quarantine_list(db: DbOption = None, as_json: JsonOption = False) -> None:
    """List quarantined messages with their source and reason."""
    from dossiermail.commands.exporting import quarantine_list_command

    quarantine_list_command(db, as_json=as_json)


@app.command("poll-imap")
def poll_imap(
    config: Annotated[Path, typer.Option("--config", help="YAML file listing the mailboxes to poll.")],
    once: Annotated[bool, typer.Option("--once", help="Poll every folder once and exit (cron).")] = False,
    rules: RulesOption = None,
    db: DbOption = None,
) -> None:
    """Import new mail from IMAP folders: IDLE/poll until SIGTERM, or once with --once."""
    from dossiermail.commands.imap import poll_imap_command

    poll_imap_command(config, rules, db, once=once)


@app.command("serve-smtp")
def serve_smtp(
    host: Annotated[str, typer.Option("--host", help="Address to listen on.")] = "127.0.0.1",
    port: Annotated[int, typer.Option("--port", help="TCP port (0: any free port).")] = 2525,
    rules: RulesOption = None,
    db: DbOption = None,
    max_size: Annotated[
        int, typer.Option("--max-size", help="Largest message accepted, in bytes (else 552).")
    ] = 25 * 1024 * 1024,
    tls_cert: Annotated[Path | None, typer.Option("--tls-cert", help="PEM certificate for STARTTLS.")] = None,
    tls_key: Annotated[Path | None, typer.Option("--tls-key", help="PEM key for STARTTLS.")] = None,
) -> None:
    """Receive mail for the building and dossier addresses; stop cleanly on SIGTERM."""
    from dossiermail.commands.smtp import ServeArgs, serve_smtp_command

    serve_smtp_command(ServeArgs(host, port, rules, db, max_size, tls_cert, tls_key))


ByOption = Annotated[str | None, typer.Option("--by", help="Who makes the correction (default: $USER).")]
ReasonOption = Annotated[str | None, typer.Option("--reason", help="Why, kept in the history.")]
ForceOption = Annotated[bool, typer.Option("--force", help="Allow filing into another building.")]
MessageArg = Annotated[str, typer.Argument(help="Message key or unique key prefix (8+ hex characters).")]
DossierArg = Annotated[str, typer.Argument(help="Dossier REFERENCE, or BUILDING/REFERENCE.")]
BuildingFilter = Annotated[str | None, typer.Option("--building", help="Only this building.")]


@review_app.command("list")
def review_list(
    building: BuildingFilter = None,
    db: DbOption = None,
    as_json: JsonOption = False,
) -> None:
    """List the messages waiting for review, oldest first."""
    from dossiermail.commands.review import review_list_command

    review_list_command(building, db, as_json=as_json)


@review_app.command("assign")
def review_assign(
    message: MessageArg,
    dossier: DossierArg,
    by: ByOption = None,
    reason: ReasonOption = None,
    force: ForceOption = False,
    rules: RulesOption = None,
    db: DbOption = None,
) -> None:
    """File a message from review into a dossier; replies waiting for it follow."""
    from dossiermail.commands.review import file_command, who

    file_command(message, dossier, who(by, reason), db, rules, force=force)


@dossier_app.command("open")
def dossier_open(  # noqa: PLR0913, PLR0917 - one parameter per CLI argument or option
    building: Annotated[str, typer.Argument(help="Building slug.")],
    reference: Annotated[str, typer.Argument(help="New reference, e.g. DDE-2026-015.")],
    title: Annotated[str, typer.Argument(help="Dossier title.")],
    category: Annotated[str | None, typer.Option("--category", help="Dossier category.")] = None,
    lot: Annotated[
        list[int] | None, typer.Option("--lot", help="Lot the dossier concerns on the extranet (repeatable).")
    ] = None,
    by: ByOption = None,
    reason: ReasonOption = None,
    rules: RulesOption = None,
    db: DbOption = None,
) -> None:
    """Open a dossier; messages in review carrying its reference are re-routed."""
    from dossiermail.commands.dossier import open_command
    from dossiermail.commands.review import who

    open_command(building, reference, title, category, who(by, reason), db, rules, lot or ())


@dossier_app.command("lots")
def dossier_lots(
    dossier: DossierArg,
    lots: Annotated[list[int] | None, typer.Argument(help="Lot numbers (replace the current ones).")] = None,
    clear: Annotated[bool, typer.Option("--clear", help="Remove the lots set by hand.")] = False,
    by: ByOption = None,
    reason: ReasonOption = None,
    db: DbOption = None,
) -> None:
    """Show or set the lots a dossier concerns (a lot's owner sees only the dossiers of their lot)."""
    from dossiermail.commands.dossier import lots_command
    from dossiermail.commands.review import who

    lots_command(dossier, lots or [], who(by, reason), db, clear=clear)


@dossier_app.command("merge")
def dossier_merge(
    source: Annotated[str, typer.Argument(help="Dossier to merge (becomes 'fusionne').")],
    target: Annotated[str, typer.Argument(help="Dossier that receives its messages.")],
    by: ByOption = None,
    reason: ReasonOption = None,
    db: DbOption = None,
) -> None:
    """Move every message of dossier A into dossier B of the same building."""
    from dossiermail.commands.dossier import merge_command
    from dossiermail.commands.review import who

    merge_command(source, target, who(by, reason), db)


@dossier_app.command("move")
def dossier_move(
    message: MessageArg,
    dossier: DossierArg,
    by: ByOption = None,
    reason: ReasonOption = None,
    force: ForceOption = False,
    rules: RulesOption = None,
    db: DbOption = None,
) -> None:
    """Move an assigned message into another dossier."""
    from dossiermail.commands.review import file_command, who

    file_command(message, dossier, who(by, reason), db, rules, force=force, moving=True)


@dossier_app.command("close")
def dossier_close(
    dossier: DossierArg,
    by: ByOption = None,
    reason: ReasonOption = None,
    db: DbOption = None,
) -> None:
    """Close a dossier (its messages stay in it)."""
    from dossiermail.commands.dossier import close_command
    from dossiermail.commands.review import who

    close_command(dossier, who(by, reason), db)


@dossier_app.command("list")
def dossier_list(
    building: BuildingFilter = None,
    db: DbOption = None,
    as_json: JsonOption = False,
) -> None:
    """List dossiers with their status and number of messages."""
    from dossiermail.commands.dossier import list_command

    list_command(building, db, as_json=as_json)


@dossier_app.command("history")
def dossier_history(dossier: DossierArg, db: DbOption = None, as_json: JsonOption = False) -> None:
    """Show every correction of a dossier and its messages: who, when, why."""
    from dossiermail.commands.dossier import history_command

    history_command(dossier, db, as_json=as_json)


SecretFileOption = Annotated[
    Path | None,
    typer.Option("--secret-file", help="Secret file if $DOSSIERMAIL_SECRET is unset (default var/secret)."),
]


@access_app.command("grant")
def access_grant(
    building: Annotated[str, typer.Argument(help="Building slug.")],
    audience: Annotated[
        str, typer.Option("--audience", help="syndic, conseil_syndical, coproprietaires or lot:<n>.")
    ],
    expires: Annotated[str, typer.Option("--expires", help="Lifetime: 12h, 90d, 2w.")] = "90d",
    label: Annotated[str, typer.Option("--label", help="Who the link is for, shown by 'list'.")] = "",
    base_url: Annotated[
        str | None, typer.Option("--base-url", help="Public address of the server ($DOSSIERMAIL_BASE_URL).")
    ] = None,
    secret_file: SecretFileOption = None,
    db: DbOption = None,
) -> None:
    """Print a signed link opening one building's extranet for one audience."""
    from dossiermail.commands.access import GrantArgs, grant_command

    grant_command(GrantArgs(building, audience, expires, label, base_url, secret_file, db))


@access_app.command("revoke")
def access_revoke(
    grant_id: Annotated[int, typer.Argument(metavar="ID", help="Grant number (see 'access list').")],
    db: DbOption = None,
) -> None:
    """Revoke a link: it and the sessions opened with it stop working at once."""
    from dossiermail.commands.access import revoke_command

    revoke_command(grant_id, db)


@access_app.command("list")
def access_list(building: BuildingFilter = None, db: DbOption = None, as_json: JsonOption = False) -> None:
    """List the links given, with their audience, expiry and state."""
    from dossiermail.commands.access import list_command

    list_command(building, db, as_json=as_json)


@app.command()
def serve(
    host: Annotated[str, typer.Option("--host", help="Address to listen on.")] = "127.0.0.1",
    port: Annotated[int, typer.Option("--port", help="TCP port.")] = 8080,
    site: Annotated[
        Path | None,
        typer.Option("--site", help="Folder 'publish --out' wrote (default: $DOSSIERMAIL_SITE or site)."),
    ] = None,
    secret_file: SecretFileOption = None,
    secure_cookies: Annotated[
        bool, typer.Option("--secure-cookies", help="Always mark the session cookie Secure (TLS in front).")
    ] = False,
    trusted_proxy: Annotated[
        list[str] | None,
        typer.Option("--trusted-proxy", help="Proxy IP whose X-Forwarded-Proto/For to honour (repeatable)."),
    ] = None,
    db: DbOption = None,
) -> None:
    """Serve the published extranet read-only to holders of an access link."""
    from dossiermail.commands.serve import ServeArgs, serve_command
    from dossiermail.jobs.settings import site_dir

    proxies = tuple(trusted_proxy or ())
    serve_command(ServeArgs(host, port, site_dir(site), db, secret_file, secure_cookies, proxies))


jobs_app = typer.Typer(help="Pipeline steps run by the workers: dead letters, replay.", no_args_is_help=True)
app.add_typer(jobs_app, name="jobs")
SiteOption = Annotated[
    Path | None,
    typer.Option("--site", help="Extranet folder to republish (default: $DOSSIERMAIL_SITE or site)."),
]


@app.command()
def worker(
    processes: Annotated[int, typer.Option("--processes", help="Worker processes.")] = 1,
    threads: Annotated[int, typer.Option("--threads", help="Threads per process.")] = 4,
    site: SiteOption = None,
    sweeper: Annotated[bool, typer.Option("--sweeper/--no-sweeper", help="Run the sweeper too.")] = True,
    rules: RulesOption = None,
    db: DbOption = None,
) -> None:
    """Run the parse → route → publish workers on $DOSSIERMAIL_BROKER until SIGTERM."""
    from dossiermail.commands.worker import worker_command

    worker_command(processes, threads, site, rules, db, sweeper=sweeper)


@jobs_app.command("failed")
def jobs_failed(db: DbOption = None, as_json: JsonOption = False) -> None:
    """List the dead-lettered steps with their last error."""
    from dossiermail.commands.jobs import failed_command

    failed_command(db, as_json=as_json)


@jobs_app.command("retry")
def jobs_retry(
    step_id: Annotated[int | None, typer.Argument(help="Step id (see 'jobs failed').")] = None,
    every: Annotated[bool, typer.Option("--all", help="Every dead-lettered step.")] = False,
    db: DbOption = None,
) -> None:
    """Put a dead-lettered step (or --all) back in the queue with fresh attempts."""
    from dossiermail.commands.jobs import retry_command

    retry_command(step_id, db, every=every)


@jobs_app.command("sweep")
def jobs_sweep(db: DbOption = None, as_json: JsonOption = False) -> None:
    """Re-send steps a dead worker or a lost broker message left behind (for cron)."""
    from dossiermail.commands.jobs import sweep_command

    sweep_command(db, as_json=as_json)


@app.command()
def status(
    max_age: Annotated[
        float, typer.Option("--max-age", help="Alert when something waits longer than this (seconds).")
    ] = 900.0,
    db: DbOption = None,
    as_json: JsonOption = False,
) -> None:
    """Queue depths, oldest pending step, quarantine and review counts; exit 1 when stuck."""
    from dossiermail.commands.status import status_command

    status_command(db, max_age=max_age, as_json=as_json)


def _fail(message: str, code: int = 1) -> NoReturn:
    err.print(f"dossiermail: error: {message}", markup=False)
    sys.exit(code)


def main(argv: list[str] | None = None) -> None:
    """Console-script entry point: run the app, turning expected errors into one line."""
    from typer.exceptions import TyperException
    from typer.main import get_command

    command = get_command(app)
    try:
        result = command.main(args=argv, prog_name="dossiermail", standalone_mode=False)
    except CliError as exc:
        _fail(str(exc))
    except TyperException as exc:
        ctx = getattr(exc, "ctx", None)
        where = ctx.command_path if ctx is not None else "dossiermail"
        _fail(f"{exc.format_message()} (see '{where} --help')", exc.exit_code)
    except typer.Abort:
        _fail("aborted", 130)
    except KeyboardInterrupt:
        _fail("interrupted", 130)
    except Exception as exc:
        if os.environ.get("DOSSIERMAIL_DEBUG"):
            raise
        first = (str(exc).strip().splitlines() or [""])[0]
        _fail(f"internal error: {type(exc).__name__}: {first} (DOSSIERMAIL_DEBUG=1 shows the traceback)")
    sys.exit(result if isinstance(result, int) else 0)


__all__ = ["app", "main"]
