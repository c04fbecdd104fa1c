"""Rendering backends (embedded moderngl, TDW) and the writer of packed image sets."""
