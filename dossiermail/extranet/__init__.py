"""The read-only extranet server: signed access links, a session cookie, and the published site tree.

``dossiermail access grant`` stores a grant and prints its link; ``dossiermail serve`` answers
``/acces/<token>`` with a session cookie and then serves only that grant's building and audience
folder of what ``dossiermail publish`` wrote. Everything a grant may not see answers the same 404.
"""
