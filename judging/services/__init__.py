"""Use cases. Each takes plain arguments (the acting user as a keyword), flushes, never commits."""
