"""The `kds-sim` command line: every command in one place, one module per command.

Each command module has `add_command(sub)`, which adds its parser and handler; heavy imports
happen inside the handlers so `kds-sim --help` starts fast. May import every other layer.
"""
