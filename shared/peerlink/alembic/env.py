from peerlink.migrations import run_environment

run_environment()
