"""The three functions' shared code: a prompt in, a stream of tokens out, in three formats.

Request parsing (``prompt``), the event model (``messages``), the wire formats (``formats``),
the pipeline with heartbeats and a clean end before the deadline (``pipeline``) and the token
sources (``sources``: built-in or Bedrock). Application code, deployed as the app's own layer
(``AppLayer`` in template.yaml); it builds on ``lambda_streaming``'s public API, and the
streaming runtime layer knows nothing of it.
"""
