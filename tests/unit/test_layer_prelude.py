"""Prelude validation: header names are RFC 9110 tokens; no CR, LF or NUL anywhere."""

from __future__ import annotations

import pytest

from lambda_streaming.http.prelude import HttpPrelude, http_metadata

TCHARS = "!#$%&'*+-.^_`|~09AZaz"


def test_every_token_character_is_a_valid_name() -> None:
    assert http_metadata({"headers": {TCHARS: "v"}})["headers"] == {TCHARS: "v"}


@pytest.mark.parametrize("name", ["", "X Y", "X:Y", "X\tY", "X(Y)", 'X"Y', "X/Y", "Ä", "X\r\n"])
def test_names_that_are_not_tokens(name: str) -> None:
    with pytest.raises(ValueError, match="is not an HTTP token"):
        http_metadata({"headers": {name: "v"}})


@pytest.mark.parametrize("value", ["a\rb", "a\nb", "a\x00b", "\r\n"])
def test_values_that_would_break_framing(value: str) -> None:
    with pytest.raises(ValueError, match="header 'X' has CR, LF or NUL"):
        http_metadata({"headers": {"X": value}})
    with pytest.raises(ValueError, match="contains CR, LF or NUL"):
        http_metadata({"cookies": [f"a={value}"]})


def test_values_that_are_fine() -> None:
    headers = {"X": "tab\tand space, obs-text é", "Y": 3}
    assert http_metadata({"headers": headers})["headers"] == {
        "X": "tab\tand space, obs-text é",
        "Y": "3",
    }


def test_non_str_names_are_a_type_error() -> None:
    with pytest.raises(TypeError, match="header names must be str"):
        http_metadata({"headers": {1: "v"}})


def test_content_type_set_later_is_checked_too() -> None:
    prelude = HttpPrelude(http_metadata({}))
    with pytest.raises(ValueError, match="'Content-Type' has CR, LF or NUL"):
        prelude.set_body_content_type("text/plain\r\nX-Injected: 1")
    assert "headers" not in prelude.metadata or not prelude.metadata["headers"]
