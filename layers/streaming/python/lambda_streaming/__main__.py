"""``python -m lambda_streaming`` starts the runtime as ``stream-bootstrap`` does (which
imports ``runtime.bootstrap`` itself, sparing every cold start this module)."""

from lambda_streaming.runtime.bootstrap import main

main(shape="lambda_streaming.http.buffered:buffered_result")  # BUFFERED results: the fronts'
