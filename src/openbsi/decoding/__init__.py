"""decoding stage of the OpenBSI loop."""
