"""Downstream tasks: the registry, their sources, one uniform on-disk format, and `prepare`."""
