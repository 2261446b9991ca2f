"""What Billie's and Mondu's plugins share (plugins.provider_common): one reading of their
settings and of a request that got no answer, named by provider."""

from __future__ import annotations

import pytest
import requests

from core.errors import ConfigurationError, OutcomeUnknown, RetryableError
from plugins.billie.settings import read_settings as billie_settings
from plugins.mondu.settings import read_settings as mondu_settings
from plugins.provider_common import (
    setting_flag,
    setting_seconds,
    setting_text,
    transport_error,
)


def test_settings_are_read_alike_and_name_the_provider():
    assert setting_text({"a": "  x "}, "a", "Billie") == "x"
    assert setting_text({"a": " "}, "a", "Billie") is None
    assert setting_flag({"f": "yes"}, "f", "Mondu", default=False) is True
    assert setting_seconds({}, "t", "Mondu", 10) == 10.0
    with pytest.raises(ConfigurationError, match="Mondu setting a is missing; set it with x"):
        setting_text({}, "a", "Mondu", required=True, how="x")
    with pytest.raises(ConfigurationError, match="Billie setting f must be true or false"):
        setting_flag({"f": "maybe"}, "f", "Billie", default=True)
    with pytest.raises(ConfigurationError, match="Billie setting t must be a number of seconds"):
        setting_seconds({"t": 301}, "t", "Billie", 10)


@pytest.mark.parametrize("read", [billie_settings, mondu_settings])
def test_both_providers_refuse_a_timeout_beyond_five_minutes(read):
    with pytest.raises(ConfigurationError, match="read_timeout must be a number of seconds"):
        read({"client_id": "id", "client_secret": "secret", "api_token": "token",
              "read_timeout": "301"})


def test_a_request_that_got_no_answer_is_named_by_provider():
    sent = transport_error("Mondu POST orders", "Mondu", requests.ReadTimeout("read"))
    assert isinstance(sent, OutcomeUnknown)
    assert str(sent).endswith("Mondu's state is read before it is repeated")
    refused = transport_error("Billie GET orders/x", "Billie",
                              requests.ConnectionError(ConnectionRefusedError("refused")))
    assert isinstance(refused, RetryableError) and not isinstance(refused, OutcomeUnknown)
    assert "not sent" in str(refused)
    assert "Billie base URL" in str(transport_error("Billie GET x", "Billie",
                                                    requests.exceptions.InvalidURL("x")))
