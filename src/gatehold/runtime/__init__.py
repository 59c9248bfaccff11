"""The Python Lambda runtime: handlers loaded once, kept warm, run in threads or worker processes."""
