"""The identity provider's schema migrations (Alembic): ``env.py`` and ``versions/``.

Run through :mod:`gatehold.idp.schema` (``gatehold up``, the identity-provider process, ``gatehold
db upgrade``), never by the ``alembic`` command: the connection, already under the start-up lock, is
handed to ``env.py`` in ``config.attributes["connection"]``.
"""
