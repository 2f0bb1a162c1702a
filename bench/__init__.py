"""Benchmarks of dossiermail: routing accuracy on public corpora, multi-building safety, routing cost."""
