"""What to send, to whom, when, in which language and on which channel: plain Python, no I/O."""
