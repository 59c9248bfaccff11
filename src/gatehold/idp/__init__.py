"""The identity provider: OAuth 2.0 / OpenID Connect with Auth0's model."""
