// Gatehold's runtime interface client for Node.js: the client side of AWS's Lambda Runtime API.
//
// Started by gatehold.runtime.nodejs as `node <flags> bootstrap.js`, with Lambda's environment
// variables (_HANDLER, LAMBDA_TASK_ROOT, AWS_LAMBDA_RUNTIME_API, ...). It loads the handler once (the
// init phase), then loops: GET /2018-06-01/runtime/invocation/next, run the handler, POST
// .../{id}/response or .../{id}/error. An init failure is POSTed to /runtime/init/error. Only Node's
// own modules are used (a keep-alive connection on net): nothing to install.
//
// The programming model is Lambda's Node.js runtime's, as its documentation and its error payloads
// show it: async / Promise handlers, callback(err, result) (waiting for the event loop to empty
// unless context.callbackWaitsForEmptyEventLoop is false), the legacy context.succeed / fail / done;
// CommonJS and ES modules; console.* written as `<ISO time>\t<request id>\t<LEVEL>\t<message>`.
'use strict';

const fs = require('fs');
const net = require('net');
const path = require('path');
const util = require('util');
const { pathToFileURL } = require('url');

const API = process.env.AWS_LAMBDA_RUNTIME_API || '127.0.0.1:9001';
const [HOST, PORT] = [API.slice(0, API.lastIndexOf(':')), Number(API.slice(API.lastIndexOf(':') + 1))];
const BASE = '/2018-06-01/runtime';

// ---- errors, as the runtime reports them ---------------------------------------------------------

const RUNTIME_ERRORS = {};
for (const type of [
  'ImportModuleError', 'HandlerNotFound', 'MalformedHandlerName', 'UserCodeSyntaxError',
  'UnhandledPromiseRejection', 'NodeJsExit',
]) {
  const cls = class extends Error {};
  cls.prototype.name = `Runtime.${type}`; // on the prototype, as the runtime's: not an own property
  RUNTIME_ERRORS[type] = cls;
}
function runtimeError(type, message, stack) {
  const err = new RUNTIME_ERRORS[type](message);
  if (stack !== undefined) err.stack = stack;
  else Error.captureStackTrace(err, runtimeError);
  return err;
}

function isErrorLike(value) {
  return (
    value && typeof value.name === 'string' && typeof value.message === 'string' &&
    typeof value.stack === 'string' && value.name && value.message && value.stack
  );
}

// {errorType, errorMessage, trace}: the payload Lambda's Node.js runtime posts for an error
function errorPayload(error) {
  try {
    if (util.types.isNativeError(error) || isErrorLike(error)) {
      return { errorType: error.name, errorMessage: error.message, trace: String(error.stack).split('\n') };
    }
    return { errorType: typeof error, errorMessage: String(error), trace: [] };
  } catch (_) {
    return {
      errorType: 'handled',
      errorMessage:
        'callback called with Error argument, but there was a problem while retrieving one or more of its message, name, and stack',
    };
  }
}

// ---- console: Lambda's text format on stdout (written synchronously: a crash loses no line) ----

let currentRequestId;
function writeLog(level, args) {
  const line = `${new Date().toISOString()}\t${currentRequestId}\t${level}\t${util.format(...args)}`;
  try {
    fs.writeSync(1, line.replace(/\n/g, '\r') + '\n');
  } catch (_) {
    // stdout closed: the line is lost, the invocation is not
  }
}
const LEVELS = ['TRACE', 'DEBUG', 'INFO', 'WARN', 'ERROR', 'FATAL'];
const wanted = LEVELS.indexOf((process.env.AWS_LAMBDA_LOG_LEVEL || 'TRACE').toUpperCase());
for (const [method, level] of [
  ['trace', 'TRACE'], ['debug', 'DEBUG'], ['info', 'INFO'], ['log', 'INFO'],
  ['warn', 'WARN'], ['error', 'ERROR'], ['fatal', 'FATAL'],
]) {
  console[method] = LEVELS.indexOf(level) >= wanted ? (...args) => writeLog(level, args) : () => {};
}
function logError(what, error) {
  let formatted;
  try {
    formatted = '\t' + JSON.stringify(error instanceof Error ? withProperties(error) : error);
  } catch (_) {
    formatted = '\t' + JSON.stringify(errorPayload(error));
  }
  writeLog('ERROR', [what, formatted]);
}
function withProperties(error) {
  const out = Object.assign({ errorType: error.name, errorMessage: error.message, code: error.code }, error);
  if (typeof error.stack === 'string') out.stack = error.stack.split('\n');
  return out;
}

// ---- the Runtime API ----------------------------------------------------------------------------

// One keep-alive connection, HTTP/1.1 framed by hand: requests written at once (several in one
// write when they go together: an answer and the next GET) and answered in order, each with a
// Content-Length body. Node's http client costs ~4x the CPU per invocation (docs/runtime.md,
// "Node.js runtime: measured"). The socket is unref'd while no answer that holds (below) is
// awaited, so that it never keeps the event loop alive (callbackWaitsForEmptyEventLoop watches the
// loop empty).
//
// On the descriptor Gatehold gives (GATEHOLD_RUNTIME_API_FD: a Unix socket, cheaper than TCP), the
// client also speaks Gatehold's batch extension: its GET .../next says `Gatehold-Batch: 1` and may
// get several invocations in one answer, run one at a time, in order, each answered with the usual
// POST; of several, a claim byte is read from the pipe GATEHOLD_CLAIMS_FD before each, and a call
// whose byte is gone was taken back by the gateway (it runs elsewhere): the batch ends there.
const API_FD = Number(process.env.GATEHOLD_RUNTIME_API_FD) || 0;
const CLAIMS_FD = API_FD ? Number(process.env.GATEHOLD_CLAIMS_FD) || 0 : 0;
delete process.env.GATEHOLD_RUNTIME_API_FD;
delete process.env.GATEHOLD_CLAIMS_FD;
const BATCHES = CLAIMS_FD > 0;

class RuntimeApiClient {
  constructor(host, port) {
    this.host = host;
    this.port = port;
    this.socket = null;
    this.buf = null;
    this.pending = []; // [{resolve, reject, holds}], in the order the requests were written
    this.holding = 0; // pending requests that keep the process alive (the socket ref'd)
  }

  connect() {
    const socket = API_FD ? new net.Socket({ fd: API_FD, readable: true, writable: true }) : net.connect(this.port, this.host);
    if (!API_FD) socket.setNoDelay(true);
    socket.on('data', (chunk) => this.onData(chunk));
    socket.on('error', (err) => this.fail(err));
    socket.on('close', () => this.fail(new Error('the Runtime API closed the connection')));
    this.socket = socket;
  }

  // the bytes of one request
  frame(method, urlPath, body, headers) {
    let head = `${method} ${urlPath} HTTP/1.1\r\nHost: ${this.host}:${this.port}\r\n`;
    for (const name in headers || {}) head += `${name}: ${headers[name]}\r\n`;
    if (body === undefined) return [Buffer.from(head + '\r\n', 'latin1')];
    const payload = Buffer.from(body, 'utf8');
    head += `Content-Type: application/json\r\nContent-Length: ${payload.length}\r\n\r\n`;
    if (payload.length > 65536) return [Buffer.from(head, 'latin1'), payload];
    return [Buffer.concat([Buffer.from(head, 'latin1'), payload])];
  }

  // write the framed requests (one write when they are small) and a promise of each one's answer;
  // while one that `holds` is not answered, the socket keeps the process alive (an answer inside a
  // batch does not: its 202 comes at the batch's end, and a callback handler after it waits for
  // the event loop to empty)
  send(frames, holds = true) {
    if (this.socket === null) this.connect();
    const answers = frames.map(() => new Promise((resolve, reject) => this.pending.push({ resolve, reject, holds })));
    if (holds) {
      if (this.holding === 0) this.socket.ref();
      this.holding += frames.length;
    }
    const parts = frames.flat();
    if (parts.length === 1 || parts.some((part) => part.length > 65536)) parts.forEach((part) => this.socket.write(part));
    else this.socket.write(Buffer.concat(parts));
    return answers;
  }

  request(method, urlPath, body, headers) {
    return this.send([this.frame(method, urlPath, body, headers)])[0];
  }

  onData(chunk) {
    this.buf = this.buf === null ? chunk : Buffer.concat([this.buf, chunk]);
    while (this.buf !== null && this.parseOne());
  }

  parseOne() {
    const end = this.buf.indexOf('\r\n\r\n');
    if (end < 0) return false;
    const lines = this.buf.toString('latin1', 0, end).split('\r\n');
    const headers = {};
    for (let i = 1; i < lines.length; i++) {
      const colon = lines[i].indexOf(':');
      headers[lines[i].slice(0, colon).trim().toLowerCase()] = lines[i].slice(colon + 1).trim();
    }
    const length = Number(headers['content-length'] || 0);
    if (this.buf.length < end + 4 + length) return false;
    const body = this.buf.subarray(end + 4, end + 4 + length);
    this.buf = this.buf.length > end + 4 + length ? this.buf.subarray(end + 4 + length) : null;
    const pending = this.pending.shift();
    if (pending && pending.holds && --this.holding === 0) this.socket.unref();
    if (pending) pending.resolve({ status: Number(lines[0].split(' ')[1]), headers, body });
    return true;
  }

  fail(err) {
    const pending = this.pending;
    this.pending = [];
    this.holding = 0;
    if (pending.length) pending.forEach((p) => p.reject(err));
    else fatal(err);
  }
}

const client = new RuntimeApiClient(HOST, PORT);
function request(method, urlPath, body, headers) {
  return client.request(method, urlPath, body, headers);
}

function serialize(result) {
  return JSON.stringify(result === undefined ? null : result);
}

function postError(urlPath, error) {
  const payload = errorPayload(error);
  return request('POST', urlPath, JSON.stringify(payload), {
    'Lambda-Runtime-Function-Error-Type': payload.errorType,
  });
}

function fatal(err) {
  // the Runtime API is gone (the gateway stopped): nothing is waiting for an answer
  writeLog('ERROR', ['runtime API unreachable:', err && err.message]);
  process.exit(1);
}

// ---- loading the handler, as Lambda resolves `path/to/module.export.nested` --------------------

function typeModule(folder) {
  for (;;) {
    if (folder.endsWith(`${path.sep}node_modules`)) return false;
    const pj = path.join(folder, 'package.json');
    if (fs.existsSync(pj)) {
      try {
        return JSON.parse(fs.readFileSync(pj, 'utf8')).type === 'module';
      } catch (_) {
        return false;
      }
    }
    const parent = path.dirname(folder);
    if (parent === folder) return false;
    folder = parent;
  }
}

async function loadModule(root, moduleRoot, name) {
  const base = path.resolve(root, moduleRoot, name);
  if (fs.existsSync(base) && fs.statSync(base).isFile()) return require(base);
  const esm = typeModule(path.dirname(base));
  if (!esm && fs.existsSync(base + '.js')) return require(base + '.js');
  if (esm && fs.existsSync(base + '.js')) return import(pathToFileURL(base + '.js').href);
  if (fs.existsSync(base + '.mjs')) return import(pathToFileURL(base + '.mjs').href);
  if (fs.existsSync(base + '.cjs')) return require(base + '.cjs');
  // a module name Node resolves itself (a package, a directory with index.js)
  return require(require.resolve(name, { paths: [root, path.resolve(root, moduleRoot)] }));
}

async function loadHandler(root, handler) {
  if (handler.includes('..')) {
    throw runtimeError(
      'MalformedHandlerName',
      `'${handler}' is not a valid handler name. Use absolute paths when specifying root directories in handler names.`,
    );
  }
  const file = path.basename(handler);
  const moduleRoot = handler.slice(0, handler.length - file.length);
  const match = /^([^.]*)\.(.*)$/.exec(file);
  if (!match) throw runtimeError('MalformedHandlerName', 'Bad handler');
  let app;
  try {
    app = await loadModule(root, moduleRoot, match[1]);
  } catch (e) {
    if (e instanceof SyntaxError) throw runtimeError('UserCodeSyntaxError', String(e), e.stack);
    if (e && e.code === 'MODULE_NOT_FOUND') throw runtimeError('ImportModuleError', String(e));
    throw e;
  }
  const fn = match[2].split('.').reduce((obj, key) => obj && obj[key], app);
  if (!fn) throw runtimeError('HandlerNotFound', `${handler} is undefined or not exported`);
  if (typeof fn !== 'function') throw runtimeError('HandlerNotFound', `${handler} is not a function`);
  return fn;
}

// ---- invocations --------------------------------------------------------------------------------

let onBeforeExit = null; // what to do when the event loop empties (callbackWaitsForEmptyEventLoop)
let onUncaught = (error) => postError(`${BASE}/init/error`, error).then(() => process.exit(129), fatal);
let onRejection = (error) => postError(`${BASE}/init/error`, error).then(() => process.exit(128), fatal);

process.on('uncaughtException', (error) => {
  logError('Uncaught Exception', error);
  onUncaught(error);
});
process.on('unhandledRejection', (reason) => {
  const error = runtimeError('UnhandledPromiseRejection', String(reason));
  error.reason = reason;
  logError('Unhandled Promise Rejection', error);
  onRejection(error);
});
process.on('beforeExit', () => {
  const act = onBeforeExit;
  onBeforeExit = null;
  if (act) act();
});

function nodeJsExit() {
  return runtimeError(
    'NodeJsExit',
    'The Lambda runtime client detected an unexpected Node.js exit code. This is most commonly caused by a' +
      ' Promise that was never settled. For more information, see' +
      ' https://nodejs.org/docs/latest/api/process.html#exit-codes',
  );
}

// call: {id, deadline, arn, trace, clientContext, identity, event}; then() runs once it is answered
// (with the frame of that answer, for the caller to send: with the next GET, or alone)
function invoke(handler, isAsync, call, then) {
  const id = call.id;
  syncClock(); // the stack's time for this invocation (gatehold up --test-clock)
  const deadline = call.deadline;
  const started = process.hrtime.bigint();
  currentRequestId = id;
  if (call.trace) process.env._X_AMZN_TRACE_ID = call.trace;
  else delete process.env._X_AMZN_TRACE_ID;
  const where = `${BASE}/invocation/${encodeURIComponent(id)}`;
  let finished = false; // an answer was posted (or is about to be)
  const answerAndNext = (path, body, headers) => {
    // how long the call ran here (Gatehold's pool batches the calls of a quick function)
    const us = String((process.hrtime.bigint() - started) / 1000n);
    then(client.frame('POST', path, body, Object.assign({ 'Gatehold-Duration-Us': us }, headers)));
  };
  const respond = (result) => {
    if (finished) {
      console.error(
        'Invocation has already been reported as done. Cannot call complete more than once per invocation.',
      );
      return;
    }
    let body;
    try {
      body = serialize(result);
    } catch (_) {
      fail(new Error('Unable to stringify response body'));
      return;
    }
    finished = true;
    answerAndNext(`${where}/response`, body);
  };
  const fail = (err) => {
    if (finished) return;
    finished = true;
    logError('Invoke Error', err instanceof Error ? err : new Error(String(err)));
    const payload = errorPayload(err);
    answerAndNext(`${where}/error`, JSON.stringify(payload), {
      'Lambda-Runtime-Function-Error-Type': payload.errorType,
    });
  };
  let waits = true;
  let called = false;
  const once = (fn) => (...args) => {
    if (called) return;
    called = true;
    fn(...args);
  };
  const done = (err, result) => {
    onBeforeExit = null;
    if (err !== undefined && err !== null) fail(err);
    else respond(result);
  };
  const callback = once((err, result) => {
    onBeforeExit = null;
    if (err !== undefined && err !== null) fail(err);
    else if (!waits) respond(result);
    else onBeforeExit = () => setImmediate(() => respond(result));
  });
  const context = {
    get callbackWaitsForEmptyEventLoop() {
      return waits;
    },
    set callbackWaitsForEmptyEventLoop(value) {
      waits = value;
    },
    succeed: once((result) => done(null, result)),
    fail: once((err) => done(err === undefined || err === null ? 'handled' : err, null)),
    done: once(done),
    functionVersion: process.env.AWS_LAMBDA_FUNCTION_VERSION,
    functionName: process.env.AWS_LAMBDA_FUNCTION_NAME,
    memoryLimitInMB: process.env.AWS_LAMBDA_FUNCTION_MEMORY_SIZE,
    logGroupName: process.env.AWS_LAMBDA_LOG_GROUP_NAME,
    logStreamName: process.env.AWS_LAMBDA_LOG_STREAM_NAME,
    clientContext: call.clientContext,
    identity: call.identity,
    invokedFunctionArn: call.arn,
    awsRequestId: id,
    getRemainingTimeInMillis: () => deadline - Date.now(),
  };
  onUncaught = (error) => postError(`${where}/error`, error).then(() => process.exit(129), fatal);
  onRejection = (error) => postError(`${where}/error`, error).then(() => process.exit(128), fatal);
  // the event loop emptied without an answer: a sync handler's is null, an async one's never settled
  onBeforeExit = () => {
    if (finished || called) return;
    called = true;
    if (isAsync) fail(nodeJsExit());
    else respond(null);
  };
  try {
    const result = handler(call.event, context, callback);
    if (result && typeof result.then === 'function') {
      result.then(context.succeed, context.fail).catch(context.fail);
    }
  } catch (err) {
    callback(err);
  }
}

function parseHeader(value) {
  if (value === undefined) return undefined;
  return JSON.parse(value);
}

let userHandler;
let userIsAsync = false;
// gatehold up --test-clock: Date follows the stack's shared clock. Its file (gatehold/clock.py: seq,
// frozen, wall instant, monotonic instant, wall offset, monotonic offset; u64 u64 f64 f64 f64 f64,
// little-endian, seq odd while written) is read once per invocation, and Date.now() / new Date()
// answer from that reading: the frozen instant, or the real time plus the offset. The timeout that
// ends a hanging handler stays real time. Without the flag Date is untouched.
let syncClock = () => {};
if (process.env.GATEHOLD_CLOCK_FILE) {
  const clockFd = fs.openSync(process.env.GATEHOLD_CLOCK_FILE, 'r');
  const state = Buffer.alloc(48);
  const seq = Buffer.alloc(8);
  const RealDate = Date;
  const realNow = RealDate.now;
  let frozenAt = null; // ms, while frozen
  let offset = 0; // ms, while running
  syncClock = () => {
    for (;;) {
      fs.readSync(clockFd, state, 0, 48, 0);
      const before = state.readBigUInt64LE(0);
      fs.readSync(clockFd, seq, 0, 8, 0);
      if ((before & 1n) === 0n && seq.readBigUInt64LE(0) === before) break;
    }
    frozenAt = state.readBigUInt64LE(8) !== 0n ? Math.floor(state.readDoubleLE(16) * 1000) : null;
    offset = Math.round(state.readDoubleLE(32) * 1000);
  };
  const now = () => (frozenAt !== null ? frozenAt : realNow() + offset);
  function StackDate(...args) {
    if (!new.target) return new RealDate(now()).toString();
    return args.length === 0 ? new RealDate(now()) : new RealDate(...args);
  }
  StackDate.prototype = RealDate.prototype;
  StackDate.now = now;
  StackDate.parse = RealDate.parse;
  StackDate.UTC = RealDate.UTC;
  globalThis.Date = StackDate;
  syncClock();
}

const NEXT = `${BASE}/invocation/next`;
const NEXT_HEADERS = BATCHES ? { 'Gatehold-Batch': '1' } : undefined;

// ask for the next invocation(s), sending an answer first in the same write
function loop(answer) {
  const next = client.frame('GET', NEXT, undefined, NEXT_HEADERS);
  const sent = client.send(answer ? [answer, next] : [next]);
  if (answer) sent[0].catch(fatal);
  sent[sent.length - 1].then(received, fatal);
}

function received(next) {
  if (next.status !== 200) return fatal(new Error(`invocation/next answered ${next.status}`));
  const headers = next.headers;
  if (headers['gatehold-batch'] === undefined) {
    invoke(userHandler, userIsAsync, {
      id: headers['lambda-runtime-aws-request-id'],
      deadline: Number(headers['lambda-runtime-deadline-ms']),
      arn: headers['lambda-runtime-invoked-function-arn'],
      trace: headers['lambda-runtime-trace-id'],
      clientContext: parseHeader(headers['lambda-runtime-client-context']),
      identity: parseHeader(headers['lambda-runtime-cognito-identity']),
      event: JSON.parse(next.body.toString('utf8')),
    }, loop);
    return;
  }
  const calls = JSON.parse(next.body.toString('utf8'));
  runBatch(calls, 0, headers['lambda-runtime-invoked-function-arn'], Number(headers['gatehold-timeout-ms']));
}

const claim = Buffer.alloc(1);
function claimed() {
  try {
    return fs.readSync(CLAIMS_FD, claim, 0, 1, null) === 1;
  } catch (err) {
    if (err.code === 'EAGAIN') return false; // taken back: it runs in another environment
    throw err;
  }
}

// the calls of a batch one at a time, each in a turn of the event loop of its own (as each call of
// Lambda's runtime comes in its own network answer); each answer is sent as soon as it is known
function runBatch(calls, index, arn, timeoutMs) {
  if (index >= calls.length || (calls.length > 1 && !claimed())) {
    loop();
    return;
  }
  const [id, trace, event] = calls[index];
  syncClock();
  const call = { id, deadline: Date.now() + timeoutMs, arn, trace, clientContext: undefined, identity: undefined, event };
  invoke(userHandler, userIsAsync, call, (answer) => {
    if (index + 1 >= calls.length) {
      loop(answer); // the last answer and the next GET in one write
      return;
    }
    client.send([answer], false)[0].catch(fatal);
    setImmediate(runBatch, calls, index + 1, arn, timeoutMs);
  });
}

async function main() {
  const root = process.env.LAMBDA_TASK_ROOT || process.cwd();
  try {
    process.chdir(root); // Lambda's working directory is the task root
  } catch (_) {
    // a code directory that is gone: the init error below says so
  }
  try {
    userHandler = await loadHandler(root, process.env._HANDLER || '');
  } catch (error) {
    logError('Init Error', error);
    await postError(`${BASE}/init/error`, error).catch(fatal);
    process.exit(129);
  }
  userIsAsync = userHandler.constructor && userHandler.constructor.name === 'AsyncFunction';
  loop();
}

main();
