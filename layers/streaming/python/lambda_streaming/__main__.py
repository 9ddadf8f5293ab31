"""``python -m lambda_streaming`` starts the runtime loop (``stream-bootstrap`` calls
``bootstrap.main`` itself, which spares every cold start this module)."""

from lambda_streaming.runtime.bootstrap import main

main()
