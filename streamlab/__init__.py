"""Dev-time tools for lambda_streaming: a local Function URL emulator, clients, benchmarks.

Never deployed. It runs the layer only as a process through ``stream-bootstrap``, as Lambda does.
"""

__version__ = "0.1.0"
