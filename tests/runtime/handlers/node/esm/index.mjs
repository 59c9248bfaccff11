// An ES module (.mjs), with a top-level await in its init.
const greeting = await Promise.resolve('hello from an ES module');

export const handler = async (event, context) => ({ greeting, requestId: context.awsRequestId });
