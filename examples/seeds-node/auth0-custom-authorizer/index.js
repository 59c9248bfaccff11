// Seed 000's Auth0CustomAuthorizer (REST TOKEN authorizer for the Movies and Devices APIs).
//
// The tutorial prints only the body of the handler, and not all of it (its `if`/`else` lines lack
// their closing braces). The printed lines below are kept exactly as printed (their indentation and
// trailing spaces too); every other line is the completion around them, marked `// completion:`.

// completion: the modules and helpers the printed lines use
var jwt = require('jsonwebtoken');

// completion: what the printed lines read as `apiOptions`: the parts of the method ARN,
// arn:aws:execute-api:{region}:{accountId}:{restApiId}/{stage}/{httpMethod}/{resource path}
function api_options(methodArn) {
  var arn = methodArn.split(':');
  var gateway = arn[5].split('/');
  return {
    region: arn[3],
    account_id: arn[4],
    rest_api_id: gateway[0],
    stage: gateway[1],
    http_method: gateway[2],
    resource_path: gateway.slice(3).join('/'),
  };
}

// completion: the IAM policy the printed lines return through context.succeed
function generate_policy(apiOptions, principalId, effect, resource) {
  return {
    principalId: principalId,
    policyDocument: {
      Version: '2012-10-17',
      Statement: [{ Action: 'execute-api:Invoke', Effect: effect, Resource: resource }],
    },
  };
}

exports.handler = function (event, context) { // completion
  var apiOptions = api_options(event.methodArn); // completion
  // completion: the SPA sends "Authorization: Bearer <token>"; the printed lines take the bare token
  event.authorizationToken = String(event.authorizationToken || '').replace(/^Bearer /, '');

// The access token presented by the client application.
  var access_token = event.authorizationToken;  
  //TODO: Replace Client Secret (Refer to Auth0's settings)
  var signingSecret = 'ConfigureYourSigningSecret';
  signingSecret = process.env.SIGNING_SECRET || signingSecret; // completion: the TODO, from the environment
//TODO: Replace the audience parameter value
  jwt.verify(access_token, signingSecret, { audience: 'https://StreamingResourceServer', algorithms: '["HS256"]'}, 
function(err, decoded) {

    if (err) {
      console.log('JWT Verification Error');
      context.succeed(generate_policy(apiOptions, '', 'Deny', event.methodArn));      
    } // completion
    else {
      if ((decoded.scope == "read:Devices" && apiOptions.resource_path.trim() == 'device') ||
          (decoded.scope == "read:Movies" && apiOptions.resource_path.trim() == 'movie')) {
            context.succeed(generate_policy(apiOptions, decoded.sub, 'Allow', event.methodArn));
            console.log("Allow IAM Policy Generated");
      } // completion
      else {  
        context.succeed(generate_policy(apiOptions, decoded.sub, 'Deny', event.methodArn));
        console.log("Deny IAM Policy Generated");
      } // completion
    } // completion
  }); // completion
}; // completion
