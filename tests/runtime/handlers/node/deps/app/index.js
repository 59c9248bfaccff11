const { greet } = require('greeting-lib');

exports.handler = async (event) => ({ message: greet(event.name) });
