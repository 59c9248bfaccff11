// Handler `src/handlers/app.handler`: a file below the task root, as Lambda resolves it.
exports.handler = async () => ({ file: __filename.split('/').slice(-3).join('/') });
