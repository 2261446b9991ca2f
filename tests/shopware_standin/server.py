"""The stand-in's Admin API, served over HTTP on 127.0.0.1 (a real server the kit's
``requests`` calls reach), and the shop's side of the app: installing the app from the
manifest the kit renders, and sending webhooks."""

from __future__ import annotations

import copy
import json
import secrets
import threading
import time
import uuid
import xml.etree.ElementTree as ET
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from dataclasses import dataclass, field
from datetime import UTC, datetime
from typing import Any
from urllib.parse import quote

from flask import Flask, Response, request
from werkzeug.serving import make_server

from plugins.shopware.signature import hex_hmac
from shopware_standin import encode, schema

# PHP's json_encode without flags, which Shopware uses to sign and send its bodies: compact,
# slashes escaped (App/Lifecycle/Registration/AppRegistrationService.php ``signPayload``,
# Webhook/WebhookDispatcher.php).


def php_json(data: Any) -> str:
    return json.dumps(data, separators=(",", ":")).replace("/", "\\/")


@dataclass
class Call:
    """One Admin API request as the stand-in received it."""

    method: str
    path: str
    headers: dict[str, str]
    body: Any
    status: int = 0
    needed: list[str] = field(default_factory=list)


@dataclass
class Checkout:
    """What became of a checkout with the app's payment method: the transaction's state
    (``authorized``, ``failed``, ``open``), the failure's message as Shopware logs it, the
    pay request's answer, and the order event still queued (``None`` once sent)."""

    state: str
    message: str | None
    status: int
    answer: bytes
    webhook: tuple[str, bytes, dict[str, str]] | None


@dataclass
class StandIn:
    """One Shopware shop: its orders, the app's integration and ACL role, what was called."""

    shop_url: str = ""
    shop_id: str = "Xk2vT9qLm4RwZ8Pc"
    version: str = "6.6.9.0"
    enforce_acl: bool = True
    orders: dict[str, dict[str, Any]] = field(default_factory=dict)
    privileges: set[str] = field(default_factory=set)
    client_id: str = ""
    client_secret: str = ""
    shop_secret: str = ""
    webhooks: dict[str, str] = field(default_factory=dict)  # event -> url
    calls: list[Call] = field(default_factory=list)
    history: list[dict[str, Any]] = field(default_factory=list)
    tokens: dict[str, float] = field(default_factory=dict)
    app_name: str = ""
    app_secret: str = ""
    registration_url: str = ""
    last_registration: tuple[str, dict[str, str]] | None = None
    registered_at: int = 0
    payment_methods: dict[str, dict[str, Any]] = field(default_factory=dict)  # identifier ->
    language: str = "en-GB"  # the buyer's storefront language (sw-user-language)

    # -- the shop's data -----------------------------------------------------------------

    def add_order(self, order: dict[str, Any]) -> dict[str, Any]:
        self.orders[order["id"]] = copy.deepcopy(order)
        return self.orders[order["id"]]

    def set_state(self, order_id: str, what: str, name: str, when: str) -> None:
        """Move the order (``order``), its delivery or its transaction to a state, as the
        merchant does in the administration."""
        order = self.orders[order_id]
        machine = {"order": "order.state", "delivery": "order_delivery.state",
                   "transaction": "order_transaction.state"}[what]
        if what == "order":
            target = order
        else:
            target = order["deliveries" if what == "delivery" else "transactions"][-1]
        target["stateId"] = encode.state_id(machine, name)
        target["stateMachineState"] = {"id": target["stateId"], "technicalName": name}
        target["updatedAt"] = when
        order["updatedAt"] = when

    # -- the app's side: install and webhooks ---------------------------------------------

    def install(self, manifest_xml: str, get: Callable[..., Any],
                post: Callable[..., Any]) -> dict[str, Any]:
        """Install the app (App/Lifecycle/AppLifecycle.php ``install``): the role gets the
        manifest's privileges, the integration new credentials, and the registration
        handshake runs. ``get``/``post`` reach the kit: ``get(url, headers)``,
        ``post(url, body, headers)``, each returning ``(status, json)``."""
        root = ET.fromstring(manifest_xml)
        self.app_name = root.findtext("meta/name") or ""
        self.app_secret = root.findtext("setup/secret") or ""
        self.registration_url = root.findtext("setup/registrationUrl") or ""
        self.privileges = schema.manifest_privileges(manifest_xml)
        self.webhooks = {w.get("event", ""): w.get("url", "") for w in root.iter("webhook")}
        self.payment_methods = {}
        for method in root.iter("payment-method"):
            # Lifecycle/Persister/PaymentMethodPersister.php: the names Shopware gives it
            identifier = method.findtext("identifier") or ""
            self.payment_methods[identifier] = {
                "id": f"pm-app-{identifier}", "apiAlias": "payment_method",
                "technicalName": f"payment_{self.app_name}_{identifier}",
                "handlerIdentifier": f"app\\{self.app_name}_{identifier}",
                "name": method.findtext("name"), "active": True,
                "appPaymentMethod": {"identifier": identifier, "appName": self.app_name,
                                     "payUrl": method.findtext("pay-url"),
                                     "finalizeUrl": method.findtext("finalize-url"),
                                     "app": None}}
        return self.register(get, post)

    def register(self, get: Callable[..., Any], post: Callable[..., Any],
                 request: tuple[str, dict[str, str]] | None = None) -> dict[str, Any]:
        """The registration (App/Lifecycle/Registration/AppRegistrationService.php
        ``registerApp``) with new integration credentials, as on install and in
        AppUrlChangeResolver/AbstractAppUrlChangeStrategy.php ``reRegisterApp``: the request
        of Registration/PrivateHandshake.php (the query signed with the app secret only),
        the proof checked, the confirmation signed with the secret the app answered.
        ``request`` sends a request made before again (a replay)."""
        self.client_id = "SWIA" + secrets.token_hex(12).upper()
        self.client_secret = secrets.token_urlsafe(36)
        if request is None:
            # a second registration is a second request (the test may run within a second)
            self.registered_at = max(int(time.time()), self.registered_at + 1)
            query = (f"shop-id={self.shop_id}&shop-url={quote(self.shop_url, safe='')}"
                     f"&timestamp={self.registered_at}")
            url = self.registration_url
            signed = f"{url.split('?', 1)[1]}&{query}" if "?" in url else query
            request = (f"{url}{'&' if '?' in url else '?'}{query}", {
                "shopware-app-signature": hex_hmac(self.app_secret, signed),
                "sw-version": self.version})
        self.last_registration = request
        status, answer = get(*request)
        if status != 200:
            return {"status": status, "answer": answer}
        proof = hex_hmac(self.app_secret, f"{self.shop_id}{self.shop_url}{self.app_name}")
        if answer.get("proof") != proof:
            return {"status": status, "answer": answer, "error": "invalid proof"}
        self.shop_secret = answer["secret"]
        body = php_json({"apiKey": self.client_id, "secretKey": self.client_secret,
                         "timestamp": str(int(time.time())), "shopUrl": self.shop_url,
                         "shopId": self.shop_id})
        status, confirmed = post(answer["confirmation_url"], body.encode(), {
            "shopware-shop-signature": hex_hmac(self.shop_secret, body),
            "sw-version": self.version, "Content-Type": "application/json"})
        return {"status": status, "answer": confirmed}

    def uninstall(self) -> tuple[str, bytes, dict[str, str]] | None:
        """Uninstall the app (AppLifecycle.php ``delete``, ``removeAppAndRole``): the
        ``app.deleted`` webhook is made before the app is removed, for the app itself only
        (App/Event/AppDeletedEvent.php: ``isAllowed`` compares the app id; its payload is
        empty). Returns that webhook if the manifest subscribes to it."""
        url = self.webhooks.get("app.deleted")
        delivery = None
        if url is not None:
            body = php_json({"data": {"payload": [], "event": "app.deleted"},
                             "source": {"url": self.shop_url, "eventId": uuid.uuid4().hex,
                                        "shopId": self.shop_id, "appVersion": "0.1.0"},
                             "timestamp": int(time.time())}).encode()
            delivery = (url, body, {"Content-Type": "application/json",
                                    "sw-version": self.version,
                                    "shopware-shop-signature": hex_hmac(self.shop_secret,
                                                                        body)})
        self.privileges, self.webhooks = set(), {}
        self.client_id = self.client_secret = ""
        self.tokens.clear()
        return delivery

    def webhook(self, event: str, order_id: str) -> tuple[str, bytes, dict[str, str]] | None:
        """The webhook Shopware would send for ``event`` on the order (Webhook/
        WebhookDispatcher.php): only if the manifest subscribes to it and the app may read
        orders (Webhook/Hookable/HookableBusinessEvent.php ``isAllowed``); ``None`` else."""
        url = self.webhooks.get(event)
        if url is None or "order:read" not in self.privileges:
            return None
        order = encode.as_json("order", self.orders[order_id])
        body = php_json({"data": {"payload": {"order": order}, "event": event},
                         "source": {"url": self.shop_url, "eventId": uuid.uuid4().hex,
                                    "shopId": self.shop_id, "appVersion": "0.1.0"},
                         "timestamp": int(time.time())}).encode()
        return url, body, {"Content-Type": "application/json", "sw-version": self.version,
                           "shopware-shop-signature": hex_hmac(self.shop_secret, body)}

    # -- checkout with the app's payment method -------------------------------------------

    def pay_with_app(self, order_id: str, identifier: str = "purchase_on_account") -> None:
        """The buyer chose the app's payment method for the order."""
        method = self.payment_methods[identifier]
        transaction = self.orders[order_id]["transactions"][-1]
        transaction["paymentMethodId"] = method["id"]
        transaction["paymentMethod"] = copy.deepcopy(method)

    def pay_request(self, order_id: str) -> tuple[str, bytes, dict[str, str]]:
        """The pay request of the order's transaction: up to 6.6.4 App/Payment/Handler/
        AppSyncPaymentHandler.php with Payload/Struct/SyncPayPayload.php, from 6.6.5
        AppPaymentHandler.php ``pay`` with Payload/Struct/PaymentPayload.php; the order as
        AppPaymentHandler ``getOrderTransaction`` loads it (billingAddress.country,
        lineItems, currency, orderCustomer, transactions), encoded by JsonEntityEncoder
        (App/Payload/AppPayloadServiceHelper.php ``encode``, ApiAware fields only); signed
        with the shop secret (App/Hmac/RequestSigner.php ``signRequest``) and sent with the
        language headers of App/Hmac/Guzzle/AuthMiddleware.php."""
        order = copy.deepcopy(self.orders[order_id])
        transaction = order["transactions"][-1]
        method = transaction.get("paymentMethod") or {}
        url = (method.get("appPaymentMethod") or {}).get("payUrl")
        assert url, "the order's payment method is not the app's"
        method["appPaymentMethod"]["app"] = None  # Payload/Struct/RemoveAppTrait.php
        addresses = order.get("addresses") or []
        order["billingAddress"] = next(
            (a for a in addresses if a["id"] == order.get("billingAddressId")), None)
        order["addresses"] = None  # not among the association the handler loads
        source = {"url": self.shop_url, "shopId": self.shop_id, "appVersion": "0.1.0"}
        encoded_order = encode.as_json("order", order)
        encoded_transaction = encode.as_json("order_transaction", transaction)
        if self.version_tuple >= (6, 6, 5):
            payload = {"source": source, "orderTransaction": encoded_transaction,
                       "queryParameters": [], "order": encoded_order, "requestData": [],
                       "returnUrl": f"{self.shop_url}/payment/finalize-transaction?"
                                    f"_sw_payment_token={uuid.uuid4().hex}",
                       "validateStruct": {"extensions": [], "apiAlias": "array_struct"},
                       "recurring": None}
        elif method["appPaymentMethod"].get("finalizeUrl"):  # 6.5 AsyncPayPayload
            payload = {"source": source, "orderTransaction": encoded_transaction,
                       "order": encoded_order,
                       "returnUrl": f"{self.shop_url}/payment/finalize-transaction?"
                                    f"_sw_payment_token={uuid.uuid4().hex}",
                       "requestData": [], "recurring": None}
        else:
            payload = {"source": source, "orderTransaction": encoded_transaction,
                       "order": encoded_order, "requestData": [], "recurring": None}
        body = php_json(payload).encode()
        return url, body, {"Content-Type": "application/json", "sw-version": self.version,
                           "sw-context-language": "2fbb5fe2e29a4d70aa5854ce7ce3e20b",
                           "sw-user-language": self.language,
                           "shopware-shop-signature": hex_hmac(self.shop_secret, body)}

    def checkout(self, order_id: str, send: Callable[..., Any], *,
                 admin_worker: bool = False) -> Checkout:
        """The buyer places the order with the app's payment method, as Shopware does it:
        the order is created and ``checkout.order.placed`` dispatched (Webhook/
        WebhookDispatcher.php: sent at once when the admin worker is on, else queued and
        sent later: ``Checkout.webhook`` is then the queued one, still to send); then the
        pay request (:meth:`pay_request`) and its answer applied (:meth:`answered`).
        ``send(url, body, headers)`` reaches the kit and returns ``(status, body bytes,
        headers)``."""
        placed = self.webhook("checkout.order.placed", order_id)
        if admin_worker and placed is not None:
            send(*placed)
            placed = None
        status, raw, headers = send(*self.pay_request(order_id))
        outcome, message = self.answered(order_id, status, raw, headers)
        return Checkout(outcome, message, status, raw, placed)

    def answered(self, order_id: str, status: int, raw: bytes,
                 headers: dict[str, str]) -> tuple[str, str | None]:
        """Apply the app's answer to the pay request as Shopware does; return the
        transaction's state and the failure's message. An answer not signed with the shop
        secret (``shopware-app-signature``; a 401 is not checked) is refused (App/Hmac/
        Guzzle/AuthMiddleware.php), as is any error status (Guzzle's ``http_errors``); a
        ``message``, or ``status`` ``fail``, fails the payment (Response/PaymentResponse.php
        ``getErrorMessage``, 6.5: AppSyncPaymentHandler ``pay``); another ``status`` is
        a transition of the transaction. A failed payment moves the transaction to
        ``failed`` (Checkout/Payment/PaymentService.php ``handlePaymentByOrder``, 6.6.5:
        PaymentProcessor.php ``pay``)."""
        message: str | None
        given = {k.lower(): v for k, v in headers.items()}.get("shopware-app-signature")
        if status != 401 and given != hex_hmac(self.shop_secret, raw):
            message = "Could not verify the authenticity of the response"
        elif status >= 400:
            message = f"App error: the app answered {status}"
        else:
            answer = json.loads(raw)
            action = answer.get("status")
            message = answer.get("message") or (
                "Payment was reported as failed." if action == "fail" else None)
            if message is None:
                if action:
                    self._transition(order_id, action)
                return self._transaction_state(order_id), None
        self._transition(order_id, "fail")
        return self._transaction_state(order_id), message

    def _transaction_state(self, order_id: str) -> str:
        return self.orders[order_id]["transactions"][-1]["stateMachineState"]["technicalName"]

    def _transition(self, order_id: str, action: str) -> None:
        """A transition of the order's transaction along the state machine
        (StateMachineRegistry ``transition``)."""
        transaction = self.orders[order_id]["transactions"][-1]
        state = transaction["stateMachineState"]["technicalName"]
        target = schema.transaction_transition(state, action) or state
        self.history.append({"entityName": "order_transaction",
                             "referencedId": transaction["id"], "fromState": state,
                             "toState": target, "transitionActionName": action})
        transaction["stateId"] = encode.state_id("order_transaction.state", target)
        transaction["stateMachineState"] = {"id": transaction["stateId"],
                                            "technicalName": target}

    # -- the Admin API ---------------------------------------------------------------------

    def allowed(self, needed: list[str]) -> list[str]:
        """The privileges of ``needed`` the app's role lacks."""
        if not self.enforce_acl:
            return []
        return [p for p in needed if p not in self.privileges]

    @property
    def version_tuple(self) -> tuple[int, ...]:
        return tuple(int(p) for p in self.version.split(".")[:3])

    def calls_to(self, method: str, prefix: str) -> list[Call]:
        return [c for c in self.calls if c.method == method and c.path.startswith(prefix)]


def _answer(call: Call, status: int, body: Any = None, content_type: str = encode.JSON
            ) -> Response:
    call.status = status
    if body is None:
        return Response(status=status)
    return Response(json.dumps(body), status=status, content_type=content_type)


def create_api(shop: StandIn) -> Flask:
    app = Flask("shopware-standin")

    @app.before_request
    def record() -> None:
        body: Any = None
        raw = request.get_data()
        # Api/EventListener/JsonRequestTransformerListener.php: a body is read as JSON only
        # when the Content-Type says so
        if raw and (request.headers.get("Content-Type") or "").startswith("application/json"):
            body = json.loads(raw)
        request.environ["standin.call"] = Call(request.method, request.path,
                                               dict(request.headers), body)
        shop.calls.append(request.environ["standin.call"])

    def call() -> Call:
        return request.environ["standin.call"]

    def authorised() -> Response | None:
        token = (request.headers.get("Authorization") or "").removeprefix("Bearer ")
        if shop.tokens.get(token, 0) < time.time():
            # league/oauth2-server OAuthServerException::accessDenied, as ErrorResponseFactory
            # writes it
            return _answer(call(), 401, {"errors": [{
                "code": "9", "status": "401",
                "title": "The resource owner or authorization server denied the request.",
                "detail": "Access token could not be verified"}]})
        return None

    def media_type() -> str | Response:
        chosen = encode.negotiate(request.headers.get("Accept"))
        if chosen is None:
            return _answer(call(), 415, encode.error(
                415, "0", "All provided media types are unsupported. "
                f"({request.headers.get('Accept') or ''})"))
        return chosen

    @app.post("/api/oauth/token")
    def token() -> Response:
        data = call().body or request.form.to_dict()
        if (data.get("grant_type") != "client_credentials"
                or data.get("client_id") != shop.client_id or not shop.client_id
                or data.get("client_secret") != shop.client_secret):
            return _answer(call(), 401, {"errors": [{
                "code": "4", "status": "401", "title": "Client authentication failed",
                "detail": None}]})
        issued = secrets.token_urlsafe(24)
        shop.tokens[issued] = time.time() + 600
        return _answer(call(), 200, {"token_type": "Bearer", "expires_in": 600,
                                     "access_token": issued})

    @app.post("/api/search/order")
    def search_order() -> Response:
        refused = authorised()
        if refused:
            return refused
        chosen = media_type()
        if isinstance(chosen, Response):
            return chosen
        criteria = call().body or {}
        try:
            # Api/Controller/ApiController.php ``resolveSearch``: AclCriteriaValidator
            call().needed = schema.criteria_privileges("order", criteria)
        except schema.UnknownAssociation as exc:
            return _answer(call(), 400, encode.error(
                400, "FRAMEWORK__ASSOCIATION_NOT_FOUND",
                f'Can not find association by name {exc}', {"association": str(exc)}))
        missing = shop.allowed(call().needed)
        if missing:
            return _answer(call(), 403, encode.missing_privileges(missing))
        found, total = _search(shop, criteria)
        records = [encode.select("order", o, criteria) for o in found]
        if chosen == encode.JSON:
            return _answer(call(), 200, encode.json_listing("order", records, total))
        return _answer(call(), 200, encode.json_api_listing(
            "order", records, total, f"{shop.shop_url}/api"), encode.JSON_API)

    @app.patch("/api/order/<order_id>")
    def update_order(order_id: str) -> Response:
        refused = authorised()
        if refused:
            return refused
        chosen = media_type()  # the response factory is resolved for every ApiController call
        if isinstance(chosen, Response):
            return chosen
        # DataAbstractionLayer write -> Api/Acl/AclWriteValidator.php
        call().needed = ["order:update"]
        missing = shop.allowed(call().needed)
        if missing:
            return _answer(call(), 403, encode.missing_privileges(missing))
        order = shop.orders.get(order_id)
        if order is None:
            return _answer(call(), 404, encode.error(
                404, "FRAMEWORK__WRITE_TYPE_INTEND_ERROR", "order not found"))
        data = call().body or {}
        if "customFields" in data:  # the CustomFields field merges on update
            order["customFields"] = {**(order.get("customFields") or {}),
                                     **data["customFields"]}
        order["updatedAt"] = _now()
        return _answer(call(), 204)  # ApiController::write without ?_response

    @app.post("/api/_action/order_transaction/<transaction_id>/state/<action>")
    def transition(transaction_id: str, action: str) -> Response:
        refused = authorised()
        if refused:
            return refused
        call().needed = schema.transition_privileges(shop.version_tuple)
        missing = shop.allowed(call().needed)
        if missing:
            return _answer(call(), 403, encode.missing_privileges(missing))
        found = [(o, t) for o in shop.orders.values() for t in o.get("transactions") or ()
                 if t["id"] == transaction_id]
        if not found:
            return _answer(call(), 400, encode.error(
                400, "SYSTEM__STATE_MACHINE_INVALID_ENTITY_ID",
                f'Unable to read entity "order_transaction" with id "{transaction_id}".',
                {"entityName": "order_transaction", "entityId": transaction_id}))
        _, transaction = found[0]
        state = transaction["stateMachineState"]["technicalName"]
        try:
            target = schema.transaction_transition(state, action)
        except schema.IllegalTransition as exc:
            current = encode.state_id("order_transaction.state", exc.state)
            possible = ", ".join(exc.possible)
            return _answer(call(), 400, encode.error(
                400, "SYSTEM__ILLEGAL_STATE_TRANSITION",
                f'Illegal transition "{action}" from state "{current}". Possible '
                f"transitions are: {possible}",
                {"transition": action, "currentState": current,
                 "possibleTransitionsString": possible, "possibleTransitions": exc.possible}))
        if target is None:  # UnnecessaryTransitionException: nothing changes
            target = state
        else:
            shop.history.append({"entityName": "order_transaction",
                                 "referencedId": transaction_id, "fromState": state,
                                 "toState": target, "transitionActionName": action})
            when = _now()
            transaction["stateId"] = encode.state_id("order_transaction.state", target)
            transaction["stateMachineState"] = {"id": transaction["stateId"],
                                                "technicalName": target}
            transaction["updatedAt"] = when
        return _answer(call(), 200, {"id": encode.state_id("order_transaction.state", target),
                                     "technicalName": target,
                                     "apiAlias": "state_machine_state"})

    return app


def _now() -> str:
    return datetime.now(UTC).isoformat(timespec="milliseconds")


def _matches(order: dict[str, Any], node: dict[str, Any]) -> bool:
    """The DAL filters the kit uses: ``multi`` (and/or), ``range``, ``equals``,
    ``equalsAny``."""
    kind = node.get("type")
    if kind == "multi":
        results = [_matches(order, q) for q in node.get("queries") or ()]
        return any(results) if (node.get("operator") or "and").lower() == "or" else all(results)
    value = order.get(str(node.get("field", "")).removeprefix("order."))
    if kind == "range":
        if value is None:
            return False
        moment = datetime.fromisoformat(value)
        for op, bound in (node.get("parameters") or {}).items():
            limit = datetime.fromisoformat(bound)
            if (op == "gte" and moment < limit) or (op == "gt" and moment <= limit) or \
                    (op == "lte" and moment > limit) or (op == "lt" and moment >= limit):
                return False
        return True
    if kind == "equals":
        return value == node.get("value")
    if kind == "equalsAny":
        return value in (node.get("value") or [])
    raise ValueError(f"filter type {kind} is not served by the stand-in")


def _search(shop: StandIn, criteria: dict[str, Any]) -> tuple[list[dict[str, Any]], int]:
    orders = list(shop.orders.values())
    if criteria.get("ids"):
        orders = [o for o in orders if o["id"] in criteria["ids"]]
    for node in criteria.get("filter") or ():
        orders = [o for o in orders if _matches(o, node)]
    for sort in reversed(criteria.get("sort") or ()):
        orders.sort(key=lambda o, f=sort["field"]: str(o.get(f) or ""),
                    reverse=str(sort.get("order", "ASC")).upper() == "DESC")
    total = len(orders)
    limit = criteria.get("limit")
    if limit:
        start = (int(criteria.get("page") or 1) - 1) * int(limit)
        orders = orders[start:start + int(limit)]
    return orders, total


@contextmanager
def running(shop: StandIn) -> Iterator[StandIn]:
    """Serve the shop's Admin API on a free port of 127.0.0.1 while the block runs."""
    server = make_server("127.0.0.1", 0, create_api(shop), threaded=True)
    shop.shop_url = f"http://127.0.0.1:{server.server_port}"
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    try:
        yield shop
    finally:
        server.shutdown()
        thread.join(timeout=5)
