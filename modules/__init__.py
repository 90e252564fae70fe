"""Modules in Python: a .py file that adds commands, data types, configuration parameters and keyspace
event callbacks to a running server, as Redis's modules do in C (MODULE LOAD, loadmodule).

api.py is what a module file imports (the reply types, ReplyError, the Context its handlers get) and
documents the whole API; loader.py imports a file, runs its on_load(module, args) against a Module
that records what it registers, and keeps the registry of loaded modules. The package sits below the
commands layer: commands/module.py (the MODULE command) turns a loaded Module's commands into rows of
the server's table, and persistence reaches module values only through their type's callbacks
(storage/module_values.py), so neither imports this package; api.py reaches down to persistence only for
the DUMP payload of restore_command().

Imports: errors, protocol, storage, serving, persistence.
"""
