"""The command line behind ``python -m sk_dlsetup``: its data and its steps."""
