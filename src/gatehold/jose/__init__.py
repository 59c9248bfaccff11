"""JOSE: strict, fast JWT verification with typed keys, and JWKS caching."""
