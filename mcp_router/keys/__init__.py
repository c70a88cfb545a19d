"""Issued keys: secrets handed to clients, each a metering client with its own limits (README
"Keys"). `records.py` the key and its limits, `book.py` keys in the usage database with a short
cache, `rate.py` requests per minute, `gate.py` what the router enforces per client,
`verify.py` the bearer-token verifier every HTTP face shares, `status.py` a key's standing."""
