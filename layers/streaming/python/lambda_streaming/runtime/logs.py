"""Logging as the managed Python runtime does it, so CloudWatch sees the same records.

Replacing the stock client means redoing its logging: the telemetry file descriptor with framed
records (one CloudWatch event per record, multi-line stack traces included),
``AWS_LAMBDA_LOG_FORMAT`` (Text/JSON), ``AWS_LAMBDA_LOG_LEVEL``, and the request id on every
line. Loggers that bring their own handlers (Powertools Logger) are left alone, as the stock
client leaves them.
"""

from __future__ import annotations

import json
import logging
import os
import sys
import time
import traceback

TYPE_CHECKING = False  # typing costs milliseconds of cold start; annotations are strings anyway
if TYPE_CHECKING:
    from typing import Any, BinaryIO

    from lambda_streaming.runtime.errors import ErrorDocument

# Frame types per level (awslambdaric lambda_runtime_log_utils); index = level // 10.
_TEXT_FRAMES = tuple(
    t.to_bytes(4, "big")
    for t in (0xA55A0003, 0xA55A000B, 0xA55A000F, 0xA55A0013, 0xA55A0017, 0xA55A001B)
)
_JSON_FRAMES = tuple(
    t.to_bytes(4, "big")
    for t in (0xA55A0002, 0xA55A000A, 0xA55A000E, 0xA55A0012, 0xA55A0016, 0xA55A001A)
)
_JSON_DATE_FORMAT = "%Y-%m-%dT%H:%M:%SZ"
_TEXT_FORMAT = "[%(levelname)s]\t%(asctime)s.%(msecs)03dZ\t%(aws_request_id)s\t%(message)s\n"
_NBSP = "\u00a0"  # the stock client indents stack traces with it, so CloudWatch keeps the spaces

# The invocation being served, stamped on every record by RequestIdFilter.
request_id = ""
tenant_id: str | None = None


def _level_index(levelno: int) -> int:
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
        header = (frame_type or _TEXT_FRAMES[0]) + len(data).to_bytes(4, "big")
        self._file.write(header + (time.time_ns() // 1000).to_bytes(8, "big") + data)

    def log_error(self, lines: list[str], frame_type: bytes) -> None:
        self.log("\n".join(lines), frame_type)


class RequestIdFilter(logging.Filter):
    def filter(self, record: logging.LogRecord) -> bool:
        record.aws_request_id = request_id
        record.tenant_id = tenant_id
        return True


class SinkHandler(logging.Handler):
    """Root handler; ``log_sink`` is the attribute name ``context.log`` and others look for."""

    def __init__(self, log_sink: StdoutSink | FramedSink, per_level_frames: bool) -> None:
        super().__init__()
        self.log_sink = log_sink
        self._per_level_frames = per_level_frames

    def emit(self, record: logging.LogRecord) -> None:
        try:
            message = self.format(record)
            frame_type = getattr(record, "_frame_type", None)
            if frame_type is None and self._per_level_frames:
                frame_type = _TEXT_FRAMES[_level_index(record.levelno)]
            self.log_sink.log(message, frame_type)
        except Exception:
            self.handleError(record)


class JsonFormatter(logging.Formatter):
    """The stock JSON record: timestamp, level, message, logger, requestId, error fields, extras."""

    _RESERVED = frozenset(logging.LogRecord("", 0, "", 0, "", (), None).__dict__) | {
        "aws_request_id",
        "tenant_id",
        "_frame_type",
        "message",
        "asctime",
    }

    def __init__(self) -> None:
        super().__init__(datefmt=_JSON_DATE_FORMAT)

    def format(self, record: logging.LogRecord) -> str:
        record.levelno = _level_index(record.levelno) * 10
        record.levelname = logging.getLevelName(record.levelno)
        record._frame_type = _JSON_FRAMES[record.levelno // 10]
        exc_info = record.exc_info
        message = (
            record.msg if isinstance(record.msg, dict) and not record.args else record.getMessage()
        )
        result: dict[str, Any] = {
            "timestamp": self.formatTime(record, self.datefmt),
            "level": record.levelname,
            "message": message,
            "logger": record.name,
            "stackTrace": traceback.format_tb(exc_info[2]) if exc_info else None,
            "errorType": exc_info[0].__name__ if exc_info and exc_info[0] else None,
            "errorMessage": str(exc_info[1]) if exc_info else None,
            "requestId": getattr(record, "aws_request_id", None),
            "location": (
                f"{record.pathname}:{record.funcName}:{record.lineno}" if exc_info else None
            ),
        }
        if getattr(record, "tenant_id", None) is not None:
            result["tenantId"] = record.tenant_id
        for key, value in record.__dict__.items():
            if key not in self._RESERVED and key not in result:
                result[key] = value
        return (
            json.dumps(
                {k: v for k, v in result.items() if v is not None}, ensure_ascii=False, default=str
            )
            + "\n"
        )


class Logs:
    """The log sink and format chosen from the environment at start-up."""

    def __init__(self, environ: os._Environ[str] | dict[str, str]) -> None:
        self.json = (environ.get("AWS_LAMBDA_LOG_FORMAT") or "").upper() == "JSON"
        level = environ.get("AWS_LAMBDA_LOG_LEVEL")
        self.level = {None: "", "TRACE": "DEBUG"}.get(level, level or "").upper()
        fd = environ.pop("_LAMBDA_TELEMETRY_LOG_FD", None)  # children must not inherit it
        self.sink: StdoutSink | FramedSink = FramedSink(int(fd)) if fd else StdoutSink()

    def install(self) -> None:
        """Attach the stock-style handler to the root logger."""
        logging.Formatter.converter = time.gmtime
        handler = SinkHandler(self.sink, per_level_frames=self.json or bool(self.level))
        if self.json:
            handler.setFormatter(JsonFormatter())
        else:
            handler.setFormatter(logging.Formatter(_TEXT_FORMAT, "%Y-%m-%dT%H:%M:%S"))
        handler.addFilter(RequestIdFilter())
        root = logging.getLogger()
        if self.level in logging.getLevelNamesMapping():
            root.setLevel(self.level)
        root.addHandler(handler)

    def log_error(self, error: ErrorDocument) -> None:
        """Log an uncaught error the way the stock client does."""
        if self.json:
            record = {
                "timestamp": time.strftime(_JSON_DATE_FORMAT, time.gmtime()),
                "level": "ERROR",
                **error,
            }
            self.sink.log_error([json.dumps(record, ensure_ascii=False)], _JSON_FRAMES[4])
            return
        description = "[ERROR]"
        if error.get("errorType"):
            description += " " + error["errorType"]
        if error.get("errorMessage"):
            description += (":" if error.get("errorType") else "") + " " + error["errorMessage"]
        lines = [description, "Traceback (most recent call last):"]
        for element in error.get("stackTrace") or []:
            if element == "":
                lines.append("")
            for line in element.splitlines():
                stripped = line.lstrip(" ")
                lines.append(_NBSP * (len(line) - len(stripped)) + stripped)
        self.sink.log_error(lines, _TEXT_FRAMES[4])
