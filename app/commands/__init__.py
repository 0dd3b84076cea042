"""The `plantops` command line: ``cli`` parses, ``run`` dispatches, one module per command
group does the work through the services."""
