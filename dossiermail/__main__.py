"""``python -m dossiermail``: the same as the ``dossiermail`` command."""

from dossiermail.cli import main

main()
