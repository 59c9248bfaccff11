// The same items API on the AWS SDK for JavaScript v3 (an ES module): the SDK reads
// AWS_ENDPOINT_URL_DYNAMODB itself.
import { DynamoDBClient } from "@aws-sdk/client-dynamodb";
import { DynamoDBDocumentClient, GetCommand, PutCommand, ScanCommand } from "@aws-sdk/lib-dynamodb";

const ddb = DynamoDBDocumentClient.from(new DynamoDBClient({}));
const TABLE = process.env.TABLE_NAME;

const reply = (statusCode, data) => ({
  statusCode,
  body: JSON.stringify(data),
  headers: { "Content-Type": "application/json" },
});

export const handler = async (event) => {
  const id = (event.pathParameters || {}).id;
  if (event.requestContext.http.method === "POST") {
    const item = JSON.parse(event.body);
    try {
      await ddb.send(new PutCommand({ TableName: TABLE, Item: item, ConditionExpression: "attribute_not_exists(id)" }));
    } catch (err) {
      return reply(409, { error: err.name });
    }
    return reply(201, { id: item.id });
  }
  if (id) {
    const found = await ddb.send(new GetCommand({ TableName: TABLE, Key: { id } }));
    return found.Item ? reply(200, found.Item) : reply(404, { error: "not found" });
  }
  const all = await ddb.send(new ScanCommand({ TableName: TABLE, Select: "COUNT" }));
  return reply(200, { count: all.Count });
};
