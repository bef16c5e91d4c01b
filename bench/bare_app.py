"""The framework's ceiling on this machine: a bare Flask app whose only route returns a short
string. http_bench.py serves it with exactly the app's gunicorn settings."""

from flask import Flask

app = Flask(__name__)


@app.get("/")
def hello():
    return "Hello, judging"
