const lib = require('./lib');

// Any failure is "Unauthorized": API Gateway answers 401 to a Lambda authorizer error with exactly
// that message, and 500 to any other error.
module.exports.handler = async (event, context) => {
  try {
    return await lib.authenticate(event);
  } catch (err) {
    console.log(err);
    context.fail('Unauthorized');
  }
};
