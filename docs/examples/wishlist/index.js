// The Node.js function of docs/configuration.md's `functions` example: an HTTP API handler.
exports.handler = async (event, context) => ({
  statusCode: 200,
  headers: { 'content-type': 'application/json' },
  body: JSON.stringify({ table: process.env.TABLE ?? null, requestId: context.awsRequestId }),
});
