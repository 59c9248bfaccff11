"""The ``dynamodb`` service (:mod:`gatehold.dynamodb.service`): tables created once and kept with
their items, a changed key refused, the engine's exit the service's."""

from __future__ import annotations

import logging
import os
import signal
from pathlib import Path

import pytest

from gatehold.config.models import TableConfig
from gatehold.dynamodb.service import EngineFailed, ensure_tables
from tests.dynamodb.conftest import Engine, start_engine, stop_engine


def table(data: dict[str, object]) -> TableConfig:
    return TableConfig.model_validate(data)


def test_tables_are_created_once_with_their_keys_and_indexes(engine: Engine) -> None:
    described = engine.client().describe_table(TableName="Items")["Table"]
    assert described["KeySchema"] == [{"AttributeName": "id", "KeyType": "HASH"}]
    assert [i["IndexName"] for i in described["GlobalSecondaryIndexes"]] == ["byOwner"]
    engine.client().put_item(TableName="Items", Item={"id": {"S": "kept"}})
    tables = {**engine.server.tables, "More": table({"partition_key": {"name": "n", "type": "N"}})}
    assert engine.run(ensure_tables(engine.server.client, tables)) == ["More"]
    assert engine.run(ensure_tables(engine.server.client, tables)) == []
    assert engine.client().get_item(TableName="Items", Key={"id": {"S": "kept"}})["Item"] == {
        "id": {"S": "kept"}
    }


def test_a_table_whose_key_changed_is_refused(engine: Engine) -> None:
    changed = {"Items": table({"partition_key": "id", "sort_key": "at"})}
    with pytest.raises(EngineFailed) as info:
        engine.run(ensure_tables(engine.server.client, changed))
    assert str(info.value).startswith(
        "table Items exists in the data directory with another key than the configuration's: its key is"
        " (id HASH S), the configuration's (id HASH S, at RANGE S)."
    )


def test_a_table_whose_indexes_changed_is_kept_and_logged(
    engine: Engine, caplog: pytest.LogCaptureFixture
) -> None:
    with caplog.at_level(logging.WARNING, logger="gatehold.dynamodb"):
        engine.run(ensure_tables(engine.server.client, {"Items": table({"partition_key": "id"})}))
    assert [r.getMessage() for r in caplog.records] == [
        "table Items: its global secondary indexes are ['byOwner'] with their keys, the configuration's"
        " none; the existing table is kept as it is (delete it to create it again)"
    ]


def test_the_service_ends_when_its_engine_does(engine: Engine) -> None:
    pid = engine.server._engine.pid if engine.server._engine else 0
    os.kill(pid, signal.SIGKILL)
    with pytest.raises(EngineFailed, match=r"the DynamoDB engine \(pid \d+\) exited with status -9"):
        engine.serving.result(30)


def test_a_stop_closes_the_database_and_a_new_engine_opens_it(tmp_path: Path) -> None:
    tables = {"Items": table({"partition_key": "id"})}
    first = start_engine(tmp_path, tables)
    first.client().put_item(TableName="Items", Item={"id": {"S": "a"}})
    stop_engine(first)
    assert first.server._engine is not None
    assert first.server._engine.returncode == 0  # SIGTERM: a clean exit, the database closed
    second = start_engine(tmp_path, tables)
    try:
        assert second.client().get_item(TableName="Items", Key={"id": {"S": "a"}})["Item"] == {
            "id": {"S": "a"}
        }
    finally:
        stop_engine(second)
