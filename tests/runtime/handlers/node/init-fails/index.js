// Its init throws: every invocation gets the init error, each in a fresh environment.
throw new Error('cannot start: missing configuration');
