"""The client library behind client.py: what a Python program uses to talk to any Redis server.

connection.py holds a connection and the pool, commands.py the table of named
methods and their reply transforms, pipeline.py pipelines and WATCH transactions,
pubsub.py subscriptions, cli.py the redis-cli-like prompt. It shares only the RESP
code (protocol.py) with the server, never its modules.

Imports: protocol.
"""
