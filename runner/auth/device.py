"""``type: oauth2-device``: the device authorization grant (RFC 8628), for CLIs on machines
without a browser.

The device authorization request (§3.1) and the polling loop (§3.4, §3.5) are apirun's own,
small code; oauthlib's ``DeviceClient`` only builds the token request body (its
``prepare_request_uri`` would put a client secret into a query string). The verification
URI and the user code go to the injected ``notify`` callable — never to ``print``. The
token cache, the CI rules and ``apirun login``/``logout`` are those of ``oauth2-code``.
"""

from __future__ import annotations

import shlex
import threading
import time
import webbrowser
from collections.abc import Callable
from typing import Any, ClassVar
from urllib.parse import urlencode

from ..errors import TransportError
from ..http import HttpResponse, OutgoingRequest
from .base import AuthContext
from .code import LOGIN_WAIT_S, AuthorizationCodeAuth, _quietly
from .oauth import learn_answer, snippet
from .tokens import Token

SLOW_DOWN_S = 5.0  # RFC 8628 §3.5: add 5 seconds to the interval on `slow_down`
DEFAULT_INTERVAL_S = 5.0


class DeviceAuth(AuthorizationCodeAuth):
    kind: ClassVar[str] = "oauth2-device"

    def _post(
        self, ctx: AuthContext, what: str, url: str, fields: dict[str, str]
    ) -> tuple[HttpResponse, Any]:
        """One form POST to the provider with the client's authentication; the answer and
        its JSON (None if it is not JSON)."""
        client_id, secret, mode = self.client_credentials(ctx)
        headers = {"Accept": "application/json"}
        body = dict(fields)
        if self.assertion is not None:
            body.update(self.assertion_fields(ctx))
        elif secret is not None and mode == "basic":
            import base64
            from urllib.parse import quote

            raw = f"{quote(client_id or '', safe='')}:{quote(secret, safe='')}"
            headers["Authorization"] = "Basic " + base64.b64encode(raw.encode()).decode()
        elif secret is not None:
            body["client_secret"] = secret
        request = OutgoingRequest(
            "POST",
            url,
            headers=headers,
            form=list(body.items()),
            timeout=self.request_timeout(ctx),
            verify=ctx.verify,
            token_request=True,
            location=self.spec.location,
        )
        shown = urlencode(body)
        try:
            response = ctx.transport.send(request)
        except TransportError as exc:
            self.report_exchange(ctx, what, url, shown, None, exc.message)
            raise self.error(f"{what} to {url} failed: {exc.message}") from None
        try:
            data: Any = response.json()
        except ValueError:
            data = None
        if 200 <= response.status < 300:
            learn_answer(ctx, data)
            if isinstance(data, dict):
                ctx.redactor.add(data.get("device_code"))
        self.report_exchange(ctx, what, url, shown, response.status, response.text)
        return response, data

    def login(self, ctx: AuthContext, wait_s: float) -> Token:
        """Show the code, then poll until the user approves, denies, or the code expires."""
        from oauthlib.oauth2 import DeviceClient

        device_url = self.url(ctx, "device_authorization_url")
        token_url = self.url(ctx, "token_url")
        client_id = self.required(ctx, "client_id")
        scope = self.scope(ctx)
        fields = {"client_id": client_id}
        if scope:
            fields["scope"] = " ".join(scope)
        response, grant = self._post(ctx, "the device authorization request", device_url, fields)
        if response.status != 200 or not isinstance(grant, dict) or not grant.get("device_code"):
            raise self.error(
                f"the device authorization request to {device_url} answered {response.status} "
                f"{snippet(ctx.redactor(response.text), 200)}"
            )
        device_code = str(grant["device_code"])
        ctx.redactor.add(device_code)
        uri = grant.get("verification_uri") or grant.get("verification_url")
        complete = grant.get("verification_uri_complete")
        note = ctx.extra.get("device_note")  # the demo enters the code itself and says so
        if note:
            lines = [f"auth block `{self.name}`: {note} {grant.get('user_code')} at {uri}"]
        else:
            lines = [
                f"auth block `{self.name}`: to log in, visit {uri} and enter the code "
                f"{grant.get('user_code')}"
            ]
            if complete:
                lines.append(f"  or open {complete}")
        notify: Callable[[str], None] = ctx.notify or (lambda text: None)
        notify("\n".join(lines))
        opener: Any = ctx.extra.get("device_browser")
        if opener is not None and (complete or uri):  # the demo and tests play the user
            opener(str(complete or uri), str(grant.get("user_code") or ""))
        elif complete and ctx.interactive and not ctx.no_browser:
            # Where there is a browser after all, open the page with the code filled in
            # (as `gh auth login` does); without one, the printed URL is all there is.
            threading.Thread(
                target=_quietly, args=(webbrowser.open, str(complete)), daemon=True
            ).start()
        interval = _number(grant.get("interval"), DEFAULT_INTERVAL_S)
        # The device code's own lifetime bounds the wait (`timeout` is per token request).
        deadline = time.monotonic() + _number(grant.get("expires_in"), LOGIN_WAIT_S)
        sleep: Callable[[float], None] = ctx.extra.get("sleep") or time.sleep
        body = DeviceClient(client_id).prepare_request_body(device_code, include_client_id=True)
        token_fields = dict(_pairs(body))
        while True:
            if time.monotonic() + interval > deadline:
                raise self.error(
                    "the device code expired before the login was approved — run "
                    f"`apirun login {shlex.quote(ctx.collection_file)} --auth {self.name}` "
                    "again and enter the code in time"
                )
            sleep(interval)
            response, data = self._post(ctx, "the device token request", token_url, token_fields)
            if response.status == 200 and isinstance(data, dict) and data.get("access_token"):
                return Token.from_response(data)
            error = str(data.get("error")) if isinstance(data, dict) else ""
            if error == "authorization_pending":
                continue
            if error == "slow_down":
                interval += SLOW_DOWN_S
                continue
            if error == "expired_token":
                raise self.error(
                    "the device code expired before the login was approved (expired_token); "
                    "log in again"
                )
            if error == "access_denied":
                raise self.error("the login was denied at the provider (access_denied)")
            raise self.error(
                f"the device token request to {token_url} answered {response.status} "
                f"{snippet(ctx.redactor(response.text), 200)}"
            )

    def _how_to_log_in(self, ctx: AuthContext, reasons: list[str]) -> str:
        why = "; ".join(reasons) if reasons else "no cached token and no refresh_token"
        file = shlex.quote(ctx.collection_file)
        return (
            f"cannot run the device login here (CI or no terminal): {why}. Fix: run "
            f"`apirun login {file} --auth {self.name}` (it shows a URL and a code, and fills "
            "the token cache), or store a refresh token as a CI secret in `refresh_token`"
        )


def _number(value: Any, default: float) -> float:
    if isinstance(value, (int, float)) and not isinstance(value, bool) and value > 0:
        return float(value)
    return default


def _pairs(body: str) -> list[tuple[str, str]]:
    from urllib.parse import parse_qsl

    return parse_qsl(body, keep_blank_values=True)
