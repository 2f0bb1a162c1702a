"""What each CLI subcommand does, kept apart from argument parsing in ``dossiermail.cli``."""
