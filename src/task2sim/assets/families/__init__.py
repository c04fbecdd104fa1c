"""Procedural object families, one module per kind (bodies, attachments, structures, nature,
creatures, machines, trinkets) on the shared helpers of `base`; `registry` joins them into the
table the shape generator draws from.
"""
