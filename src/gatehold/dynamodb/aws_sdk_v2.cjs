// Preloaded into Node.js functions (NODE_OPTIONS=--require <this file>) when the stack has tables:
// points the AWS SDK for JavaScript v2 (the `aws-sdk` package) at the local DynamoDB endpoint.
//
// SDK v3 and boto3 read AWS_ENDPOINT_URL_DYNAMODB themselves; v2 reads no endpoint from the
// environment. So once v2's loader has run, whichever file of the package a handler requires
// ('aws-sdk', 'aws-sdk/global', 'aws-sdk/clients/dynamodb'), this sets the service-specific
// default AWS.config.dynamodb.endpoint: every AWS.DynamoDB and DocumentClient made afterwards
// uses it, and an `endpoint` the handler passes itself still wins. Nothing else is touched, and
// handlers that never load aws-sdk never notice this file.
'use strict'

const Module = require('module')
const path = require('path')

const endpoint = process.env.AWS_ENDPOINT_URL_DYNAMODB
const loaderTail = path.join('aws-sdk', 'lib', 'node_loader.js')
const load = Module._load
let done = false

if (endpoint) {
  Module._load = function (request, parent, isMain) {
    const exported = load.apply(this, arguments)
    if (!done && typeof request === 'string' && request.endsWith('node_loader')) {
      let filename
      try {
        filename = Module._resolveFilename(request, parent, isMain)
      } catch (err) {
        return exported
      }
      // a require from inside the loader (a cycle) gets it half-run: wait for the load that finished
      const cached = Module._cache[filename]
      if (filename.endsWith(path.sep + loaderTail) && cached && cached.loaded) {
        done = true
        Module._load = load
        const AWS = load(path.join(path.dirname(filename), 'core.js'), parent, false)
        const own = AWS.config.dynamodb || {}
        if (!own.endpoint) AWS.config.dynamodb = Object.assign({}, own, { endpoint })
      }
    }
    return exported
  }
}
