"""The production stack: docker-compose.yml, .env.example and the Dockerfile, checked without Docker.

No Docker engine runs here, so the compose file is read as YAML and held to its promises: every
service has an image or a build, health checks where the stack waits on them, named volumes declared,
the database and broker unreachable from the host, every ``${VAR}`` defined in .env.example, and every
``dossiermail …`` command line (services and health checks) accepted by the real command-line parser;
and the services, started together on a fresh PostgreSQL database, migrate it once without failing.
"""

from __future__ import annotations

import multiprocessing
import re
import shlex
from concurrent.futures import ProcessPoolExecutor
from pathlib import Path
from typing import Any

import pytest
import yaml
from typer.main import get_command

from dossiermail.cli import app
from dossiermail.store import open_store
from tests.conftest import ROOT

COMPOSE = ROOT / "docker-compose.yml"
ENV_EXAMPLE = ROOT / ".env.example"
DOCKERFILE = ROOT / "Dockerfile"
APP_SERVICES = ("smtp", "imap", "worker", "web")
HEALTH_CHECKED = ("smtp", "worker", "web", "postgres", "redis")
_VARIABLE = re.compile(r"\$\{([A-Za-z_][A-Za-z0-9_]*)(?::?[-?][^}]*)?\}")


def compose() -> dict[str, Any]:
    """The compose file as data (YAML anchors and merge keys resolved)."""
    data = yaml.safe_load(COMPOSE.read_text())
    assert isinstance(data, dict)
    return data


def services() -> dict[str, dict[str, Any]]:
    """The services by name."""
    found = compose()["services"]
    assert isinstance(found, dict)
    return found


def env_example() -> dict[str, str]:
    """NAME=value lines of .env.example."""
    values = {}
    for line in ENV_EXAMPLE.read_text().splitlines():
        if line.strip() and not line.lstrip().startswith("#"):
            name, _, value = line.partition("=")
            values[name.strip()] = value.strip()
    return values


def interpolate(text: str) -> str:
    """``text`` with every ``${VAR}`` replaced by its .env.example value (as compose would)."""
    values = env_example()
    return _VARIABLE.sub(lambda match: values[match.group(1)], text)


def argv(command: list[str] | str) -> list[str]:
    """A compose command or health-check test as an argument list, variables filled in."""
    if isinstance(command, str):
        return [interpolate(part) for part in shlex.split(command)]
    parts = list(command)
    if parts and parts[0] in ("CMD", "CMD-SHELL"):
        parts = parts[1:] if parts[0] == "CMD" else shlex.split(parts[1])
    return [interpolate(str(part)) for part in parts]


def parse_with_cli(arguments: list[str]) -> Any:
    """Parse ``dossiermail <command> [options]`` with the real CLI (no command is run); the context.

    Unknown options and values of the wrong type raise the CLI's own usage errors.
    """
    assert arguments[0] == "dossiermail", arguments
    commands: dict[str, Any] = getattr(get_command(app), "commands", {})
    name, *rest = arguments[1:]
    if name not in commands:
        pytest.fail(f"'dossiermail {name}' is not a command of the CLI (has: {sorted(commands)})")
    return commands[name].make_context(name, rest)


def named_volumes(service: dict[str, Any]) -> set[str]:
    """Volumes of a service that are named volumes (not bind mounts of host paths)."""
    names = set()
    for volume in service.get("volumes", []):
        source = volume.split(":", 1)[0] if isinstance(volume, str) else volume.get("source", "")
        if source and not source.startswith((".", "/", "~")):
            names.add(source)
    return names


def test_every_service_has_an_image_or_a_build_and_the_expected_services_exist() -> None:
    found = services()
    assert set(found) >= {"postfix", *APP_SERVICES, "postgres", "redis"}
    for name, service in found.items():
        assert "image" in service or "build" in service, f"{name}: neither image nor build"


@pytest.mark.parametrize("name", APP_SERVICES)
def test_app_services_build_the_one_image_read_dot_env_and_wait_for_healthy_stores(name: str) -> None:
    service = services()[name]
    assert service["build"] == "." and (ROOT / "Dockerfile").is_file()
    assert service["env_file"] in (".env", [".env"])
    assert service["depends_on"] == {
        "postgres": {"condition": "service_healthy"},
        "redis": {"condition": "service_healthy"},
    }


@pytest.mark.parametrize("name", HEALTH_CHECKED)
def test_services_the_stack_waits_on_have_health_checks(name: str) -> None:
    check = services()[name]["healthcheck"]
    assert check["test"][0] in ("CMD", "CMD-SHELL") and len(check["test"]) > 1


def test_workers_report_health_with_status_and_the_web_with_its_health_page() -> None:
    found = services()
    assert argv(found["worker"]["healthcheck"]["test"])[:2] == ["dossiermail", "status"]
    assert "/sante" in " ".join(argv(found["web"]["healthcheck"]["test"]))


def test_named_volumes_are_declared_and_the_data_services_keep_theirs() -> None:
    declared = set(compose().get("volumes") or {})
    found = services()
    for name, service in found.items():
        assert named_volumes(service) <= declared, f"{name} uses an undeclared volume"
    assert any(v.endswith(":/var/lib/postgresql/data") for v in found["postgres"]["volumes"])
    assert any(v.endswith(":/data") for v in found["redis"]["volumes"])
    assert "--appendonly" in found["redis"]["command"]
    assert found["redis"]["command"][found["redis"]["command"].index("--appendonly") + 1] == "yes"


@pytest.mark.parametrize("name", ["postgres", "redis", "smtp", "worker", "imap"])
def test_stores_and_internal_services_publish_no_host_port(name: str) -> None:
    assert "ports" not in services()[name]


def test_every_variable_used_is_defined_in_env_example() -> None:
    used = set(_VARIABLE.findall(COMPOSE.read_text()))
    defined = env_example()
    assert used, "the compose file uses no variable at all"
    assert used <= set(defined), f"missing from .env.example: {sorted(used - set(defined))}"
    assert {"DOSSIERMAIL_DB", "DOSSIERMAIL_BROKER", "DOSSIERMAIL_SECRET", "DOSSIERMAIL_SITE"} <= set(defined)
    assert (
        defined["DOSSIERMAIL_DB"].startswith("postgresql+psycopg://")
        and "@postgres:" in defined["DOSSIERMAIL_DB"]
    )
    assert defined["DOSSIERMAIL_BROKER"].startswith("redis://redis:")
    assert int(interpolate(str(services()["worker"]["deploy"]["replicas"]))) >= 1


@pytest.mark.parametrize("name", APP_SERVICES)
def test_each_service_command_parses_against_the_real_cli(name: str) -> None:
    context = parse_with_cli(argv(services()[name]["command"]))
    assert context.command.name is not None


def test_each_dossiermail_health_check_parses_against_the_real_cli() -> None:
    checks = [
        argv(service["healthcheck"]["test"]) for service in services().values() if "healthcheck" in service
    ]
    ours = [check for check in checks if check[0] == "dossiermail"]
    assert ours, "no health check runs dossiermail"
    for check in ours:
        parse_with_cli(check)


def test_a_misspelled_option_is_caught_by_the_cli_check() -> None:
    with pytest.raises(Exception, match="No such option: --hots") as unknown:
        parse_with_cli(["dossiermail", "serve-smtp", "--hots", "0.0.0.0"])
    assert type(unknown.value).__name__ == "NoSuchOption"
    with pytest.raises(Exception, match="integer"):
        parse_with_cli(["dossiermail", "serve-smtp", "--port", "deux-mille"])
    with pytest.raises(pytest.fail.Exception, match="not a command"):
        parse_with_cli(["dossiermail", "serve-smpt"])


def test_postfix_relays_the_dossier_domain_to_the_smtp_service_port() -> None:
    found = services()
    postfix = {key: interpolate(str(value)) for key, value in found["postfix"]["environment"].items()}
    smtp = parse_with_cli(argv(found["smtp"]["command"])).params
    domain = env_example()["DOSSIER_DOMAIN"]
    assert postfix["POSTFIX_relay_domains"] == domain
    assert f"{domain}=smtp:[smtp]:{smtp['port']}" in postfix["POSTFIX_transport_maps"]
    assert smtp["host"] == "0.0.0.0"
    assert postfix["POSTFIX_mynetworks"] == "127.0.0.0/8"  # never an open relay
    assert int(postfix["POSTFIX_message_size_limit"]) == smtp["max_size"]
    assert found["postfix"]["depends_on"] == {"smtp": {"condition": "service_healthy"}}


def test_the_dockerfile_installs_the_package_on_python_3_11_slim_as_a_non_root_user() -> None:
    text = DOCKERFILE.read_text()
    assert re.search(r"^FROM python:3\.11-slim\b", text, re.MULTILINE)
    assert re.search(r"^RUN pip install \.", text, re.MULTILINE)
    users = re.findall(r"^USER (\S+)", text, re.MULTILINE)
    assert users and users[-1] not in ("root", "0")
    ignored = (ROOT / ".dockerignore").read_text().split()
    assert {".env", ".venv", "var"} <= set(ignored)


def test_worker_and_web_share_the_published_site() -> None:
    found = services()
    site = env_example()["DOSSIERMAIL_SITE"]
    assert any(v == f"site:{site}" for v in found["worker"]["volumes"])
    assert any(v == f"site:{site}" for v in found["web"]["volumes"])
    web = parse_with_cli(argv(found["web"]["command"])).params
    assert str(web["site"]) == site


def test_the_example_environment_is_not_a_secret(tmp_path: Path) -> None:
    values = env_example()
    assert "change-me" in values["DOSSIERMAIL_SECRET"] and "change-me" in values["POSTGRES_PASSWORD"]
    assert values["POSTGRES_PASSWORD"] in values["DOSSIERMAIL_DB"]


def _open_and_close(url: str) -> str:
    store = open_store(url)
    store.dispose()
    return "ok"


@pytest.mark.postgres
def test_services_starting_together_on_a_fresh_database_migrate_it_once(postgres_url: str) -> None:
    """``docker compose up`` starts smtp, imap, web and every worker at once: each migrates the store."""
    spawn = multiprocessing.get_context("spawn")
    with ProcessPoolExecutor(4, mp_context=spawn) as pool:
        assert list(pool.map(_open_and_close, [postgres_url] * 4)) == ["ok"] * 4
