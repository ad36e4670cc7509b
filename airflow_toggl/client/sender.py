"""The sender: one :class:`~airflow_toggl.client.endpoint.Call` from the client's facade to a checked
answer, like ``requests.Session.send`` over an adapter.

It feeds the call's secrets to the registry once, then runs the one retry policy around one attempt:
the account's turn (pacing), the transport's exchange, the quota headers noted, the status mapped to
a typed error (which the policy retries or raises). It knows no endpoint by name.
"""

from __future__ import annotations

import logging
import time
from collections.abc import Callable

from tenacity import RetryCallState, Retrying

from airflow_toggl.client.answers import error_for, names_resource
from airflow_toggl.client.auth import TogglAuth
from airflow_toggl.client.config import DEFAULT_REQUESTS_PER_SECOND, ClientConfig
from airflow_toggl.client.endpoint import Call
from airflow_toggl.client.limits import Quota, account_key, pacing_interval, shared_pacer
from airflow_toggl.client.quotas import QuotaBook
from airflow_toggl.client.retry import retry_policy, retry_reason, wait_for_toggl
from airflow_toggl.client.secrets import SecretRegistry
from airflow_toggl.client.transport import Answer, Transport

log = logging.getLogger(__name__)


class Sender:
    """Sends calls for one account: its pacing, its retry policies, the latest figures of each quota.

    ``auth`` is the credential of calls that name none; ``account`` names the user (the email, else
    the API token) so that every credential of one account shares one pace in this process.
    """

    def __init__(
        self,
        config: ClientConfig,
        transport: Transport,
        secrets: SecretRegistry,
        auth: TogglAuth,
        *,
        account: str | None,
        sleep: Callable[[float], None] = time.sleep,
    ) -> None:
        self.config = config
        self.auth = auth
        self.quotas = QuotaBook()
        self._transport = transport
        self._secrets = secrets
        self._sleep = sleep
        self._pace = pacing_interval(config.requests_per_second)
        account = account or auth.email
        key = account_key(account) if account else auth.fingerprint
        self._pacer = shared_pacer(key, config.track_api_url)
        self._policies = {idempotent: self._retry_policy(idempotent) for idempotent in (True, False)}

    def send(self, call: Call) -> Answer:
        """The call under the retry policy: its successful answer, or the TogglError of its last attempt."""
        auth = call.auth or self.auth
        self._register(call, auth)
        return self._policies[call.idempotent](self._attempt, call, auth)

    def _register(self, call: Call, auth: TogglAuth) -> None:
        """What one call carries, fed to the registry once: its credential, the secrets in its path
        and its body's secret fields."""
        self._secrets.add_auth(auth)
        for secret in call.secrets:
            self._secrets.add(secret)
        self._secrets.add_fields(call.json)

    def _attempt(self, call: Call, auth: TogglAuth) -> Answer:
        """One attempt, in the account's turn; the answer, or the typed error its status calls for."""
        if self._pace:
            with self._pacer.turn(self._pace, self._sleep):
                answer = self._transport.send(call, auth)
        else:
            answer = self._transport.send(call, auth)
        log.debug("Toggl %s -> %s", call.label, answer.status_code)
        quota = self.quotas.note(call.path, answer.headers)
        if quota is not None:
            log.debug("Toggl %s quota: %s remaining, resets in %ss", quota.scope, quota.remaining, quota.resets_in)
        scope = quota.scope if quota is not None else self.quotas.scope(call.path)  # read from the path once
        quote = not call.sensitive and auth.kind != "basic"  # a request sent with a password is never quoted
        error = error_for(
            answer,
            call.label,
            limit=self.config.max_response_bytes,
            quote=quote,
            redact=self._secrets.redact,
            credential=auth.kind,
            resource=names_resource(call),
            scope=scope,
        )
        if error is not None:
            raise error
        return answer

    @property
    def last_quota(self) -> Quota | None:
        """The latest quota figures seen, whichever quota they were of (``scope`` says)."""
        return self.quotas.last

    def _retry_policy(self, idempotent: bool) -> Retrying:
        """The retry policy for one kind of request; its waits include the account's pacing."""
        pacer, pace = self._pacer, self._pace
        wait = wait_for_toggl(
            bucket_interval=pace or pacing_interval(DEFAULT_REQUESTS_PER_SECOND),
            backoff_cap=self.config.backoff_cap,
            pacing=lambda: pacer.delay(pace),
        )
        return retry_policy(
            attempts=self.config.max_retries + 1,
            idempotent=idempotent,
            max_wait=self.config.max_quota_wait,
            wait=wait,
            sleep=self._sleep,
            before_sleep=self._log_retry,
        )

    def _log_retry(self, state: RetryCallState) -> None:
        error = state.outcome.exception() if state.outcome else None
        call = state.args[0] if state.args else None
        idempotent = call.idempotent if isinstance(call, Call) else True
        why = (
            retry_reason(error, idempotent=idempotent, max_wait=self.config.max_quota_wait) if error else None
        )
        log.warning(
            "%s; %s, so attempt %d of %d follows in %.1fs",
            error,
            why or "the request is safe to repeat",
            state.attempt_number + 1,
            self.config.max_retries + 1,
            state.next_action.sleep if state.next_action else 0,
        )
