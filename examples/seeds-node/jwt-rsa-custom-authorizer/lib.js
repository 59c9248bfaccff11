// Seeds 001 and 003: the RS256 custom authorizer the tutorials deploy (Auth0's
// jwt-rsa-aws-custom-authorizer), written from what they describe: the token from the
// `Authorization: Bearer <token>` header, its signing key fetched by `kid` from JWKS_URI (jwks-rsa, with
// its cache and rate limit), verified with jsonwebtoken against AUDIENCE and TOKEN_ISSUER, and an IAM
// policy allowing execute-api:Invoke on the method being called.
const jwt = require('jsonwebtoken');
const jwksClient = require('jwks-rsa');

const getPolicyDocument = (effect, resource) => ({
  Version: '2012-10-17',
  Statement: [{ Action: 'execute-api:Invoke', Effect: effect, Resource: resource }],
});

// the token from "Bearer <token>" (a TOKEN authorizer's event: {type, authorizationToken, methodArn})
const getToken = (event) => {
  if (!event.type || event.type !== 'TOKEN') {
    throw new Error('Expected "event.type" parameter to have value "TOKEN"');
  }
  const tokenString = event.authorizationToken;
  if (!tokenString) {
    throw new Error('Expected "event.authorizationToken" parameter to be set');
  }
  const match = tokenString.match(/^Bearer (.*)$/);
  if (!match || match.length < 2) {
    throw new Error(`Invalid Authorization token - ${tokenString} does not match "Bearer .*"`);
  }
  return match[1];
};

const jwtOptions = {
  audience: process.env.AUDIENCE,
  issuer: process.env.TOKEN_ISSUER,
  algorithms: ['RS256'],
};

const client = jwksClient({
  cache: true,
  rateLimit: true,
  jwksRequestsPerMinute: 10,
  jwksUri: process.env.JWKS_URI,
});

module.exports.authenticate = async (event) => {
  const token = getToken(event);
  const decoded = jwt.decode(token, { complete: true });
  if (!decoded || !decoded.header || !decoded.header.kid) {
    throw new Error('invalid token');
  }
  const key = await client.getSigningKey(decoded.header.kid);
  const verified = jwt.verify(token, key.getPublicKey(), jwtOptions);
  return {
    principalId: verified.sub,
    policyDocument: getPolicyDocument('Allow', event.methodArn),
    context: { scope: verified.scope },
  };
};
