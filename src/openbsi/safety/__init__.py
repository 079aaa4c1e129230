"""safety stage of the OpenBSI loop."""
