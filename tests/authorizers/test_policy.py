"""IAM policy evaluation against method ARNs (docs/aws-reference.md §1.7), table-driven."""

from __future__ import annotations

from typing import Any

import pytest

from gatehold.gateway.authorizers.policy import PolicyError, evaluate

ARN = "arn:aws:execute-api:us-east-1:123456789012:abc123/dev/GET/pets/42"
INVOKE = "execute-api:Invoke"


def st(effect: str = "Allow", resource: Any = ARN, action: Any = INVOKE, **extra: Any) -> dict[str, Any]:
    out: dict[str, Any] = {"Effect": effect, **extra}
    if action is not None:
        out["Action"] = action
    if resource is not None:
        out["Resource"] = resource
    return out


def doc(*statements: dict[str, Any]) -> dict[str, Any]:
    return {"Version": "2012-10-17", "Statement": list(statements)}


@pytest.mark.parametrize(
    ("policy", "outcome", "index"),
    [
        pytest.param(doc(st()), "allow", 0, id="exact-arn"),
        pytest.param(doc(st(resource="arn:aws:execute-api:*:*:*")), "allow", 0, id="everything"),
        pytest.param(doc(st(resource="arn:aws:execute-api:us-east-1:*:abc123/*")), "allow", 0, id="api-star"),
        pytest.param(
            doc(st(resource="arn:aws:execute-api:us-east-1:123456789012:abc123/dev/*")),
            "allow",
            0,
            id="stage-star",
        ),
        pytest.param(
            doc(st(resource="arn:aws:execute-api:us-east-1:123456789012:abc123/*/GET/pets/*")),
            "allow",
            0,
            id="star-crosses-slash",
        ),
        pytest.param(
            doc(st(resource="arn:aws:execute-api:us-east-1:123456789012:abc123/*/GET/pets/4?")),
            "allow",
            0,
            id="question-one-char",
        ),
        pytest.param(
            doc(st(resource="arn:aws:execute-api:us-east-1:123456789012:abc123/*/GET/pets/?")),
            "implicit-deny",
            None,
            id="question-exactly-one",
        ),
        pytest.param(
            doc(st(resource="arn:aws:execute-api:us-east-1:123456789012:abc123/dev/GET/pets")),
            "implicit-deny",
            None,
            id="prefix-is-not-a-match",
        ),
        pytest.param(
            doc(st(resource="arn:aws:execute-api:us-east-1:123456789012:abc123/dev/get/pets/42")),
            "implicit-deny",
            None,
            id="resource-case-sensitive",
        ),
        pytest.param(
            doc(st(resource="arn:aws:execute-api:us-east-1:123456789012:abc123/dev/GET/pets.42")),
            "implicit-deny",
            None,
            id="dot-is-literal",
        ),
        pytest.param(
            doc(st(resource=["arn:aws:execute-api:*:*:other/*", ARN])), "allow", 0, id="resource-list"
        ),
        pytest.param(doc(st(action=["execute-api:InvalidateCache", INVOKE])), "allow", 0, id="action-list"),
        pytest.param(doc(st(action="execute-api:*")), "allow", 0, id="action-execute-api-star"),
        pytest.param(doc(st(action="*")), "allow", 0, id="action-star"),
        pytest.param(doc(st(action="execute-api:invoke")), "allow", 0, id="action-case-insensitive"),
        pytest.param(doc(st(action="execute-api:InvalidateCache")), "implicit-deny", None, id="other-action"),
        pytest.param(doc(st(action="s3:*")), "implicit-deny", None, id="other-service"),
        pytest.param(doc(st(), st("Deny")), "explicit-deny", 1, id="deny-wins-after"),
        pytest.param(doc(st("Deny"), st()), "explicit-deny", 0, id="deny-wins-before"),
        pytest.param(
            doc(
                st(resource="arn:aws:execute-api:*:*:*"),
                st("Deny", resource="arn:aws:execute-api:*:*:abc123/*/POST/*"),
            ),
            "allow",
            0,
            id="deny-other-method",
        ),
        pytest.param(doc(st("Deny")), "explicit-deny", 0, id="deny-only"),
        pytest.param(doc(), "implicit-deny", None, id="no-statements"),
        pytest.param({"Statement": st()}, "allow", 0, id="statement-as-object"),
        pytest.param(
            doc(st(resource=None, NotResource="arn:aws:execute-api:*:*:abc123/*/POST/*")),
            "allow",
            0,
            id="not-resource-outside",
        ),
        pytest.param(
            doc(st(resource=None, NotResource=ARN)), "implicit-deny", None, id="not-resource-inside"
        ),
        pytest.param(
            doc(st(action=None, NotAction="execute-api:InvalidateCache")), "allow", 0, id="not-action-outside"
        ),
        pytest.param(
            doc(st(action=None, NotAction="execute-api:*")), "implicit-deny", None, id="not-action-inside"
        ),
        pytest.param(
            doc(st(), st("Deny", action=None, NotAction="s3:*")), "explicit-deny", 1, id="deny-not-action"
        ),
    ],
)
def test_evaluate(policy: dict[str, Any], outcome: str, index: int | None) -> None:
    decision = evaluate(policy, ARN)
    assert (decision.outcome, decision.statement_index) == (outcome, index)
    assert decision.allowed is (outcome == "allow")
    if index is not None:
        assert (
            decision.statement == policy["Statement"][index]
            if isinstance(policy["Statement"], list)
            else True
        )


@pytest.mark.parametrize(
    "policy",
    [
        pytest.param(None, id="null"),
        pytest.param([], id="list"),
        pytest.param({"Version": "2012-10-17"}, id="no-statement"),
        pytest.param(doc(st(effect="allow")), id="effect-lowercase"),
        pytest.param(doc(st(effect=None)), id="effect-missing"),
        pytest.param(doc(st(action=None)), id="no-action"),
        pytest.param(doc(st(resource=None)), id="no-resource"),
        pytest.param(doc(st(NotResource=ARN)), id="resource-and-not-resource"),
        pytest.param(doc(st(resource=[])), id="empty-resource-list"),
        pytest.param(doc(st(resource=[1])), id="resource-not-string"),
        pytest.param(doc(st(Condition={"IpAddress": {"aws:SourceIp": "10.0.0.0/8"}})), id="condition"),
        pytest.param({"Statement": ["x"]}, id="statement-not-object"),
    ],
)
def test_malformed_policies_are_errors(policy: Any) -> None:
    with pytest.raises(PolicyError):
        evaluate(policy, ARN)
