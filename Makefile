# dossiermail — the two commands of the README are `make demo` and `make test`.
# `make check` runs what CI runs (lint + types + tests) without reinstalling anything.

PYTHON ?= python3
VENV   := .venv
BIN    := $(VENV)/bin
STAMP  := $(VENV)/.installed-$(shell cat pyproject.toml | cksum | cut -d' ' -f1)
SITE   := site

.PHONY: demo test check lint types pytest install clean services bench

$(BIN)/python:
	$(PYTHON) -m venv $(VENV)

$(STAMP): pyproject.toml | $(BIN)/python
	$(BIN)/python -m pip install --quiet --upgrade pip
	$(BIN)/python -m pip install --quiet -e '.[test]'
	rm -f $(VENV)/.installed-*
	touch $(STAMP)

install: $(STAMP)

demo: install
	$(BIN)/dossiermail rules check rules
	$(BIN)/dossiermail import samples --rules rules
	$(BIN)/dossiermail publish --out $(SITE)
	@echo
	@echo "Extranet écrit dans ./$(SITE)/ — ouvrez par exemple :"
	@for f in $(SITE)/*/coproprietaires/index.html $(SITE)/*/syndic/index.html; do echo "  file://$$(pwd)/$$f"; done
	@echo "Pour le servir (lien d'accès signé, puis serveur sur http://127.0.0.1:8080/) :"
	@echo "  $(BIN)/dossiermail access grant les-mimosas --audience coproprietaires"
	@echo "  $(BIN)/dossiermail serve --site $(SITE)"
	@echo "Pour voir pourquoi un message est allé où il est allé :"
	@echo "  $(BIN)/dossiermail explain samples/<fichier>.eml"

lint: install
	$(BIN)/ruff check .
	$(BIN)/ruff format --check .

types: install
	$(BIN)/mypy

pytest: install
	$(BIN)/pytest -q

# Debian packages the tests start themselves: a throwaway Dovecot for the IMAP tests, and Chromium
# for the extranet's browser tests (Playwright drives /usr/bin/chromium; it never downloads a browser).
services:
	command -v dovecot >/dev/null || (apt-get update && DEBIAN_FRONTEND=noninteractive apt-get install -y dovecot-imapd)
	command -v chromium >/dev/null || (apt-get update && DEBIAN_FRONTEND=noninteractive apt-get install -y chromium)

test: services lint types pytest

check: test

# routing accuracy on ../shared/corpora, multi-building scenario, cost (rewrites docs/accuracy.md);
# then each performance bench rewrites its own section of docs/performance.md: pipeline throughput
# against bare mailparser (fetches SpamAssassin once), import memory on a generated 500 MB mbox (written
# once under var/bench/), SMTP acceptance on PostgreSQL against a bare aiosmtpd server, worker scaling
# (PostgreSQL + Redis, 1 vs 2 processes), incremental publish of a 10,000-message building
bench: install
	$(BIN)/python -m bench.routing_accuracy
	$(BIN)/python -m bench.pipeline_throughput --write-docs
	$(BIN)/python -m bench.archive_memory --write-docs
	$(BIN)/python -m bench.smtp_acceptance --write-docs
	$(BIN)/python -m bench.worker_scaling --write-docs
	$(BIN)/python -m bench.incremental_publish --write-docs

clean:
	rm -rf $(SITE) var .mypy_cache .pytest_cache .ruff_cache
