"""Where log records go: the telemetry fd's frames, or plain lines on stdout.

Lambda gives the runtime ``_LAMBDA_TELEMETRY_LOG_FD``; a record written there as one frame is one
CloudWatch event, multi-line stack traces included. Loaded with the first record (``logs``).
"""

from __future__ import annotations

import os
import sys
import time

TYPE_CHECKING = False  # typing costs milliseconds of cold start; annotations are strings anyway
if TYPE_CHECKING:
    from typing import BinaryIO

# Frame types per level (awslambdaric lambda_runtime_log_utils); index = level // 10.
TEXT_FRAMES = tuple(
    t.to_bytes(4, "big")
    for t in (0xA55A0003, 0xA55A000B, 0xA55A000F, 0xA55A0013, 0xA55A0017, 0xA55A001B)
)
JSON_FRAMES = tuple(
    t.to_bytes(4, "big")
    for t in (0xA55A0002, 0xA55A000A, 0xA55A000E, 0xA55A0012, 0xA55A0016, 0xA55A001A)
)
JSON_DATE_FORMAT = "%Y-%m-%dT%H:%M:%SZ"


def level_index(levelno: int) -> int:
    return min(50, max(0, levelno)) // 10


class StdoutSink:
    """Outside Lambda (or without a telemetry fd): plain lines on stdout."""

    def log(self, message: str, frame_type: bytes | None = None) -> None:
        sys.stdout.write(message)

    def log_error(self, lines: list[str], frame_type: bytes) -> None:
        # CR keeps a multi-line error as one CloudWatch event when stdout is split on LF.
        sys.stdout.write("\r".join(lines) + "\n")


class FramedSink:
    """The telemetry fd: 4-byte type, 4-byte length, 8-byte µs timestamp, message (big-endian)."""

    def __init__(self, fd: int) -> None:
        self._file: BinaryIO = os.fdopen(fd, "wb", 0)

    def log(self, message: str, frame_type: bytes | None = None) -> None:
        data = message.encode("utf-8")
        header = (frame_type or TEXT_FRAMES[0]) + len(data).to_bytes(4, "big")
        self._file.write(header + (time.time_ns() // 1000).to_bytes(8, "big") + data)

    def log_error(self, lines: list[str], frame_type: bytes) -> None:
        self.log("\n".join(lines), frame_type)

    def close(self) -> None:
        self._file.close()
