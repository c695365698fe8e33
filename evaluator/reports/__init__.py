"""Renderers for one graded answer and for a graded transcript. They format; they never compute scores."""
