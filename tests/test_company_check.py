"""The kit's own company checks: VAT IDs of the nine countries, legal forms, postcodes, VIES."""

from __future__ import annotations

import json

import pytest
import requests
import responses

from core.context import Company
from core.legal_forms import LEGAL_FORMS, forms_of, guess_legal_form, is_legal_form
from core.risk.company import (
    VIES_URL,
    address_reason,
    legal_form_reason,
    vat_id_reason,
    verify,
    vies_status,
)


@pytest.mark.parametrize(("vat_id", "country", "reason"), [
    ("DE136695976", "DE", None), ("DE 136 695 976", "DE", None), ("136695976", "DE", None),
    ("de136695976", "DE", None), ("DE136695975", "DE", "vat_id_invalid"),
    ("ATU13585627", "AT", None), ("ATU13585626", "AT", "vat_id_invalid"),
    ("FR40303265045", "FR", None), ("FR 40 303 265 045", "FR", None),
    ("40303265045", "FR", None), ("FR40303265046", "FR", "vat_id_invalid"),
    ("NL004495445B01", "NL", None), ("NL004495446B01", "NL", "vat_id_invalid"),
    ("SE556188840401", "SE", None), ("SE556188840402", "SE", "vat_id_invalid"),
    ("NO995525828MVA", "NO", None), ("NO 995 525 828 MVA", "NO", None),
    ("995525828", "NO", None), ("NO995525828", "NO", None), ("995525828MVA", "NO", None),
    ("NO995525827MVA", "NO", "vat_id_invalid"), ("995525827", "NO", "vat_id_invalid"),
    ("FI20774740", "FI", None), ("FI20774741", "FI", "vat_id_invalid"),
    ("ESA13585625", "ES", None), ("ESA13585626", "ES", "vat_id_invalid"),
    ("DK13585628", "DK", None), ("DK13585627", "DK", "vat_id_invalid"),
    ("DE136695976", "AT", "vat_id_country_mismatch"),
    ("ATU13585627", "DE", "vat_id_country_mismatch"),
    ("SE556188840401", "NO", "vat_id_country_mismatch"),
    ("XX123", "FR", "vat_id_country_mismatch"),
    ("DE12", "DE", "vat_id_invalid"),
    (None, "DE", None), ("", "DE", None),
    ("CHE-123.456.788", "CH", None),  # outside the nine: other rules decide
])
def test_vat_ids(vat_id, country, reason):
    assert vat_id_reason(vat_id, country) == reason


@pytest.mark.parametrize(("form", "country", "valid"), [
    ("GmbH", "DE", True), ("gmbh", "DE", True), ("GmbH", "AT", True), ("GmbH", "FR", False),
    ("UG (haftungsbeschränkt)", "DE", True), ("OG", "AT", True), ("OG", "DE", False),
    ("B.V.", "NL", True), ("bv", "NL", True), ("B.V.", "DE", False),
    ("SARL", "FR", True), ("AB", "SE", True), ("AS", "NO", True), ("Oy", "FI", True),
    ("S.L.", "ES", True), ("ApS", "DK", True), ("A/S", "DK", True), ("Ltd", "DE", False),
    ("AB (publ)", "SE", True), ("Ab", "FI", True), ("Oyj", "SE", False), ("ASA", "NO", True),
    ("Ges.m.b.H.", "AT", True), ("Ges.m.b.H.", "DE", False), ("FlexCo", "AT", True),
    ("SASU", "FR", True), ("SAS", "NL", False), ("Cooperatie", "NL", True),
    ("Autonomo", "ES", True), ("S.L.", "FR", False), ("IVS", "DK", True), ("ApS", "NO", False),
    ("AG & Co. KGaA", "DE", True), ("UG (haftungsbeschränkt) & Co. KG", "DE", True),
    ("GmbH u. Co. KG", "DE", True), ("GmbH & Co OG", "AT", True), ("SARL & Co. KG", "DE", False),
])
def test_legal_forms_per_country(form, country, valid):
    assert is_legal_form(form, country) is valid
    assert (legal_form_reason(form, country) is None) is valid


def test_countries_without_a_list_and_missing_forms_pass():
    assert legal_form_reason("Ltd", "CH") is None and legal_form_reason(None, "DE") is None


def test_every_country_has_its_forms():
    assert all(forms_of(country) for country in ("DE", "AT", "FR", "NL", "SE", "NO", "FI", "ES",
                                                 "DK"))
    assert forms_of("CH") == () and "GmbH" in forms_of("DE") and "GmbH" in LEGAL_FORMS


@pytest.mark.parametrize(("name", "form"), [
    ("Beispiel B.V.", "B.V."), ("Muster Bürobedarf GmbH & Co. KG", "GmbH & Co. KG"),
    ("Muster UG (haftungsbeschränkt)", "UG (haftungsbeschränkt)"), ("Muster gmbh", "GmbH"),
    ("Henkel AG & Co. KGaA", "KGaA"), ("Exempel AB", "AB"), ("Volvo AB (publ)", "AB (publ)"),
    ("Ejemplo S.L.U.", "S.L.U."), ("Eksempel A/S", "A/S"), ("GmbH", None), ("Muster", None),
    ("", None), (None, None),
])
def test_legal_forms_are_still_read_off_names(name, form):
    assert guess_legal_form(name) == form


@pytest.mark.parametrize(("postcode", "country", "plausible"), [
    ("10115", "DE", True), ("1011", "DE", False), ("1010", "AT", True), ("10100", "AT", False),
    ("75002", "FR", True), ("1012 AB", "NL", True), ("1012AB", "NL", True),
    ("0123 AB", "NL", False), ("111 22", "SE", True), ("11122", "SE", True),
    ("0150", "NO", True), ("00100", "FI", True), ("28013", "ES", True),
    ("53001", "ES", False), ("1050", "DK", True), ("DK-1050", "DK", False),
    ("8001", "CH", True),
])
def test_postcodes(postcode, country, plausible):
    reason = address_reason("Hauptstraße 5", postcode, "Stadt", country)
    assert (reason is None) is plausible


@pytest.mark.parametrize(("street", "city"), [("", "Berlin"), ("12", "Berlin"),
                                              ("Hauptstraße 5", " ")])
def test_street_and_city_are_needed(street, city):
    assert address_reason(street, "10115", city, "DE") == "address_implausible"


DE = Company(name="Muster", legal_form="GmbH", vat_id="DE 136695976", street="Hauptstraße 5",
             postcode="10115", city="Berlin", country="DE")


@responses.activate
def test_vies_confirms_and_is_asked_without_the_prefix():
    responses.post(VIES_URL, json={"countryCode": "DE", "vatNumber": "136695976",
                                   "valid": True, "userError": "VALID", "name": "MUSTER GMBH",
                                   "address": "---", "requestDate": "2026-12-04"})
    check = verify(DE, vies=True)
    assert (check.status, check.reasons, check.source) == ("valid", (), "vies")
    assert check.details == {"name": "MUSTER GMBH", "request_date": "2026-12-04"}
    assert json.loads(responses.calls[0].request.body) == {"countryCode": "DE",
                                                           "vatNumber": "136695976"}


@responses.activate
@pytest.mark.parametrize(("vat_id", "country", "sent"), [
    ("136695976", "DE", ("DE", "136695976")), ("U13585627", "AT", ("AT", "U13585627")),
    ("FR 40 303 265 045", "FR", ("FR", "40303265045")),
    ("NL004495445B01", "NL", ("NL", "004495445B01")),
])
def test_vies_gets_country_and_number_apart(vat_id, country, sent):
    responses.post(VIES_URL, json={"isValid": True})
    postcode = {"DE": "10115", "AT": "1010", "FR": "75002", "NL": "1012 AB"}[country]
    form = {"DE": "GmbH", "AT": "GmbH", "FR": "SAS", "NL": "B.V."}[country]
    company = Company(name="Muster", legal_form=form, vat_id=vat_id, street="Hauptstraße 5",
                      postcode=postcode, city="Stadt", country=country)
    assert verify(company, vies=True).status == "valid"
    body = json.loads(responses.calls[0].request.body)
    assert (body["countryCode"], body["vatNumber"]) == sent


@responses.activate
def test_vies_is_asked_with_the_timeout():
    responses.post(VIES_URL, json={"valid": True})
    vies_status("DE136695976", timeout=2.5)
    assert responses.calls[0].request.req_kwargs["timeout"] == 2.5


@responses.activate
@pytest.mark.parametrize(("answer", "status", "reason"), [
    ({"json": {"valid": False}}, "invalid", "vat_id_not_registered"),
    ({"json": {"isValid": False, "userError": "INVALID"}}, "invalid", "vat_id_not_registered"),
    ({"json": {"valid": False, "userError": "MS_UNAVAILABLE"}}, "unknown", "vat_id_unverified"),
    ({"json": {"userError": "TIMEOUT"}}, "unknown", "vat_id_unverified"),
    ({"json": {"actionSucceed": False, "errorWrappers": [{"error": "MS_MAX_CONCURRENT_REQ"}]},
      "status": 500}, "unknown", "vat_id_unverified"),
    ({"json": {"actionSucceed": False, "errorWrappers": [{"error": "MS_UNAVAILABLE"}]},
      "status": 500}, "unknown", "vat_id_unverified"),
    ({"json": {"actionSucceed": False, "errorWrappers": [{"error": "INVALID_INPUT"}]},
      "status": 400}, "invalid", "vat_id_not_registered"),
    ({"json": {"userError": "INVALID_INPUT"}}, "invalid", "vat_id_not_registered"),
    ({"json": {"userError": "SERVICE_UNAVAILABLE"}}, "unknown", "vat_id_unverified"),
    ({"json": {"userError": "GLOBAL_MAX_CONCURRENT_REQ"}}, "unknown", "vat_id_unverified"),
    ({"json": {"userError": "INVALID_REQUESTER_INFO"}}, "unknown", "vat_id_unverified"),
    ({"json": {"valid": True}, "status": 502}, "unknown", "vat_id_unverified"),
    ({"json": {"countryCode": "DE"}}, "unknown", "vat_id_unverified"),
    ({"json": ["not", "an", "object"]}, "unknown", "vat_id_unverified"),
    ({"body": ""}, "unknown", "vat_id_unverified"),
    ({"body": "<html>maintenance</html>", "status": 503}, "unknown", "vat_id_unverified"),
    ({"body": requests.ConnectionError("refused")}, "unknown", "vat_id_unverified"),
    ({"body": requests.Timeout("read timeout")}, "unknown", "vat_id_unverified"),
])
def test_vies_answers(answer, status, reason):
    responses.post(VIES_URL, **answer)
    check = vies_status("DE136695976")
    assert (check.status, check.reasons, check.source) == (status, (reason,), "vies")
    assert ("error" in check.details) is (status == "unknown")


@responses.activate
def test_an_unreachable_vies_leaves_verify_unknown():
    responses.post(VIES_URL, body=requests.Timeout("read timeout"))
    check = verify(DE, vies=True)
    assert (check.status, check.reasons, check.details) == (
        "unknown", ("vat_id_unverified",), {"error": "Timeout"})


@responses.activate
def test_norway_and_bad_data_never_ask_vies():
    no = Company(name="Eksempel", legal_form="AS", vat_id="NO995525828MVA", street="Gate 1",
                 postcode="0150", city="Oslo", country="NO")
    assert verify(no, vies=True) == verify(no)
    assert verify(no, vies=True).status == "valid"
    assert vies_status("NO995525828MVA").status == "unknown"
    assert verify(Company(name="Muster", legal_form="GmbH", vat_id=None, street="Hauptstraße 5",
                          postcode="10115", city="Berlin", country="DE"), vies=True).source \
        == "format"
    bad = verify(Company(name="Muster", legal_form="SARL", vat_id="DE136695975", street="",
                         postcode="1", city="Berlin", country="DE"), vies=True)
    assert bad.status == "invalid"
    assert bad.reasons == ("vat_id_invalid", "legal_form_invalid", "address_implausible")
    assert len(responses.calls) == 0
