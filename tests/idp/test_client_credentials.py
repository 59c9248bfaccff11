"""The compiled client-credentials plans (pure): the claims template and the token ids."""

from __future__ import annotations

import os
import re

import orjson
import pytest

from gatehold.idp.client_credentials import JtiSource, M2MGrant


def grant(**overrides: object) -> M2MGrant:
    fields: dict[str, object] = {
        "issuer": "http://localhost:9000/",
        "client_id": "m2m",
        "audience": "https://api",
        "grant_scopes": ["read:a", "write:a"],
        "lifetime": 3600,
        "signing_alg": "RS256",
        "signing_secret": None,
        "rbac_permissions": False,
    }
    fields.update(overrides)
    return M2MGrant(**fields)  # type: ignore[arg-type]


@pytest.mark.parametrize(
    ("overrides", "scope"),
    [
        pytest.param({}, None, id="whole-grant"),
        pytest.param({}, "write:a nothing read:a", id="intersection-in-request-order"),
        pytest.param({"rbac_permissions": True}, "read:a", id="permissions-claim"),
        pytest.param({"grant_scopes": []}, None, id="empty-grant"),
        pytest.param(
            {"grant_scopes": ['say:"hi"', "naïve:\\", '"iat":1000000000,"exp":1000003600']},
            None,
            id="scopes-needing-escapes",
        ),
        pytest.param({"issuer": 'http://x/"jti":"J"/', "audience": "https://ä"}, None, id="odd-issuer"),
    ],
)
def test_payload_is_the_claims_json(overrides: dict[str, object], scope: str | None) -> None:
    g = grant(**overrides)
    plan = g.plan(scope)
    claims = g.claims(plan.scopes, now=1_763_700_000, jti="abc_-123", extra={})
    assert plan.payload(1_763_700_000, "abc_-123") == orjson.dumps(claims)
    assert plan.scope == claims["scope"]


def test_plans_are_remembered_per_scope_string() -> None:
    g = grant()
    assert g.plan("read:a") is g.plan("read:a")
    assert g.plan(None) is not g.plan("read:a")


def test_jti_is_22_random_base64url_characters_unique_across_batches() -> None:
    new_jti = JtiSource(batch=4)
    ids = [new_jti() for _ in range(50)]
    assert all(re.fullmatch(r"[A-Za-z0-9_-]{22}", i) for i in ids)
    assert len(set(ids)) == len(ids)


def test_a_forked_child_does_not_reuse_the_parents_batch() -> None:
    new_jti = JtiSource()
    new_jti()  # the parent now holds a batch
    read_end, write_end = os.pipe()
    pid = os.fork()
    if pid == 0:  # the child: its next id, then leave without running pytest's teardown
        os.write(write_end, new_jti().encode())
        os._exit(0)
    os.close(write_end)
    os.waitpid(pid, 0)
    child = os.read(read_end, 64).decode()
    os.close(read_end)
    assert child != new_jti()
