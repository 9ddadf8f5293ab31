"""``streamlab compare``: buffered against streamed, raw text against SSE against JSON lines.

Calls the same functions in both invoke modes, measures what a client sees (first byte,
first token, gaps, total time, bytes on the wire) and writes a reproducible report.
"""
