"""``python -m lambda_streaming`` (and ``stream-bootstrap``) start the runtime loop."""

from lambda_streaming.runtime.bootstrap import main

main()
