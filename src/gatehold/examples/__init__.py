"""The example stack: the five Auth0 + API Gateway tutorials (docs/aws-reference.md, "The example stack")."""
