"""The three functions' shared content: messages, wire formats, the pipeline and its sources.

Application code built on the public API; the runtime never imports it.
"""
