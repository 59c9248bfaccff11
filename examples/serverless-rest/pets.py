"""The clinic's handlers: payload format 1.0 events, as API Gateway REST APIs send them."""

import json
import os

PETS = {"1": {"id": "1", "name": "Rex", "kind": "dog"}, "2": {"id": "2", "name": "Tom", "kind": "cat"}}


def _json(status, body):
    return {
        "statusCode": status,
        # the framework's cors: true answers the preflight; the handler adds the header itself
        "headers": {"Content-Type": "application/json", "Access-Control-Allow-Origin": "*"},
        "body": json.dumps(body),
    }


def list_pets(event, context):
    authorizer = event["requestContext"]["authorizer"]
    return _json(
        200,
        {
            "clinic": os.environ["CLINIC_NAME"],
            "caller": authorizer["principalId"],
            "pets": sorted(PETS.values(), key=lambda p: p["id"]),
        },
    )


def create_pet(event, context):
    pet = json.loads(event["body"] or "{}")
    return _json(201, pet)


def get_pet(event, context):
    pet = PETS.get(event["pathParameters"]["petId"])
    if pet is None:
        return _json(404, {"message": "no such pet"})
    return _json(200, {**pet, "visit": event["requestContext"]["authorizer"]["visit"]})


def export_pets(event, context):
    return _json(200, {"apiKey": event["requestContext"]["identity"]["apiKey"], "count": len(PETS)})


def search_pets(event, context):
    kind = event["queryStringParameters"]["kind"]
    return _json(200, [p for p in PETS.values() if p["kind"] == kind])


def book_visit(event, context):
    visit = json.loads(event["body"])
    return _json(201, {"booked": visit})


def health(event, context):
    return {"statusCode": 200, "body": "ok"}
