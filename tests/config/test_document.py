"""The one reader for every input format: lines kept for every key path, CloudFormation's short forms
written as their long forms, duplicate keys refused, YAML's merge keys honoured."""

from __future__ import annotations

from pathlib import Path

import pytest

from gatehold.config.document import parse_document, read_document
from gatehold.config.problems import ConfigError

TEMPLATE = """\
AWSTemplateFormatVersion: 2010-09-09
Parameters:
  Stage: {Type: String, Default: prod}
Resources:
  Fn:
    Type: AWS::Serverless::Function
    Properties:
      CodeUri: !Sub "${AWS::StackName}-code"
      Role: !GetAtt Role.Arn
      Other: !GetAtt [Role, Arn]
      Name: !Ref Stage
      Pick: !Select [0, !Split [",", "a,b"]]
      When: !If [IsProd, !Ref AWS::NoValue, x]
      Cond: !Condition IsProd
      Json: !Base64 {"Fn::Join": ["", [a, b]]}
"""


def test_short_forms_become_long_forms_with_lines() -> None:
    doc = parse_document(TEMPLATE, "template.yaml")
    props = doc.data["Resources"]["Fn"]["Properties"]
    assert doc.data["AWSTemplateFormatVersion"] == "2010-09-09"  # a string, as CloudFormation reads it
    assert props["CodeUri"] == {"Fn::Sub": "${AWS::StackName}-code"}
    assert props["Role"] == {"Fn::GetAtt": ["Role", "Arn"]}
    assert props["Other"] == {"Fn::GetAtt": ["Role", "Arn"]}
    assert props["Name"] == {"Ref": "Stage"}
    assert props["Pick"] == {"Fn::Select": [0, {"Fn::Split": [",", "a,b"]}]}
    assert props["When"] == {"Fn::If": ["IsProd", {"Ref": "AWS::NoValue"}, "x"]}
    assert props["Cond"] == {"Condition": "IsProd"}
    assert props["Json"] == {"Fn::Base64": {"Fn::Join": ["", ["a", "b"]]}}
    assert doc.line(("Resources", "Fn", "Properties", "Name")) == 11
    assert doc.line(("Resources", "Fn", "Properties", "Pick", 1)) == 12
    assert doc.line(("Resources", "Fn", "Properties", "Nope", "deeper")) == 7  # deepest known prefix
    assert (
        str(doc.ref(("Resources", "Fn", "Properties", "Role")))
        == "template.yaml:9: Resources.Fn.Properties.Role"
    )
    assert [tag for _, tag in doc.tags][:3] == ["!Sub", "!GetAtt", "!GetAtt"]


def test_json_documents_keep_lines() -> None:
    doc = parse_document(
        '{\n  "openapi": "3.0.1",\n  "paths": {\n    "/pets": {"get": {}}\n  }\n}\n', "api.json"
    )
    assert doc.data == {"openapi": "3.0.1", "paths": {"/pets": {"get": {}}}}
    assert doc.line(("paths", "/pets", "get")) == 4


def test_merge_keys_and_anchors() -> None:
    text = "base: &b {timeout: 3, memory: 128}\nfn:\n  <<: *b\n  timeout: 10\n"
    doc = parse_document(text, "x.yaml")
    assert doc.data["fn"] == {"timeout": 10, "memory": 128}


@pytest.mark.parametrize(
    ("text", "line", "message"),
    [
        pytest.param("a: 1\nb: 2\na: 3\n", 3, "duplicate key", id="duplicate-key"),
        pytest.param("a: [1, 2\n", 2, "invalid YAML", id="unclosed-flow"),
        pytest.param("a:\n\tb: 1\n", 2, "invalid YAML", id="tab-indent"),
        pytest.param("? [1, 2]\n: x\n", 1, "a mapping key must be a plain value", id="complex-key"),
    ],
)
def test_problems_name_the_line(text: str, line: int, message: str) -> None:
    with pytest.raises(ConfigError) as info:
        parse_document(text, "bad.yaml")
    problem = info.value.problems[0]
    assert problem.file == "bad.yaml"
    assert problem.line == line
    assert message in problem.message


def test_unreadable_and_binary_files(tmp_path: Path) -> None:
    with pytest.raises(ConfigError, match="cannot read"):
        read_document(tmp_path / "absent.yaml")
    binary = tmp_path / "x.yaml"
    binary.write_bytes(b"\xff\xfe\x00bad")
    with pytest.raises(ConfigError, match="not UTF-8"):
        read_document(binary)


def test_tags_are_refused_in_gatehold_yaml(tmp_path: Path) -> None:
    from gatehold.config import load_config

    path = tmp_path / "gatehold.yaml"
    path.write_text("functions:\n  f:\n    handler: !Ref Handler\n")
    with pytest.raises(ConfigError) as info:
        load_config(path)
    assert str(info.value.problems[0]) == (
        f"{path}:3: functions.f.handler: YAML tag !Ref has no meaning in gatehold.yaml"
    )


SCALARS = """\
a: [1, -2, +3, 0x1F, 0o17, 1_000, 12:30, 1.5, -.5, .inf, -.Inf, .nan, 1e3, 6.8523015e+5]
b: [true, false, yes, No, on, OFF, y, n, null, ~, Null, '', plain, _under, /path, "quoted", 'single']
c: [2010-09-09, 2001-12-14t21:59:43.10-05:00, <<x, "!", "&a", Yes please, 0.0.1, "-", +, "*b", "%p"]
"""


def test_scalars_resolve_as_yaml_safe_load_does() -> None:
    """The fast path for plain strings changes nothing: every scalar is what PyYAML's safe_load
    makes of it (timestamps aside, kept as written)."""
    import yaml

    mine = parse_document(SCALARS, "s.yaml").data
    theirs = yaml.safe_load(SCALARS)
    theirs["c"][0:2] = ["2010-09-09", "2001-12-14t21:59:43.10-05:00"]
    assert repr(mine) == repr(theirs)  # repr: nan != nan
