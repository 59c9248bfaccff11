// Handlers the Node.js runtime tests invoke (one code directory, as a Lambda zip; CommonJS).
'use strict';

let invocations = 0;

exports.counter = async () => {
  invocations += 1;
  return { count: invocations, pid: process.pid };
};

exports.context = async (event, context) => ({
  awsRequestId: context.awsRequestId,
  functionName: context.functionName,
  functionVersion: context.functionVersion,
  memoryLimitInMB: context.memoryLimitInMB,
  invokedFunctionArn: context.invokedFunctionArn,
  logGroupName: context.logGroupName,
  logStreamName: context.logStreamName,
  remaining: context.getRemainingTimeInMillis(),
  callbackWaitsForEmptyEventLoop: context.callbackWaitsForEmptyEventLoop,
  identity: context.identity === undefined ? 'undefined' : context.identity,
  clientContext: context.clientContext === undefined ? 'undefined' : context.clientContext,
  traceId: process.env._X_AMZN_TRACE_ID,
  cwd: process.cwd(),
});

exports.env = async (event) => Object.fromEntries(event.names.map((name) => [name, process.env[name] ?? null]));

exports.echo = async (event) => event;

exports.logs = async (event, context) => {
  console.log('hello from', context.functionName, { n: 1 });
  console.warn('two\nlines');
  console.error(new Error('logged, not thrown').message);
  return 'logged';
};

exports.promise = (event) => new Promise((resolve) => setTimeout(() => resolve({ via: 'promise' }), 5));

exports.callback = (event, context, callback) => {
  setTimeout(() => callback(null, { via: 'callback' }), 5);
};

// The result is marshalled when it is sent: `fired` tells whether the timer ran first.
// callbackWaitsForEmptyEventLoop (the default): sent once the event loop is empty (the timer ran);
// set to false: sent at once.
function callbackAndTimer(wait) {
  return (event, context, callback) => {
    if (!wait) context.callbackWaitsForEmptyEventLoop = false;
    const result = { fired: false };
    setTimeout(() => { result.fired = true; }, 20);
    callback(null, result);
  };
}
exports.callbackWaits = callbackAndTimer(true);
exports.callbackNoWait = callbackAndTimer(false);

exports.callbackError = (event, context, callback) => callback(new RangeError('out of range'));

exports.succeed = (event, context) => { context.succeed({ via: 'succeed' }); };
exports.fail = (event, context) => { context.fail(new Error('failed via context')); };
exports.failHandled = (event, context) => { context.fail(); };
exports.done = (event, context) => { context.done(null, { via: 'done' }); };
exports.doneError = (event, context) => { context.done('a string error'); };

exports.syncReturn = () => 'ignored: a sync handler answers null';

exports.throws = async () => { throw new TypeError('bad input'); };
exports.throwsString = () => { throw 'just a string'; };

exports.exit = async (event) => { process.exit(event.status ?? 1); };
exports.timerThrows = async () => {
  setTimeout(() => { throw new Error('thrown in a timer'); }, 1);
  return new Promise(() => {});
};
exports.rejects = async () => {
  Promise.reject(new Error('nobody caught me'));
  return new Promise((resolve) => setTimeout(resolve, 1000));
};
exports.neverSettles = async () => new Promise(() => {});
exports.spin = () => { for (;;) { /* a busy loop no timer can interrupt */ } };
exports.hog = async () => {
  const kept = [];
  for (;;) kept.push(Buffer.alloc(1 << 20, 1)); // off the V8 heap: resident memory grows
};
exports.large = async (event) => 'x'.repeat(event.kb * 1024);
exports.circular = async () => { const a = {}; a.self = a; return a; };
exports.nested = { deeper: { handler: async () => 'nested export' } };
exports.notAFunction = 42;

// Lambda proxy integration answers (payload 1.0 and 2.0 read the same fields).
exports.api = async (event, context) => ({
  statusCode: 200,
  headers: { 'content-type': 'application/json' },
  body: JSON.stringify({ method: event.httpMethod ?? event.requestContext.http.method, requestId: context.awsRequestId }),
});
exports.apiCallback = (event, context, callback) => callback(null, { statusCode: 201, body: 'created' });
exports.apiSucceed = (event, context) => context.succeed({ statusCode: 202, body: 'accepted' });
