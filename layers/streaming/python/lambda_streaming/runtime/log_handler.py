"""The ``logging`` side of the stock client's logging: root handler, request id, JSON records.

Imported only once the function imports ``logging`` (see ``logs.install``): the module and what
it pulls in (``traceback``, ``string``, ``threading``...) cost milliseconds of every cold start,
and a handler that never logs through it should not pay for them.
"""

from __future__ import annotations

import json
import logging
import time
import traceback

from lambda_streaming.runtime.log_sinks import (
    JSON_DATE_FORMAT,
    JSON_FRAMES,
    TEXT_FRAMES,
    StdoutSink,
    level_index,
)

TYPE_CHECKING = False  # typing costs milliseconds of cold start; annotations are strings anyway
if TYPE_CHECKING:
    from typing import Any

    from lambda_streaming.runtime.interfaces import LogConfig
    from lambda_streaming.runtime.log_sinks import FramedSink

_TEXT_FORMAT = "[%(levelname)s]\t%(asctime)s.%(msecs)03dZ\t%(aws_request_id)s\t%(message)s\n"


class RequestIdFilter(logging.Filter):
    """Stamps each record with the invocation ``config`` says is being served."""

    def __init__(self, config: LogConfig) -> None:
        super().__init__()
        self._config = config

    def filter(self, record: logging.LogRecord) -> bool:
        record.aws_request_id = self._config.request_id
        record.tenant_id = self._config.tenant_id
        return True


class SinkHandler(logging.Handler):
    """Root handler; ``log_sink`` is the attribute name ``context.log`` and others look for."""

    def __init__(self, log_sink: StdoutSink | FramedSink, per_level_frames: bool) -> None:
        super().__init__()
        self.log_sink = log_sink
        self._per_level_frames = per_level_frames
        # Plain lines (no telemetry fd: locally, or a Managed Instances worker's log socket):
        # a record ends its line. The text format ends the message with "\n", but logging
        # adds a traceback after it, which would leave the next record on the same line.
        self._lines = isinstance(log_sink, StdoutSink)

    def emit(self, record: logging.LogRecord) -> None:
        try:
            message = self.format(record)
            if self._lines and not message.endswith("\n"):
                message += "\n"
            frame_type = getattr(record, "_frame_type", None)
            if frame_type is None and self._per_level_frames:
                frame_type = TEXT_FRAMES[level_index(record.levelno)]
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
        super().__init__(datefmt=JSON_DATE_FORMAT)

    def format(self, record: logging.LogRecord) -> str:
        record.levelno = level_index(record.levelno) * 10
        record.levelname = logging.getLevelName(record.levelno)
        record._frame_type = JSON_FRAMES[record.levelno // 10]
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
        tenant_id = getattr(record, "tenant_id", None)
        if tenant_id is not None:
            result["tenantId"] = tenant_id
        for key, value in record.__dict__.items():
            if key not in self._RESERVED and key not in result:
                result[key] = value
        return (
            json.dumps(
                {k: v for k, v in result.items() if v is not None}, ensure_ascii=False, default=str
            )
            + "\n"
        )


def install(config: LogConfig) -> None:
    """Attach the stock-style handler to the root logger."""
    logging.Formatter.converter = time.gmtime
    handler = SinkHandler(config.sink, per_level_frames=config.json or bool(config.level))
    if config.json:
        handler.setFormatter(JsonFormatter())
    else:
        handler.setFormatter(logging.Formatter(_TEXT_FORMAT, "%Y-%m-%dT%H:%M:%S"))
    handler.addFilter(RequestIdFilter(config))
    root = logging.getLogger()
    for installed in [h for h in root.handlers if isinstance(h, SinkHandler)]:
        root.removeHandler(installed)  # installed again (a forked worker): one handler, not two
    if config.level in logging.getLevelNamesMapping():
        root.setLevel(config.level)
    root.addHandler(handler)
