// Gatehold's local DynamoDB endpoint: dynalite on a listening socket that gatehold up bound for it.
//
//   node serve.cjs --fd N --path DIR
//
// --fd: the inherited listening socket's descriptor (the supervisor binds 127.0.0.1:<--dynamodb-port>
// itself, so connections that arrive while this process starts again wait in its backlog);
// --path: the LevelDB directory (the data directory's dynamodb/). Every write is in LevelDB's log
// (a write(2) to the file) before dynalite answers it, so an acknowledged write survives kill -9.
// The process stops when its standard input closes (the Python process that started it is gone)
// and on SIGTERM / SIGINT, closing the database first.
'use strict'

const dynalite = require('dynalite')

const args = {}
for (let i = 2; i + 1 < process.argv.length; i += 2) args[process.argv[i].replace(/^--/, '')] = process.argv[i + 1]
args.fd = Number(args.fd)
if (!Number.isInteger(args.fd) || !args.path) {
  console.error('usage: node serve.cjs --fd N --path DIR')
  process.exit(2)
}

const server = dynalite({ path: args.path, createTableMs: 0, deleteTableMs: 0, updateTableMs: 0 })
let stopping = false

function stop () {
  if (stopping) return
  stopping = true
  // close() waits for requests in flight and closes the database; never longer than 5 s
  setTimeout(() => process.exit(0), 5000).unref()
  server.close(() => process.exit(0))
}

server.on('error', (err) => {
  console.error(`dynalite: ${err.message}`)
  process.exit(1)
})
server.listen({ fd: args.fd }, () => {
  console.log(`dynalite ${require('dynalite/package.json').version} serves on descriptor ${args.fd}`)
})
process.on('SIGTERM', stop)
process.on('SIGINT', stop)
process.stdin.on('end', stop)
process.stdin.on('error', stop)
process.stdin.resume()
