"""dossiermail: a syndic's mail, filed into dossier timelines for the co-owners' extranet."""

__version__ = "0.1.0"
