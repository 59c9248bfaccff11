"""DynamoDB for the handlers: the tables of ``tables:`` (or of a template's ``AWS::DynamoDB::Table`` /
``AWS::Serverless::SimpleTable``) served by a local DynamoDB-compatible endpoint that ``gatehold up``
runs as a supervised process (docs/dynamodb.md).

::

    tables.py       TableConfig → CreateTable request; an existing table checked against it (pure)
    client.py       the DynamoDB JSON protocol over httpx: what start-up needs (ListTables, CreateTable …)
    engine.py       the engine: dynalite from npm (pinned in engine/package-lock.json), installed once
    service.py      the ``dynamodb`` process of the stack: the engine on the supervisor's socket, tables
    environment.py  what every function's environment gets: the endpoint, a region, dummy credentials,
                    and the AWS SDK for JavaScript v2's route to the endpoint (aws_sdk_v2.cjs)
"""
