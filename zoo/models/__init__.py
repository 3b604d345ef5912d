"""One module per method family."""
