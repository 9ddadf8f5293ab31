"""The runtime's error and edge paths, through the real stream-bootstrap process and sockets.

Each test drives one case where the bytes on the wire used to be wrong: a write after the
stream broke, an error type a header cannot carry, a failure before the first byte really went,
values whose size or encoding was misjudged.
"""

from __future__ import annotations

import base64
import json
from array import array

import pytest

from tests.support.layer_process import LayerHarness
from tests.support.layer_runtime_api import chunk

HTTP_CT = "application/vnd.awslambda.http-integration-response"
NULS = b"\x00" * 8


def test_write_after_a_broken_stream_never_reconnects(layer: LayerHarness) -> None:
    layer.api.reset_response_for.add("r1")
    process = layer.start("edge_cases.write_after_break")
    layer.api.push({"break": True}, request_id="r1")
    layer.api.push({}, request_id="r2")
    # the next event is still served: the connection was not left desynchronised
    assert layer.api.result("r2").body == b"fine"
    assert layer.api.garbage == []  # no chunk bytes ever went out as a request of their own
    assert [r.kind for r in layer.api.received][:4] == ["next", "response", "next", "response"]
    out, _ = layer.stop(process)
    assert "first failure: StreamBrokenError" in out
    assert "second write: StreamStateError" in out


def test_non_latin1_error_type_goes_in_the_trailer_and_the_runtime_serves_on(
    layer: LayerHarness,
) -> None:
    process = layer.start("edge_cases.unicode_error")
    layer.api.push({}, request_id="r1")
    layer.api.push({"ok": True}, request_id="r2")
    got = layer.api.result("r1")
    assert got.body == b"partial"
    trailers = dict(got.trailers)
    assert trailers["Lambda-Runtime-Function-Error-Type"] == "??????"  # Latin-1, as _error_type
    body = json.loads(base64.b64decode(trailers["Lambda-Runtime-Function-Error-Body"]))
    assert body["errorType"] == "Ошибка"  # the body keeps the real name
    assert body["errorMessage"] == "не Latin-1"
    assert layer.api.result("r2").body == b"fine"
    assert process.poll() is None


def test_a_failing_error_report_is_logged_and_the_stream_is_cut(layer: LayerHarness) -> None:
    process = layer.start("edge_cases.abort_fails")
    layer.api.push({}, request_id="r1")
    layer.api.push({"ok": True}, request_id="r2")
    assert layer.api.result("r2").body == b"fine"
    first = layer.api.first_byte("r1")
    assert first.ended == 0.0  # r1's body never ended: its connection was closed instead
    assert first.connection != layer.api.result("r2").connection
    assert process.poll() is None
    out, _ = layer.stop(process)
    assert "the report failed too" in out  # logged, not lost


@pytest.mark.parametrize("writes", [True, False], ids=["first-write", "end-without-write"])
def test_stream_failing_before_its_first_byte_went_posts_error(
    layer: LayerHarness, writes: bool
) -> None:
    layer.api.reset_after_next_for.add("r1")
    process = layer.start("edge_cases.late_write")
    layer.api.push({"write": writes}, request_id="r1")
    got = layer.api.result("r1")
    assert got.kind == "error"  # nothing reached Lambda: the client learns how it ended
    assert got.json()["errorType"] == "StreamBrokenError"
    assert process.poll() is None


def test_buffered_result_that_cannot_be_built_posts_error(layer: LayerHarness) -> None:
    layer.start("edge_cases.bad_http_prelude", STREAM_INVOKE_MODE="BUFFERED")
    request_id = layer.api.push({})
    got = layer.api.result(request_id)
    assert got.kind == "error"
    assert got.json()["errorType"] == "ValueError"
    assert "delimiter" in got.json()["errorMessage"]


def test_memoryviews_are_framed_by_their_bytes(layer: LayerHarness) -> None:
    layer.start("edge_cases.memoryviews")
    request_id = layer.api.push({})
    got = layer.api.result(request_id)
    assert got.raw.endswith(
        b"\r\n\r\n"
        + chunk(b"a")
        + chunk(array("i", [1, 2]).tobytes())
        + chunk(b"ace")
        + chunk(b"wxyz")
        + b"0\r\n\r\n"
    )


def test_cookies_and_header_values_from_generators(layer: LayerHarness) -> None:
    layer.start("edge_cases.generator_cookies")
    request_id = layer.api.push({})
    got = layer.api.result(request_id)
    assert got.header("Content-Type") == HTTP_CT
    prelude = json.loads(got.body.split(NULS)[0])
    assert prelude["cookies"] == ["a=1", "b=2"]
    assert prelude["multiValueHeaders"] == {"X-Many": ["1", "2"]}


def test_result_answering_every_attribute_is_marshalled_not_streamed(layer: LayerHarness) -> None:
    layer.start("edge_cases.catch_all")
    request_id = layer.api.push({})
    got = layer.api.result(request_id)
    assert got.kind == "error"
    assert got.json()["errorType"] == "Runtime.MarshalError"


def test_decimals_are_encoded_exactly_as_the_stock_client_does(layer: LayerHarness) -> None:
    from awslambdaric.lambda_runtime_marshaller import to_json

    from tests.fixtures.layer_handlers.edge_cases import DECIMALS

    layer.start("edge_cases.decimals")
    request_id = layer.api.push({})
    got = layer.api.result(request_id)
    assert got.kind == "response"
    assert got.body == to_json(DECIMALS).encode()  # awslambdaric 4.2.2's encoder, byte for byte
    assert got.body == (
        b'{"precise": 0.12345678901234567890, "trailing_zero": 1.10, "integral": 42, '
        b'"exponent": -1E+2, "negative_zero": -0, "tiny": 1E-30, '
        b'"infinite": [Infinity, -Infinity], "nan": [NaN, NaN], "text": "a string"}'
    )
