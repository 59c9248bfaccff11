// An items API on the AWS SDK for JavaScript v2, written as seed 004 writes its handler: the SDK
// finds no endpoint in the environment; gatehold's preload (NODE_OPTIONS) points it at the table.
const AWS = require("aws-sdk");
const ddb = new AWS.DynamoDB.DocumentClient();
const TABLE = process.env.TABLE_NAME;

const reply = (statusCode, data) => ({
  statusCode,
  body: JSON.stringify(data),
  headers: { "Content-Type": "application/json" },
});

exports.handler = async (event) => {
  const id = (event.pathParameters || {}).id;
  if (event.requestContext.http.method === "POST") {
    const item = JSON.parse(event.body);
    try {
      await ddb.put({ TableName: TABLE, Item: item, ConditionExpression: "attribute_not_exists(id)" }).promise();
    } catch (err) {
      return reply(409, { error: err.code });
    }
    return reply(201, { id: item.id });
  }
  if (id) {
    const found = await ddb.get({ TableName: TABLE, Key: { id } }).promise();
    return found.Item ? reply(200, found.Item) : reply(404, { error: "not found" });
  }
  const all = await ddb.scan({ TableName: TABLE, Select: "COUNT" }).promise();
  return reply(200, { count: all.Count, endpoint: ddb.service.endpoint.href });
};
